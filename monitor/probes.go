package monitor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/probe"
)

// probes run the container's startup, liveness and readiness probes against one instance
// (pkg/kubelet/prober/worker.go): one goroutine per probe, which sleeps on its timer between
// runs. Not a goroutine per run: a fresh goroutine grows its stack through the probe's call
// chain on every run, and each growth walks the frames' tables in the binary, which kept
// several MB more of it resident in a monitor probing every second (README Performance).
type probes struct {
	w    *worker
	inst *container.Instance

	stopOnce sync.Once
	stopc    chan struct{} // closed by stop
}

// prober is one of the container's probes.
type prober struct {
	spec    *api.Probe
	kind    probe.Kind
	tracker *probe.Tracker
}

// startProbes starts the instance's probes; called with m.mu held when it starts running.
// The startup probe holds the other two back until it succeeds.
func (w *worker) startProbes(inst *container.Instance) *probes {
	c := w.c
	if c.StartupProbe == nil && c.LivenessProbe == nil && c.ReadinessProbe == nil {
		return nil
	}
	ps := &probes{w: w, inst: inst, stopc: make(chan struct{})}
	if c.StartupProbe != nil {
		ps.start(w.prober(probe.Startup, c.StartupProbe))
		return ps
	}
	ps.startAfterStartup()
	return ps
}

// startAfterStartup starts the liveness and readiness probes.
func (ps *probes) startAfterStartup() {
	c := ps.w.c
	if c.LivenessProbe != nil {
		ps.start(ps.w.prober(probe.Liveness, c.LivenessProbe))
	}
	if c.ReadinessProbe != nil {
		ps.start(ps.w.prober(probe.Readiness, c.ReadinessProbe))
	}
}

// prober returns the worker's prober of a kind, its result reset for a new instance.
func (w *worker) prober(k probe.Kind, spec *api.Probe) *prober {
	if w.probers == nil {
		w.probers = map[probe.Kind]*prober{}
	}
	p := w.probers[k]
	if p == nil {
		p = &prober{spec: spec, kind: k, tracker: probe.NewTracker(k, probe.Thresholds{Success: spec.SuccessThreshold, Failure: spec.FailureThreshold})}
		w.probers[k] = p
	}
	p.tracker.Reset()
	return p
}

// start schedules a probe: first when initialDelaySeconds have passed since the container
// started, then every periodSeconds until the probes stop or the probe is put on hold.
func (ps *probes) start(p *prober) {
	if ps.isStopped() {
		return // a probe started after stop would also end at once, on stopc
	}
	first := time.Until(ps.inst.State().StartedAt.Add(time.Duration(p.spec.InitialDelaySeconds) * time.Second))
	period := time.Duration(p.spec.PeriodSeconds) * time.Second
	go func() {
		t := time.NewTimer(max(first, 0))
		defer t.Stop()
		for {
			select {
			case <-ps.stopc:
				return
			case <-t.C:
			}
			ps.run(p)
			if ps.isStopped() || ps.onHold(p) {
				return
			}
			t.Reset(period)
		}
	}()
}

func (ps *probes) stop() { ps.stopOnce.Do(func() { close(ps.stopc) }) }

// onHold reports whether p waits for the next instance (the tracker is reset under m.mu).
func (ps *probes) onHold(p *prober) bool {
	ps.w.m.mu.Lock()
	defer ps.w.m.mu.Unlock()
	return p.tracker.OnHold()
}

func (ps *probes) isStopped() bool {
	select {
	case <-ps.stopc:
		return true
	default:
		return false
	}
}

// run runs a probe once and acts on a settled change of its result (prober.go probe,
// worker.go doProbe, and what the kubelet's sync loop does with the results).
func (ps *probes) run(p *prober) {
	w, m := ps.w, ps.w.m
	if m.isStopping() && p.kind != probe.Readiness {
		// Liveness and startup probes stop once the pod terminates (doProbe).
		return
	}
	res, out, err := ps.check(p)
	select {
	case <-ps.inst.Exited():
		// A probe racing the container's exit says nothing about the container.
		return
	default:
	}
	if ps.isStopped() {
		return
	}
	switch {
	case err != nil:
		w.event(api.EventWarning, "Unhealthy", fmt.Sprintf("%s probe errored and resulted in %s state: %s", p.kind, probe.Unknown, err))
	case res == probe.Failure:
		w.event(api.EventWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", p.kind, out))
	case res == probe.Warning:
		w.event(api.EventWarning, "ProbeWarning", fmt.Sprintf("%s probe warning: %s", p.kind, out))
	}
	m.mu.Lock()
	changed := p.tracker.Observe(res, err)
	result := p.tracker.Result()
	if !changed || ps.isStopped() {
		m.mu.Unlock()
		return
	}
	cs := &w.status
	switch p.kind {
	case probe.Startup:
		if result == probe.Success {
			*cs.Started = true
			cs.Ready = w.c.ReadinessProbe == nil
			w.startedLocked()
			ps.startAfterStartup()
			m.updateLocked()
		}
	case probe.Readiness:
		cs.Ready = result == probe.Success && *cs.Started
		m.updateLocked()
	}
	m.mu.Unlock()
	if result == probe.Failure && p.kind != probe.Readiness {
		// computePodActions: a failed liveness or startup probe kills the container; the
		// restart policy decides what follows.
		msg := fmt.Sprintf("Container %s failed %s probe", w.c.Name, strings.ToLower(p.kind.String()))
		if w.kind == sidecar || m.pod.Spec.RestartPolicy != api.RestartPolicyNever {
			msg += ", will be restarted"
		}
		w.kill(ps.inst, msg, w.killGrace(p.spec), false)
	}
}

// check runs the probe's action once, bounded by timeoutSeconds.
func (ps *probes) check(p *prober) (probe.Result, string, error) {
	w := ps.w
	timeout := time.Duration(p.spec.TimeoutSeconds) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	h := p.spec.ProbeHandler
	ua := "kube-probe/" + kubeVersion
	switch {
	case h.Exec != nil:
		cmd := w.execCommand(h.Exec.Command)
		out, exit, err := ps.inst.ExecSync(ctx, cmd, maxExecOutput)
		switch {
		case ctx.Err() != nil:
			return probe.Failure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " ")), nil
		case err != nil:
			return probe.Unknown, "", err
		case exit.Code != 0:
			return probe.Failure, string(out), nil
		}
		return probe.Success, string(out), nil
	case h.HTTPGet != nil:
		req, err := w.httpRequest(h.HTTPGet, ua)
		if err != nil {
			return probe.Unknown, "", err
		}
		return probe.HTTP(ctx, req)
	case h.TCPSocket != nil:
		port, err := w.resolvePort(h.TCPSocket.Port)
		if err != nil {
			return probe.Unknown, "", err
		}
		host := h.TCPSocket.Host
		if host == "" {
			host = w.m.podIP()
		}
		return probe.TCP(ctx, host, port)
	case h.GRPC != nil:
		service := ""
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		return probe.GRPC(ctx, w.m.podIP(), int(h.GRPC.Port), service, ua)
	}
	return probe.Unknown, "", fmt.Errorf("missing probe handler for %s", w.c.Name)
}
