package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/netns"
	"github.com/minipod/minipod/runtime/backoff"
	"github.com/minipod/minipod/runtime/phase"
	"github.com/minipod/minipod/volume"
)

// monitor is the one process per pod that owns the pod's resources: it creates the sandbox,
// is the parent of every container process (so it reaps every exit and holds their stdio),
// applies the restart policy and writes the status file. It runs detached from the command
// that started it, so killing `minipod run` (or, later, the daemon) disturbs no pod.
type monitor struct {
	rec     *Record
	dir     string
	log     *slog.Logger
	images  *image.Store
	crashes *backoff.Backoff // crash-loop back-off, keyed by container name
	pulls   *backoff.Backoff // image pull back-off, keyed by image reference

	sandboxDone chan struct{} // closed when the sandbox setup ended; sandboxErr then holds its result
	sandboxErr  error
	sb          *netns.Sandbox
	volumes     volume.Sources

	mu           sync.Mutex
	pod          api.Pod // spec and status; the status file is written from it
	sandboxReady bool
	stopping     bool
	stopc        chan struct{} // closed when the pod is being stopped
	killNow      bool          // the grace period is over: anything still starting is killed at once
	ctx          context.Context
	cancel       context.CancelFunc // cancels image pulls when the pod stops
	procs        map[int]*running
	firstStarts  sync.WaitGroup      // done when each container was started (or failed to) once
	imagesUsed   map[string][]string // container name -> its image ID and layer dirs, for `image rm`/`prune`
	events       *os.File            // the pod's event log, see event
}

// RunMonitor is the entry point of `minipod monitor POD-DIR`. lock is the pod's lock file,
// inherited already locked from the starter and held until the process exits.
func RunMonitor(dir string, lock *os.File) error {
	rec, err := readRecord(dir)
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
		pod:         rec.Pod,
		stopc:       make(chan struct{}),
		procs:       map[int]*running{},
		imagesUsed:  map[string][]string{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	log.Info("monitor up", "pid", os.Getpid())
	m.images, err = rec.Config.OpenImages()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return err
	}

	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, unix.SIGTERM, unix.SIGINT)
	go func() {
		<-sigc
		m.stop(m.gracePeriod())
	}()

	runErr := m.run()
	if err := releasePod(m.rec); err != nil {
		log.Error("teardown", "err", err)
		runErr = errors.Join(runErr, err)
	}
	// The marker tells readers that no resource of the pod is left to release.
	if err := os.WriteFile(filepath.Join(dir, tornDownFile), nil, 0o644); err != nil {
		runErr = errors.Join(runErr, err)
	}
	lock.Close()
	return runErr
}

// gracePeriod is the pod's terminationGracePeriodSeconds, or a delete's override.
func (m *monitor) gracePeriod() time.Duration {
	if b, err := os.ReadFile(filepath.Join(m.dir, gracePeriodFile)); err == nil {
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
	now := time.Now()
	m.mu.Lock()
	st := &m.pod.Status
	start := api.NewTime(now)
	st.StartTime = &start
	st.ContainerStatuses = make([]api.ContainerStatus, len(m.pod.Spec.Containers))
	for i, c := range m.pod.Spec.Containers {
		st.ContainerStatuses[i] = api.ContainerStatus{
			Name:    c.Name,
			Image:   c.Image,
			State:   api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "ContainerCreating"}},
			Started: new(bool),
		}
	}
	m.updateLocked()
	m.mu.Unlock()

	// The sandbox and the containers' root filesystems are prepared concurrently; a
	// container waits for the sandbox only right before it is created.
	go func() {
		t := time.Now()
		m.sandboxErr = m.setupSandbox()
		m.log.Info("sandbox", "took", time.Since(t), "err", m.sandboxErr)
		close(m.sandboxDone)
	}()
	// Once every container had its first start, the monitor mostly waits: give back what
	// starting took.
	m.firstStarts.Add(len(m.pod.Spec.Containers))
	go func() {
		m.firstStarts.Wait()
		trimMemory()
	}()
	var wg sync.WaitGroup
	for i := range m.pod.Spec.Containers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.supervise(i)
		}()
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

func (m *monitor) setupSandbox() error {
	r := m.rec
	hostname := m.pod.Spec.Hostname
	if hostname == "" {
		hostname = m.pod.Metadata.Name
	}
	// The parts are independent: build them concurrently (the network, the slowest, sets
	// the pace). What a failed part leaves, teardown releases like everything else.
	var g errgroup.Group
	g.Go(func() error {
		nsDir := filepath.Join(r.Config.nsDir(), r.uid())
		if err := os.MkdirAll(nsDir, 0o700); err != nil {
			return err
		}
		return pinIPCAndUTS(filepath.Join(nsDir, "ipc"), filepath.Join(nsDir, "uts"), hostname)
	})
	g.Go(func() error { return createPodCgroup(r.cgroupPath()) })
	g.Go(func() error {
		vols, err := volume.Setup(filepath.Join(r.dataDir(), "volumes"), m.pod.Spec.Volumes)
		if err != nil {
			return err
		}
		m.volumes = vols
		if err := mountShm(filepath.Join(r.dataDir(), "shm")); err != nil {
			return fmt.Errorf("pod /dev/shm: %w", err)
		}
		return nil
	})
	var sb *netns.Sandbox
	g.Go(func() (err error) {
		if sb, err = netns.Setup(r.Config.network(), r.sandboxID()); err != nil {
			return fmt.Errorf("pod network: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	m.sb = sb
	if err := writePodFiles(filepath.Join(r.dataDir(), "etc"), sb.IP.String(), hostname); err != nil {
		return err
	}
	m.mu.Lock()
	m.sandboxReady = true
	st := &m.pod.Status
	st.PodIP = sb.IP.String()
	st.PodIPs = []api.PodIP{{IP: st.PodIP}}
	st.HostIP = sb.Gateway.String()
	st.HostIPs = []api.HostIP{{IP: st.HostIP}}
	m.updateLocked()
	m.mu.Unlock()
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

// stop stops the pod the Kubernetes way: SIGTERM to every container, SIGKILL to what is
// left when the grace period ends. Containers waiting to (re)start are not started again.
func (m *monitor) stop(grace time.Duration) {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return
	}
	m.stopping = true
	close(m.stopc)
	m.cancel()
	now := time.Now()
	deletion := api.NewTime(now.Add(grace))
	m.pod.Metadata.DeletionTimestamp = &deletion
	m.updateLocked()
	for _, p := range m.procs {
		p.signal(p.stopSignal)
	}
	m.mu.Unlock()
	m.log.Info("stopping", "grace", grace)
	time.AfterFunc(grace, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.killNow = true
		for _, p := range m.procs {
			p.signal(unix.SIGKILL)
		}
	})
}

func (m *monitor) isStopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

// updateLocked recomputes the phase and conditions and writes the status file.
func (m *monitor) updateLocked() {
	st := &m.pod.Status
	if st.Reason != "SandboxFailed" {
		computed := phase.Phase(&m.pod.Spec, st.ContainerStatuses, m.stopping)
		if st.Phase == "" {
			st.Phase = computed
		} else {
			st.Phase = phase.Next(st.Phase, computed)
		}
	}
	st.Conditions = phase.Conditions(st.Conditions, &m.pod.Spec, st.ContainerStatuses, st.Phase, m.sandboxReady, time.Now())
	if err := writeJSONAtomic(filepath.Join(m.dir, statusFile), &m.pod); err != nil {
		m.log.Error("write status", "err", err)
	}
}
