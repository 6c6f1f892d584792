// Package monitor is the per-pod process that supervises one pod for its whole life. It
// sets up the pod's sandbox, is the parent of every container process (so it reaps every
// exit and holds their stdio), applies the kubelet's policy to the containers through one
// worker per container, writes the pod's status and events, and releases everything at the
// end. It runs detached from whoever started it, so killing `minipod run` (or, later, the
// daemon) disturbs no pod.
//
// The policy copies the kubelet, each rule citing the kubelet code it copies: the phase and
// conditions (package phase), the crash-loop back-off (package backoff), init containers
// and sidecars in order, restart policy, probes, lifecycle hooks, termination messages, the
// active deadline, and termination in order. The mechanism (container instances and their
// verbs) is package container's; the pod's host resources are package sandbox's.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/monitor/backoff"
	"github.com/minipod/minipod/monitor/phase"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/sandbox"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/trim"
)

type monitor struct {
	rec     *state.Record
	dir     string // the pod's state directory
	log     *slog.Logger
	images  *images
	host    ocispec.Host     // the host's memory and cgroups; read with the sandbox setup
	crashes *backoff.Backoff // crash-loop back-off, keyed by container name
	pulls   *backoff.Backoff // image pull back-off, keyed by image reference

	imageVolumes imageVolumes // the image volumes' pulls (imagevolume.go)

	// The sandbox is set up while the first images are pulled; a container waits for it
	// only right before it is created.
	sandboxDone chan struct{} // closed when the sandbox setup ended; then sb or sandboxErr is set
	sb          *sandbox.Sandbox
	sandboxErr  error
	configVols  *configVolumes // configMap, secret, downwardAPI and projected volumes (config.go)

	inits    []*worker // init containers and sidecars, in spec order
	regulars []*worker // regular containers, in spec order
	byName   []*worker // regular containers by name: the kubelet's order of containerStatuses
	eph      ephemerals

	ctx    context.Context    // cancelled when the pod stops: ends pulls, waits and hooks
	cancel context.CancelFunc //
	stopc  chan struct{}      // closed when the pod is being stopped

	mu           sync.Mutex
	pod          api.Pod // spec and status; the status file is written from it
	sandboxReady bool
	stopping     bool                // the pod is terminating: nothing (re)starts any more
	deleting     bool                // ... because it is being deleted (not because it completed)
	remove       bool                // remove the pod's state and logs once it has stopped
	live         int                 // instances created or being created that may have a process (netrelease.go)
	creating     int                 // ... of which are being created
	netReleased  chan struct{}       // closed when an early release of the network ended (netrelease.go)
	netErr       error               // how it ended; read after netReleased is closed
	deadline     time.Time           // when the grace period of a stop under way ends
	exitc        chan struct{}       // closed and replaced whenever an instance exits, see waitExit
	imagesUsed   map[string][]string // container name -> its image ID and layer dirs, for `image rm`/`prune`

	eventsMu sync.Mutex
	events   *os.File // the pod's event log, see event

	lastStatus     []byte         // the pod as last written, JSON; guarded by mu
	rv             *state.RVClock // each status write gets a new resourceVersion
	watchMu        sync.Mutex
	watchers       map[*watcher]struct{}
	watchersClosed bool
	watchDone      chan struct{}  // closed when the monitor ends: watch streams finish
	watchWG        sync.WaitGroup // open watch streams
}

// Run is the monitor process's entry point: `minipod monitor POD-DIR`. lock is the pod's lock
// file, inherited already locked from the starter and held until the process exits.
func Run(dir string, lock *os.File) error {
	rec, err := state.ReadRecord(dir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("pod", rec.Pod.Metadata.Namespace+"/"+rec.Pod.Metadata.Name)
	m := &monitor{
		rec:         rec,
		dir:         dir,
		log:         log,
		crashes:     backoff.New(rec.Config.BackoffInitial, rec.Config.BackoffMax),
		pulls:       backoff.New(rec.Config.BackoffInitial, rec.Config.BackoffMax),
		sandboxDone: make(chan struct{}),
		stopc:       make(chan struct{}),
		exitc:       make(chan struct{}),
		pod:         rec.Pod,
		imagesUsed:  map[string][]string{},
		watchers:    map[*watcher]struct{}{},
		watchDone:   make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	log.Info("monitor up", "pid", os.Getpid())
	if m.rv, err = state.OpenRVClock(rec.Config.StateDir); err != nil {
		return err
	}
	l, err := listen(dir)
	if err != nil {
		return err
	}
	go m.serve(l)
	defer func() {
		l.Close()
		m.closeWatchers()
	}()
	m.images = newImages(rec.Config.Root, rec.Config.InsecureRegistries)
	if err := state.WriteMonitorPID(dir); err != nil {
		return err
	}

	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, unix.SIGTERM, unix.SIGINT)
	go func() {
		<-sigc
		m.stop(m.podGracePeriod(), true)
	}()
	// A stop asked for before the socket was up was left on disk: honour it now, before
	// anything is created.
	var runErr error
	if req, ok := state.ReadStopRequest(dir); ok {
		log.Info("stopped before it started")
		m.stopFor(req)
		m.mu.Lock()
		m.updateLocked()
		m.mu.Unlock()
	} else if len(m.pod.Spec.SchedulingGates) > 0 {
		m.waitGated()
	} else {
		runErr = m.run()
	}
	m.mu.Lock()
	remove := m.remove && runErr == nil
	m.mu.Unlock()
	// A delete: nothing of the pod stays. Its logs go while the sandbox is released (nothing
	// needs them to retry a release), its state once the release succeeded.
	var logErr error
	logsRemoved := make(chan struct{})
	go func() {
		if remove {
			logErr = os.RemoveAll(m.rec.LogDir())
		}
		close(logsRemoved)
	}()
	// The marker tells readers that no resource of the pod is left to release: it is written
	// only after a release that succeeded, so that a delete or the garbage collector retries
	// one that failed (a cgroup still busy, say).
	if err := m.releaseSandbox(); err != nil {
		log.Error("teardown", "err", err)
		runErr = errors.Join(runErr, err)
	} else if err := os.WriteFile(filepath.Join(dir, state.TornDownFile), nil, 0o644); err != nil {
		runErr = errors.Join(runErr, err)
	}
	<-logsRemoved
	m.mu.Lock()
	late := m.remove && !remove // a delete that came during the release
	m.mu.Unlock()
	if (remove || late) && runErr == nil {
		// Followers have the final status from their watch streams; the lock goes with this
		// process.
		if late {
			logErr = os.RemoveAll(m.rec.LogDir())
		}
		if err := errors.Join(logErr, os.RemoveAll(dir)); err != nil {
			log.Error("remove pod", "err", err)
		}
	}
	lock.Close()
	return runErr
}

// stopFor stops the pod as a command asked.
func (m *monitor) stopFor(req state.StopRequest) {
	grace := m.podGracePeriod()
	if g := req.GracePeriodSeconds; g != nil && *g >= 0 {
		grace = time.Duration(*g) * time.Second
	}
	m.mu.Lock()
	m.remove = m.remove || req.Remove
	m.mu.Unlock()
	m.stop(grace, true)
}

// podGracePeriod is the pod's terminationGracePeriodSeconds (defaulted to 30).
func (m *monitor) podGracePeriod() time.Duration {
	if g := m.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

// run supervises the pod until every container has finished for good, in the kubelet's
// order (computePodActions, pkg/kubelet/kuberuntime/kuberuntime_manager.go): init containers
// one at a time, each to completion (a sidecar only until it has started); then the regular
// containers; when those have all finished, the sidecars are stopped.
func (m *monitor) run() error {
	if !m.admit() {
		return nil
	}
	m.mu.Lock()
	spec := &m.pod.Spec
	for i := range spec.InitContainers {
		k := initContainer
		if spec.InitContainers[i].IsSidecar() {
			k = sidecar
		}
		m.inits = append(m.inits, newWorker(m, &spec.InitContainers[i], k, i))
	}
	// A regular container is first started once the one before it is, its postStart hook
	// included (the kubelet starts them one after another); with no hook in between they
	// start together, which nobody can tell apart but the clock.
	var gate chan struct{}
	for i := range spec.Containers {
		w := newWorker(m, &spec.Containers[i], regular, i)
		w.gate = gate
		if w.c.Lifecycle != nil && w.c.Lifecycle.PostStart != nil {
			gate = w.firstStart
		}
		m.regulars = append(m.regulars, w)
	}
	m.configVols = newConfigVolumes(m)
	m.byName = slices.Clone(m.regulars)
	slices.SortFunc(m.byName, func(a, b *worker) int { return strings.Compare(a.c.Name, b.c.Name) })
	start := api.NewTime(time.Now())
	m.pod.Status.StartTime = &start
	m.pod.Status.QOSClass = api.GetPodQOS(&m.pod)
	m.openEphemeralLocked()
	// The sandbox, the start's critical path, does not wait for the first status write.
	go m.setupSandbox()
	m.updateLocked()
	m.mu.Unlock()

	go m.configVols.run()
	defer m.watchLocalStorage()()
	if d := spec.ActiveDeadlineSeconds; d != nil {
		deadline := time.AfterFunc(time.Duration(*d)*time.Second, m.deadlineExceeded)
		defer deadline.Stop()
	}
	var workers sync.WaitGroup
	// Once every container had its first start, the monitor mostly waits: give back what
	// starting took.
	var firstStarts sync.WaitGroup
	firstStarts.Add(len(m.regulars))
	initialized := true
	for _, w := range m.inits {
		workers.Go(w.run)
		select {
		case <-w.initialized:
			continue
		case <-w.done: // a regular init container failed for good, or the pod stopped
		case <-m.stopc:
		}
		initialized = false
		break
	}
	if initialized {
		for _, w := range m.regulars {
			workers.Go(w.run)
			go func() {
				<-w.firstStart
				firstStarts.Done()
			}()
		}
		go func() {
			firstStarts.Wait()
			trim.Memory()
		}()
		for _, w := range m.regulars {
			<-w.done
		}
	}
	// The regular containers have finished for good (or never start): the pod is over and
	// its sidecars go too (computePodActions: KillPod when nothing is left to run).
	m.stop(m.podGracePeriod(), false)
	workers.Wait()
	m.waitEphemeral()
	<-m.sandboxDone
	<-m.configVols.done

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sandboxErr != nil {
		m.pod.Status.Phase = api.PodFailed
		m.pod.Status.Reason = "SandboxFailed"
		m.pod.Status.Message = m.sandboxErr.Error()
		m.updateLocked()
		return m.sandboxErr
	}
	m.updateLocked()
	return nil
}

func (m *monitor) setupSandbox() {
	t := time.Now()
	hostRead := make(chan struct{})
	go func() {
		m.host = readHost() // containers read it after sandboxDone
		close(hostRead)
	}()
	sb, err := sandbox.Setup(m.rec)
	<-hostRead
	m.log.Info("sandbox", "took", time.Since(t), "err", err)
	m.mu.Lock()
	m.sb, m.sandboxErr = sb, err
	if err == nil {
		m.sandboxReady = true
		st := &m.pod.Status
		st.PodIP = sb.PodIP().String()
		st.PodIPs = []api.PodIP{{IP: st.PodIP}}
		st.HostIP = sb.HostIP().String()
		st.HostIPs = []api.HostIP{{IP: st.HostIP}}
		for _, w := range sb.Warnings {
			m.event(nil, api.EventWarning, "DNSConfigForming", w)
		}
		// The containers' creation does not wait for the status write; what they report
		// waits for the lock, so it is written after it.
		close(m.sandboxDone)
		m.updateLocked()
	} else {
		m.event(nil, api.EventWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: "+err.Error())
		close(m.sandboxDone)
	}
	m.mu.Unlock()
	if err != nil {
		m.stop(0, false)
	}
}

// waitSandbox blocks until the sandbox is ready; false if it failed or the pod is stopping.
func (m *monitor) waitSandbox() bool {
	select {
	case <-m.sandboxDone:
		return m.sandboxErr == nil
	case <-m.stopc:
		return false
	}
}

// isStopping reports whether the pod is terminating.
func (m *monitor) isStopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

// deadlineExceeded fails the pod for running past spec.activeDeadlineSeconds and stops it
// with its grace period (pkg/kubelet/active_deadline.go).
func (m *monitor) deadlineExceeded() {
	const msg = "Pod was active on the node longer than the specified deadline"
	m.mu.Lock()
	if m.stopping || phase.Terminal(m.pod.Status.Phase) {
		m.mu.Unlock()
		return
	}
	m.event(nil, api.EventNormal, "DeadlineExceeded", msg)
	st := &m.pod.Status
	st.Phase, st.Reason, st.Message = api.PodFailed, "DeadlineExceeded", msg
	m.updateLocked()
	m.mu.Unlock()
	m.stop(m.podGracePeriod(), false)
}

// instanceExitedLocked wakes whoever waits for an instance to exit (waitExit).
func (m *monitor) instanceExitedLocked() {
	close(m.exitc)
	m.exitc = make(chan struct{})
}

// waitExit waits until done() holds, re-checking each time an instance exits, or until
// the deadline; done is called with m.mu held.
func (m *monitor) waitExit(done func() bool, deadline time.Time) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		m.mu.Lock()
		ok, exitc := done(), m.exitc
		m.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-exitc:
		case <-timer.C:
			return
		}
	}
}

// updateLocked copies the workers' statuses into the pod, recomputes the phase and
// conditions and writes the status file.
func (m *monitor) updateLocked() {
	st := &m.pod.Status
	st.InitContainerStatuses = st.InitContainerStatuses[:0]
	for _, w := range m.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, w.status)
	}
	st.ContainerStatuses = st.ContainerStatuses[:0]
	initialized := false
	for _, w := range m.byName {
		st.ContainerStatuses = append(st.ContainerStatuses, w.status)
		initialized = initialized || w.created
	}
	if len(st.InitContainerStatuses) == 0 {
		st.InitContainerStatuses = nil
	}
	st.EphemeralContainerStatuses = m.ephemeralStatusesLocked()
	if st.Reason != "SandboxFailed" {
		computed := phase.Phase(&m.pod.Spec, st.InitContainerStatuses, st.ContainerStatuses, m.stopping, initialized)
		if st.Phase == "" {
			st.Phase = computed
		} else {
			st.Phase = phase.Next(st.Phase, computed)
		}
	}
	st.Conditions = phase.Conditions(st.Conditions, &m.pod.Spec, st.InitContainerStatuses, st.ContainerStatuses, st.Phase, m.sandboxReady, time.Now())
	m.pod.Metadata.ResourceVersion = state.FormatRV(m.rv.Next())
	b, err := json.Marshal(&m.pod)
	if err != nil {
		m.log.Error("encode status", "err", err)
		return
	}
	m.lastStatus = b
	if err := atomicfile.Write(filepath.Join(m.dir, state.StatusFile), append(b, '\n'), 0o644); err != nil {
		m.log.Error("write status", "err", err)
	}
	m.broadcast(statusLine(b))
}
