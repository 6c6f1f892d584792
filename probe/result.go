// Package probe runs the kubelet's container probes (httpGet, tcpSocket, grpc) and keeps the
// kubelet's per-probe result bookkeeping, for minipod's per-pod monitor.
//
// The probe functions reproduce pkg/probe/{http,tcp,grpc} (as called by
// pkg/kubelet/prober/prober.go::runProbe) down to their output strings, because those strings
// end up verbatim in Unhealthy and ProbeWarning events. Each returns (Result, output, error):
// a non-nil error means the probe itself could not run, which the kubelet reports as an
// "errored" event and otherwise ignores (Tracker.Observe discards it).
//
// Tracker reproduces the result caching of pkg/kubelet/prober/worker.go::doProbe: initial
// results, success/failure thresholds and the hold after a liveness failure or a settled
// startup probe.
package probe

import "strconv"

// Result is the outcome of one probe run (pkg/probe/probe.go::Result), and also the cached
// result a Tracker holds (pkg/kubelet/prober/results: Unknown, Success, Failure).
type Result int

const (
	Unknown Result = iota
	Success
	Failure
	// Warning is a success with something worth an event: an HTTP 3xx that was not followed.
	Warning
)

// String gives the kubelet's result strings, which appear in the "probe errored and resulted
// in %s state" event message.
func (r Result) String() string {
	switch r {
	case Unknown:
		return "unknown"
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Warning:
		return "warning"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Kind is the kind of probe: it decides the initial result and when probing is put on hold.
type Kind int

const (
	Liveness Kind = iota
	Readiness
	Startup
)

// String gives pkg/kubelet/prober/prober_manager.go::probeType.String, used as the first word
// of probe event messages ("Liveness probe failed: ...").
func (k Kind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	}
	return "UNKNOWN"
}

// initialResult is what worker.go::newWorker sets as initialValue and what doProbe stores for
// every new container ID: a container is not ready until a readiness probe succeeds, is alive
// until a liveness probe fails, and has not started until a startup probe succeeds.
func (k Kind) initialResult() Result {
	switch k {
	case Readiness:
		return Failure
	case Liveness:
		return Success
	}
	return Unknown
}

// Thresholds are the probe's successThreshold and failureThreshold (API defaults 1 and 3;
// validation requires successThreshold 1 for liveness and startup probes). Values below 1
// behave as 1.
type Thresholds struct {
	Success, Failure int32
}

// Tracker is the result bookkeeping of one probe worker (worker.go): the cached result that
// the rest of the kubelet reads (resultsManager), the run of identical results, and the hold.
// It does no I/O and keeps no clock; the caller runs the probe every periodSeconds, honours
// initialDelaySeconds, and only runs liveness and readiness probes once the container has
// started (doProbe steps the Tracker does not need to know about). Not safe for concurrent use:
// like the kubelet's worker, one goroutine owns it.
type Tracker struct {
	kind       Kind
	thresholds Thresholds

	result     Result // resultsManager's cached value for the current container
	lastResult Result // worker.lastResult
	resultRun  int    // worker.resultRun: how many times in a row lastResult was seen
	onHold     bool   // worker.onHold: skip probing until a new container appears
}

// NewTracker returns a Tracker holding k's initial result, as for a just-created container.
func NewTracker(k Kind, th Thresholds) *Tracker {
	return &Tracker{kind: k, thresholds: th, result: k.initialResult()}
}

// Kind returns the kind of probe the Tracker was created for.
func (t *Tracker) Kind() Kind { return t.kind }

// Result returns the cached result: Success, Failure, or Unknown (startup, before it settles).
func (t *Tracker) Result() Result { return t.result }

// OnHold reports whether probing is suspended until Reset: after a liveness Failure (the
// container is about to be killed) and after a startup probe settled either way (#117153).
func (t *Tracker) OnHold() bool { return t.onHold }

// Observe records one probe run and reports whether the cached result changed.
//
// It follows prober.go::probe, then worker.go::doProbe: a run that returned an error is
// discarded; Warning counts as Success and Unknown (without error) as Failure. The cached
// result only changes once the same result was seen failureThreshold (or successThreshold)
// times in a row. A settled liveness Failure, or any settled startup result, puts the Tracker
// on hold; runs observed while on hold are ignored, as doProbe does not probe then.
func (t *Tracker) Observe(r Result, err error) (changed bool) {
	if t.onHold || err != nil {
		return false
	}
	switch r {
	case Success, Failure:
	case Warning:
		r = Success
	default:
		r = Failure
	}

	if t.lastResult == r {
		t.resultRun++
	} else {
		t.lastResult = r
		t.resultRun = 1
	}
	if (r == Failure && t.resultRun < int(t.thresholds.Failure)) ||
		(r == Success && t.resultRun < int(t.thresholds.Success)) {
		return false
	}

	changed = t.result != r
	t.result = r
	if (t.kind == Liveness && r == Failure) || t.kind == Startup {
		t.onHold = true
		t.resultRun = 0
	}
	return changed
}

// Set stores r without threshold counting and reports whether the cached result changed.
// doProbe does this for a container that is not running (Failure) and, during pod deletion,
// for liveness and startup probes (Success, after which it stops probing). Like doProbe, which
// checks the hold first, Set does nothing while on hold. Warning is stored as Success.
func (t *Tracker) Set(r Result) (changed bool) {
	if t.onHold {
		return false
	}
	if r == Warning {
		r = Success
	}
	changed = t.result != r
	t.result = r
	return changed
}

// Reset is doProbe's reaction to a new container ID (a restarted container): the cached result
// goes back to the initial one and the hold is lifted.
//
// Like the kubelet, it does not clear the run of identical results: a readiness probe with
// successThreshold 3 that succeeded twice before its container restarted needs only one more
// success in the new container. minipod reproduces this quirk rather than fixing it.
func (t *Tracker) Reset() {
	t.result = t.kind.initialResult()
	t.onHold = false
}
