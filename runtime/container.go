package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/volume"
)

// running is one started container instance.
type running struct {
	lc         *libcontainer.Container
	proc       *libcontainer.Process
	stopSignal unix.Signal
	oom        <-chan struct{}
	logs       sync.WaitGroup // the stdout and stderr copiers
	logFile    *os.File
}

// signal sends sig to the container's process. An error only means the process has exited
// already, which its waiter reports.
func (r *running) signal(sig unix.Signal) { _ = r.proc.Signal(sig) }

// supervise runs container i for the pod's whole life: it starts it, records every exit,
// and restarts it per restartPolicy with the kubelet's crash-loop back-off.
func (m *monitor) supervise(i int) {
	first := sync.OnceFunc(m.firstStarts.Done)
	defer first()
	c := &m.pod.Spec.Containers[i]
	rootfs, err := m.prepareRootfsDirs(c.Name)
	if err != nil {
		m.setTerminated(i, startError(err))
		return
	}
	for restarts := int32(0); ; restarts++ {
		img := m.pullImage(i)
		if img == nil {
			return
		}
		term := m.runOnce(i, img, rootfs, restarts, first)
		if term == nil || !m.shouldRestart(term.ExitCode) {
			return
		}
		if wait := m.crashes.Remaining(c.Name, term.FinishedAt.Time, time.Now()); wait > 0 {
			// The kubelet's message (pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff).
			m.setWaiting(i, "CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
				m.crashes.Get(c.Name), c.Name, m.pod.Metadata.Name, m.pod.Metadata.Namespace, m.pod.Metadata.UID))
			select {
			case <-time.After(wait):
			case <-m.stopc:
				return
			}
		}
		m.crashes.Next(c.Name, time.Now())
	}
}

// shouldRestart applies restartPolicy to an exit (pkg/kubelet/container/helpers.go ShouldContainerBeRestarted).
func (m *monitor) shouldRestart(exitCode int32) bool {
	if m.isStopping() {
		return false
	}
	switch m.pod.Spec.RestartPolicy {
	case api.RestartPolicyNever:
		return false
	case api.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// pullImage gets container i's image per its imagePullPolicy, retrying with the image
// back-off while the image is unavailable, as the kubelet does before every start of a
// container. It returns nil when the container will never start.
func (m *monitor) pullImage(i int) *image.Image {
	c := &m.pod.Spec.Containers[i]
	policy := image.PullPolicy(c.ImagePullPolicy)
	for attempt := 0; ; attempt++ {
		started := time.Now()
		var fetched atomic.Bool
		img, err := m.images.Get(m.ctx, c.Image, policy, image.PullOptions{Progress: m.pullProgress(c, &fetched)})
		if err == nil {
			// The kubelet's events (pkg/kubelet/images/image_manager.go).
			if fetched.Load() {
				m.event(c.Name, "Pulled", fmt.Sprintf("Successfully pulled image %q in %s", c.Image, time.Since(started).Round(time.Millisecond)))
			}
			m.mu.Lock()
			cs := &m.pod.Status.ContainerStatuses[i]
			// Like the kubelet: the normalized name, and the repo digest when there is one.
			cs.ImageID = img.ImageRef()
			if img.Name != "" {
				cs.Image = img.Name
			}
			used := append([]string{img.ID}, img.Layers...)
			changed := !slices.Equal(m.imagesUsed[c.Name], used)
			m.imagesUsed[c.Name] = used
			m.mu.Unlock()
			if changed {
				m.recordImages()
			}
			return img
		}
		if m.isStopping() {
			return nil
		}
		var reason string
		switch {
		case errors.Is(err, image.ErrInvalidReference):
			m.setWaiting(i, "InvalidImageName", fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err))
			return nil
		case errors.Is(err, image.ErrNeverPull):
			// pkg/kubelet/images/image_manager.go: the kubelet keeps checking for the image.
			reason = "ErrImageNeverPull"
			err = fmt.Errorf("container image %q is not present with pull policy of Never", c.Image)
		case attempt == 0:
			reason = "ErrImagePull"
		default:
			reason = "ImagePullBackOff"
		}
		m.event(c.Name, "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		m.setWaiting(i, reason, err.Error())
		m.pulls.Next(c.Image, time.Now())
		select {
		case <-time.After(m.pulls.Remaining(c.Image, time.Now(), time.Now())):
		case <-m.stopc:
			return nil
		}
	}
}

// pullProgress reports a pull as events, at most twice a second per layer, and notes in
// fetched whether any layer was downloaded.
func (m *monitor) pullProgress(c *api.Container, fetched *atomic.Bool) func(image.Progress) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(p image.Progress) {
		if p.Layer != "" {
			fetched.Store(true)
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case p.Layer == "" && p.Message != "":
			m.event(c.Name, "Pulling", fmt.Sprintf("%s: %s", c.Image, p.Message))
		case p.Done:
			m.event(c.Name, "Pulling", fmt.Sprintf("%s: layer %s done (%s)", c.Image, p.Layer, formatBytes(p.Total)))
		case time.Since(last[p.Layer]) > 500*time.Millisecond:
			last[p.Layer] = time.Now()
			m.event(c.Name, "Pulling", fmt.Sprintf("%s: layer %s %s / %s", c.Image, p.Layer, formatBytes(p.Complete), formatBytes(p.Total)))
		}
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// runOnce starts one instance of container i and waits for it to exit. It returns the
// terminated state, or nil if the pod began stopping before the container started.
// started is called once the container runs or failed to start.
func (m *monitor) runOnce(i int, img *image.Image, rootfs string, restarts int32, started func()) *api.ContainerStateTerminated {
	if !m.waitSandbox() {
		return nil
	}
	startedAt := time.Now()
	r, err := m.start(i, img, rootfs, restarts)
	if err != nil {
		term := startError(err)
		m.setTerminated(i, term)
		started()
		return term
	}
	m.log.Info("started", "container", m.pod.Spec.Containers[i].Name, "took", time.Since(startedAt))
	m.setRunning(i, startedAt, restarts, r)
	started()
	state, err := r.proc.Wait()
	finished := time.Now()
	r.logs.Wait()
	r.logFile.Close()
	term := exitState(state, err)
	select {
	case _, ok := <-r.oom:
		if ok {
			term.Reason = "OOMKilled"
		}
	default:
	}
	term.StartedAt = api.NewTime(startedAt)
	// Sub-second precision is kept for the back-off arithmetic; JSON shows seconds.
	term.FinishedAt = api.Time{Time: finished}
	m.setTerminated(i, term)
	if err := r.lc.Destroy(); err != nil {
		m.log.Error("destroy container", "container", m.pod.Spec.Containers[i].Name, "err", err)
	}
	return term
}

func startError(err error) *api.ContainerStateTerminated {
	now := time.Now()
	// containerd reports a container that could not start with exit code 128 and reason
	// StartError (internal/cri/server/helpers.go).
	return &api.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: err.Error(), FinishedAt: api.Time{Time: now}}
}

func exitState(state *os.ProcessState, err error) *api.ContainerStateTerminated {
	t := &api.ContainerStateTerminated{}
	if state == nil {
		t.ExitCode = 255
		t.Reason = "Error"
		if err != nil {
			t.Message = err.Error()
		}
		return t
	}
	ws := state.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		// Runtimes report death by signal N as exit code 128+N.
		t.Signal = int32(ws.Signal())
		t.ExitCode = 128 + t.Signal
	} else {
		t.ExitCode = int32(ws.ExitStatus())
	}
	t.Reason = "Error"
	if t.ExitCode == 0 {
		t.Reason = "Completed"
	}
	return t
}

// start creates and runs one container instance on a fresh copy-on-write root filesystem.
func (m *monitor) start(i int, img *image.Image, rootfs string, restarts int32) (r *running, err error) {
	c := &m.pod.Spec.Containers[i]
	rec := m.rec
	if err := mountRootfs(rootfs, img.Layers); err != nil {
		return nil, err
	}
	argv, env, cwd, err := image.Process(c, img.Config)
	if err != nil {
		return nil, err
	}
	hostname := m.pod.Spec.Hostname
	if hostname == "" {
		hostname = m.pod.Metadata.Name
	}
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "HOSTNAME=") }) {
		env = append(env, "HOSTNAME="+hostname)
	}
	mounts := []ocispec.Mount{
		{Source: filepath.Join(rec.dataDir(), "etc", "hosts"), Destination: "/etc/hosts"},
		{Source: filepath.Join(rec.dataDir(), "etc", "hostname"), Destination: "/etc/hostname"},
		{Source: filepath.Join(rec.dataDir(), "etc", "resolv.conf"), Destination: "/etc/resolv.conf"},
	}
	vm, err := volume.Mounts(c, i, m.volumes)
	if err != nil {
		return nil, err
	}
	nsDir := filepath.Join(rec.Config.nsDir(), rec.uid())
	spec := ocispec.Build(ocispec.Input{
		Args: argv, Env: env, Cwd: cwd,
		RootfsPath:  rootfs,
		NetNSPath:   m.sb.NetNSPath,
		IPCNSPath:   filepath.Join(nsDir, "ipc"),
		UTSNSPath:   filepath.Join(nsDir, "uts"),
		CgroupsPath: rec.cgroupPath() + "/" + c.Name,
		ShmPath:     filepath.Join(rec.dataDir(), "shm"),
		Mounts:      append(mounts, vm...),
	})
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: rec.containerID(c.Name), Spec: spec})
	if err != nil {
		return nil, err
	}
	id := rec.containerID(c.Name)
	lc, err := libcontainer.Create(rec.Config.containersDir(), id, cfg)
	if errors.Is(err, libcontainer.ErrExist) {
		// Left by an instance whose cleanup failed: remove it and try once more.
		destroyContainer(rec.Config.containersDir(), id)
		lc, err = libcontainer.Create(rec.Config.containersDir(), id, cfg)
	}
	if err != nil {
		return nil, err
	}
	r = &running{lc: lc, stopSignal: stopSignal(img.Config.StopSignal)}
	defer func() {
		if err != nil {
			lc.Destroy()
		}
	}()
	logPath := filepath.Join(rec.logDir(), c.Name, fmt.Sprintf("%d.log", restarts))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	r.logFile, err = os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		r.logFile.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		r.logFile.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	r.proc = &libcontainer.Process{Args: argv, Env: env, Cwd: cwd, Stdout: outW, Stderr: errW, Init: true}
	runErr := lc.Run(r.proc)
	outW.Close()
	errW.Close()
	r.logs.Add(2)
	for _, s := range []struct {
		name string
		r    io.ReadCloser
	}{{"stdout", outR}, {"stderr", errR}} {
		go func() {
			defer r.logs.Done()
			defer s.r.Close()
			crilog.Copy(r.logFile, s.name, s.r, time.Now)
		}()
	}
	if runErr != nil {
		r.logs.Wait()
		r.logFile.Close()
		return nil, runErr
	}
	if oom, err := lc.NotifyOOM(); err == nil {
		r.oom = oom
	}
	return r, nil
}

func stopSignal(name string) unix.Signal {
	if name != "" {
		if s := unix.SignalNum(strings.TrimPrefix(strings.ToUpper(name), "SIG")); s != 0 {
			return s
		}
		if s := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(name), "SIG")); s != 0 {
			return s
		}
	}
	return unix.SIGTERM
}

// setWaiting, setRunning and setTerminated record container state changes the way the
// kubelet reports them, and write the status file.
func (m *monitor) setWaiting(i int, reason, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := &m.pod.Status.ContainerStatuses[i]
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	cs.State = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason, Message: msg}}
	m.updateLocked()
}

func (m *monitor) setRunning(i int, started time.Time, restarts int32, r *running) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := &m.pod.Status.ContainerStatuses[i]
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	cs.State = api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: api.NewTime(started)}}
	cs.RestartCount = restarts
	cs.ContainerID = "minipod://" + r.lc.ID()
	t := true
	cs.Started = &t
	// Without a readiness probe a running container is ready.
	cs.Ready = true
	m.procs[i] = r
	switch {
	case m.killNow:
		r.signal(unix.SIGKILL)
	case m.stopping:
		r.signal(r.stopSignal)
	}
	m.updateLocked()
}

func (m *monitor) setTerminated(i int, t *api.ContainerStateTerminated) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.procs, i)
	cs := &m.pod.Status.ContainerStatuses[i]
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	t.ContainerID = cs.ContainerID
	cs.State = api.ContainerState{Terminated: t}
	cs.Ready = false
	f := false
	cs.Started = &f
	m.updateLocked()
}

// prepareRootfsDirs returns the mount point of container name's root filesystem.
func (m *monitor) prepareRootfsDirs(name string) (string, error) {
	dir := filepath.Join(m.rec.dataDir(), "containers", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return filepath.Join(dir, "rootfs"), nil
}

// mountRootfs mounts a fresh overlay at rootfs: the image layers read-only below and an
// empty upper layer, so every (re)start begins from the image, as in Kubernetes.
func mountRootfs(rootfs string, layers []string) error {
	dir := filepath.Dir(rootfs)
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	if err := unix.Unmount(rootfs, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("unmount previous root filesystem: %w", err)
	}
	for _, d := range []string{upper, work} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	for _, d := range []string{upper, work, rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		lower[len(layers)-1-i] = l
	}
	// volatile: the upper layer is thrown away at the next start, so skip its syncs.
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,volatile", strings.Join(lower, ":"), upper, work)
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay root filesystem: %w", err)
	}
	return nil
}
