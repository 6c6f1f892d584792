// Package monitor is the per-pod process that supervises one pod for its whole life. It
// sets up the pod's sandbox, is the parent of every container process (so it reaps every
// exit and holds their stdio), applies the kubelet's policy to the containers through one
// worker per container, writes the pod's status and events, and releases everything at the
// end. It runs detached from whoever started it, so killing `minipod run` (or, later, the
// daemon) disturbs no pod.
//
// The policy copies the kubelet: the phase and conditions (package phase), the crash-loop
// back-off (package backoff), restart policy, ordering and termination, each rule citing the
// kubelet code it copies. The mechanism (container instances and their verbs) is package
// container's; the pod's host resources are package sandbox's.
package monitor

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/monitor/backoff"
	"github.com/minipod/minipod/monitor/phase"
	"github.com/minipod/minipod/sandbox"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/trim"
)

type monitor struct {
	rec     *state.Record
	dir     string // the pod's state directory
	log     *slog.Logger
	images  *image.Store
	crashes *backoff.Backoff // crash-loop back-off, keyed by container name
	pulls   *backoff.Backoff // image pull back-off, keyed by image reference

	// The sandbox is set up while the first containers' images are pulled; a container
	// waits for it only right before it is created.
	sandboxDone chan struct{} // closed when the sandbox setup ended; then sb or sandboxErr is set
	sb          *sandbox.Sandbox
	sandboxErr  error

	workers []*worker // init containers in spec order, then regular containers in spec order

	ctx    context.Context    // cancelled when the pod stops: ends pulls and waits
	cancel context.CancelFunc //
	stopc  chan struct{}      // closed when the pod is being stopped

	mu           sync.Mutex
	pod          api.Pod // spec and status; the status file is written from it
	sandboxReady bool
	stopping     bool
	killNow      bool                // the grace period is over: anything still starting is killed at once
	imagesUsed   map[string][]string // container name -> its image ID and layer dirs, for `image rm`/`prune`
	events       *os.File            // the pod's event log, see event
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
		pod:         rec.Pod,
		imagesUsed:  map[string][]string{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	log.Info("monitor up", "pid", os.Getpid())
	m.images, err = image.Open(rec.Config.ImagesDir(), rec.Config.InsecureRegistries...)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, state.PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}

	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, unix.SIGTERM, unix.SIGINT)
	go func() {
		<-sigc
		m.stop(m.gracePeriod())
	}()

	runErr := m.run()
	if err := sandbox.Release(m.rec); err != nil {
		log.Error("teardown", "err", err)
		runErr = errors.Join(runErr, err)
	}
	// The marker tells readers that no resource of the pod is left to release.
	if err := os.WriteFile(filepath.Join(dir, state.TornDownFile), nil, 0o644); err != nil {
		runErr = errors.Join(runErr, err)
	}
	lock.Close()
	return runErr
}

// gracePeriod is the pod's terminationGracePeriodSeconds, or a delete's override.
func (m *monitor) gracePeriod() time.Duration {
	if b, err := os.ReadFile(filepath.Join(m.dir, state.GracePeriodFile)); err == nil {
		if s, err := strconv.ParseInt(string(b), 10, 64); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
	}
	if g := m.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

func (m *monitor) run() error {
	m.mu.Lock()
	start := api.NewTime(time.Now())
	m.pod.Status.StartTime = &start
	for i := range m.pod.Spec.Containers {
		m.workers = append(m.workers, newWorker(m, &m.pod.Spec.Containers[i], regular, i))
	}
	m.pod.Status.ContainerStatuses = make([]api.ContainerStatus, 0, len(m.workers))
	for _, w := range m.workers {
		m.pod.Status.ContainerStatuses = append(m.pod.Status.ContainerStatuses, w.status)
	}
	m.updateLocked()
	m.mu.Unlock()

	go func() {
		t := time.Now()
		m.sb, m.sandboxErr = sandbox.Setup(m.rec)
		m.log.Info("sandbox", "took", time.Since(t), "err", m.sandboxErr)
		if m.sandboxErr == nil {
			m.mu.Lock()
			m.sandboxReady = true
			st := &m.pod.Status
			st.PodIP = m.sb.Network.IP.String()
			st.PodIPs = []api.PodIP{{IP: st.PodIP}}
			st.HostIP = m.sb.Network.Gateway.String()
			st.HostIPs = []api.HostIP{{IP: st.HostIP}}
			m.updateLocked()
			m.mu.Unlock()
		}
		close(m.sandboxDone)
	}()
	// Once every container had its first start, the monitor mostly waits: give back what
	// starting took.
	var firstStarts sync.WaitGroup
	firstStarts.Add(len(m.workers))
	go func() {
		firstStarts.Wait()
		trim.Memory()
	}()
	var wg sync.WaitGroup
	for _, w := range m.workers {
		wg.Go(func() { w.run(sync.OnceFunc(firstStarts.Done)) })
	}
	wg.Wait()
	<-m.sandboxDone

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sandboxErr != nil {
		m.pod.Status.Phase = api.PodFailed
		m.pod.Status.Reason = "SandboxFailed"
		m.pod.Status.Message = m.sandboxErr.Error()
		m.updateLocked()
		return m.sandboxErr
	}
	// Every container has finished for good: the pod is terminal even under a restart
	// policy that would otherwise keep it Running.
	m.stopping = true
	m.updateLocked()
	return nil
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

// isStopping reports whether the pod is being stopped.
func (m *monitor) isStopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

// updateLocked copies the workers' statuses into the pod, recomputes the phase and
// conditions and writes the status file.
func (m *monitor) updateLocked() {
	st := &m.pod.Status
	for i, w := range m.workers {
		st.ContainerStatuses[i] = w.status
	}
	if st.Reason != "SandboxFailed" {
		computed := phase.Phase(&m.pod.Spec, st.ContainerStatuses, m.stopping)
		if st.Phase == "" {
			st.Phase = computed
		} else {
			st.Phase = phase.Next(st.Phase, computed)
		}
	}
	st.Conditions = phase.Conditions(st.Conditions, &m.pod.Spec, st.ContainerStatuses, st.Phase, m.sandboxReady, time.Now())
	if err := atomicfile.WriteJSON(filepath.Join(m.dir, state.StatusFile), &m.pod, 0o644); err != nil {
		m.log.Error("write status", "err", err)
	}
}
