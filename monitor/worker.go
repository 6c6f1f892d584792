package monitor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/container"
	image "github.com/minipod/minipod/image/imageinfo"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/probe"
	"github.com/minipod/minipod/sandbox"
	"github.com/minipod/minipod/volume"
)

// kind is what a container is to the pod: a regular container, an init container that runs
// to completion before the next one starts, or a sidecar (an init container with
// restartPolicy Always) that runs beside the regular containers.
type kind int

const (
	regular kind = iota
	initContainer
	sidecar
)

// worker supervises one container of the pod: it pulls the image, creates and starts an
// instance, runs its hooks and probes, waits for it to exit, records the exit and starts the
// next attempt when the policy says so.
type worker struct {
	m     *monitor
	c     *api.Container
	kind  kind
	field string // the container's path in the pod, e.g. "spec.containers[1]"
	ref   string // the kubelet's fieldPath for events, e.g. "spec.containers{web}"

	gate        <-chan struct{} // closed when this container may start for the first time
	firstStart  chan struct{}   // closed once the first attempt started (postStart included) or failed
	initialized chan struct{}   // closed once an init container exited 0 or a sidecar started
	done        chan struct{}   // closed when the worker has finished for good

	// Guarded by m.mu.
	status     api.ContainerStatus
	inst       *container.Instance // the current attempt, until it exits
	stopSignal unix.Signal
	created    bool                   // an instance was ever created: the kubelet's "has the pod initialized"
	killing    bool                   // the current instance is being killed (stop, liveness, postStart)
	probes     *probes                // of the current instance
	probers    map[probe.Kind]*prober // kept across instances, like the kubelet's workers
	user       *api.ContainerUser     // the identity of the last instance created

	target    string                  // an ephemeral container's targetContainerName
	imageVols map[string]*image.Image // the container's image volumes, pulled for this attempt (imagevolume.go)
}

func newWorker(m *monitor, c *api.Container, k kind, index int) *worker {
	w := &worker{
		m: m, c: c, kind: k,
		field:       fmt.Sprintf("spec.containers[%d]", index),
		ref:         fmt.Sprintf("spec.containers{%s}", c.Name),
		firstStart:  make(chan struct{}),
		initialized: make(chan struct{}),
		done:        make(chan struct{}),
		stopSignal:  unix.SIGTERM,
	}
	if k != regular {
		w.field = fmt.Sprintf("spec.initContainers[%d]", index)
		w.ref = fmt.Sprintf("spec.initContainers{%s}", c.Name)
	}
	// convertToAPIContainerStatuses: PodInitializing for every container of a pod with init
	// containers, ContainerCreating otherwise.
	reason := "ContainerCreating"
	if len(m.pod.Spec.InitContainers) > 0 {
		reason = "PodInitializing"
	}
	w.status = api.ContainerStatus{
		Name:    c.Name,
		Image:   c.Image,
		State:   api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason}},
		Started: new(bool),
	}
	return w
}

// run supervises the container until it has finished for good.
func (w *worker) run() {
	defer close(w.done)
	first := sync.OnceFunc(func() { close(w.firstStart) })
	defer first()
	if w.gate != nil {
		select {
		case <-w.gate:
		case <-w.m.stopc:
			return
		}
	}
	for attempt := int32(0); ; attempt++ {
		if !w.pullImageVolumes() {
			return
		}
		img := w.pullImage()
		if img == nil {
			return
		}
		term := w.runOnce(img, attempt, first)
		if term == nil {
			return
		}
		if w.kind == initContainer && term.ExitCode == 0 {
			close(w.initialized)
			return
		}
		if !w.shouldRestart(term.ExitCode) || !w.backOff(term.FinishedAt.Time) {
			return
		}
	}
}

// shouldRestart applies the restart policy to an exit (pkg/kubelet/container/helpers.go
// ShouldContainerBeRestarted): sidecars always restart, init containers until they succeed
// unless the pod's policy is Never, ephemeral containers never; nothing restarts once the pod
// terminates.
func (w *worker) shouldRestart(exitCode int32) bool {
	if w.m.isStopping() || w.kind == ephemeral {
		return false
	}
	if w.kind == sidecar {
		return true
	}
	switch w.m.pod.Spec.RestartPolicy {
	case api.RestartPolicyNever:
		return false
	case api.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return w.kind == regular || exitCode != 0
}

// backOff waits out the crash-loop back-off before the next attempt; false if the pod
// stopped meanwhile.
func (w *worker) backOff(finished time.Time) bool {
	m, name := w.m, w.c.Name
	if wait := m.crashes.Remaining(name, finished, time.Now()); wait > 0 {
		pod := fmt.Sprintf("%s_%s(%s)", m.pod.Metadata.Name, m.pod.Metadata.Namespace, m.pod.Metadata.UID)
		// The kubelet's message and event (pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff).
		w.event(api.EventWarning, "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s", name, pod))
		w.setWaiting("CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", m.crashes.Get(name), name, pod))
		due := time.Now().Add(wait)
		select {
		case <-time.After(wait):
			// When the restart was due, to the microsecond (the status has seconds): how
			// late restarts are is a benchmark (BenchmarkBackOffRestart).
			m.log.Info("back-off over", "container", name, "due", due.UTC().Format(time.RFC3339Nano))
		case <-m.stopc:
			return false
		}
	}
	m.crashes.Next(name, time.Now())
	return true
}

// runOnce runs one attempt of the container to its exit and returns how it ended, or nil if
// the pod began stopping before the container was created. first is called once the
// container started (its postStart hook returned) or failed to.
func (w *worker) runOnce(img *image.Image, attempt int32, first func()) *api.ContainerStateTerminated {
	m := w.m
	if !m.waitSandbox() || !m.waitConfigVolumes() || !m.instanceBegins() {
		return nil
	}
	ended, created := sync.OnceFunc(m.instanceEnded), sync.OnceFunc(m.instanceCreated)
	defer ended()
	defer created()
	begin := time.Now()
	inst, err := w.create(img, attempt)
	// What the kubelet reports as CreateContainerConfigError or CreateContainerError is
	// tried again at its next sync, with nothing created and no restart counted.
	for ce := asCreateError(err); ce != nil; ce = asCreateError(err) {
		if !w.createFailed(ce, first) {
			return nil
		}
		inst, err = w.create(img, attempt)
	}
	if err != nil {
		w.event(api.EventWarning, "Failed", "Error: "+err.Error())
		term := startError(err, m.rec.ContainerID(w.c.Name, attempt))
		w.setTerminated(term, attempt)
		first()
		return term
	}
	w.event(api.EventNormal, "Created", "Created container: "+w.c.Name)
	if err := inst.Start(); err != nil {
		inst.Delete()
		w.event(api.EventWarning, "Failed", "Error: "+err.Error())
		term := startError(err, m.rec.ContainerID(w.c.Name, attempt))
		w.setTerminated(term, attempt)
		first()
		return term
	}
	created()
	w.event(api.EventNormal, "Started", "Started container "+w.c.Name)
	m.log.Info("started", "container", w.c.Name, "took", time.Since(begin))
	// The kubelet runs postStart before it reports the container running, and kills it if
	// the hook fails (startContainer, pkg/kubelet/kuberuntime/kuberuntime_container.go).
	if h := w.c.Lifecycle; h != nil && h.PostStart != nil {
		if msg, err := w.runHook(m.ctx, inst, h.PostStart); err != nil {
			w.event(api.EventWarning, "FailedPostStartHook", "PostStartHook failed")
			m.log.Info("postStart hook failed", "container", w.c.Name, "err", msg)
			w.kill(inst, "FailedPostStartHook", w.killGrace(nil), false)
		}
	}
	w.setRunning(inst, attempt)
	first()
	<-inst.Reaped()
	ended()
	st := inst.Wait()
	term := w.exited(inst, st)
	if err := inst.Delete(); err != nil {
		m.log.Error("delete container", "container", w.c.Name, "err", err)
	}
	return term
}

// create creates an instance of the container on a fresh copy-on-write root filesystem.
func (w *worker) create(img *image.Image, attempt int32) (*container.Instance, error) {
	m, rec := w.m, w.m.rec
	env, err := w.containerEnv()
	if err != nil {
		return nil, err
	}
	src, err := w.volumeSources()
	if err != nil {
		return nil, err
	}
	volumes, err := volume.Mounts(w.c, w.field, src, m.pod.Spec.Volumes, ocispec.EnvValues(w.c, env))
	if err != nil {
		return nil, err
	}
	imgCfg := ocispec.ImageConfig(img.Config)
	host, err := w.containerHost(imgCfg)
	if err != nil {
		return nil, err
	}
	targetPIDNS, err := w.targetPIDNS()
	if err != nil {
		return nil, err
	}
	id := rec.ContainerID(w.c.Name, attempt)
	paths := sandbox.InstancePaths(rec, id)
	m.mu.Lock()
	w.stopSignal = ocispec.ContainerStopSignal(w.c, imgCfg)
	m.mu.Unlock()
	var user *api.ContainerUser
	inst, err := container.Create(container.Config{
		Paths:       paths,
		ID:          id,
		Name:        w.c.Name,
		Attempt:     attempt,
		Layers:      img.Layers,
		LogPath:     rec.LogFile(w.c.Name, attempt),
		LogMaxSize:  rec.Config.ContainerLogMaxSize,
		LogMaxFiles: rec.Config.ContainerLogMaxFiles,
		Stdin:       w.c.Stdin,
		StdinOnce:   w.c.StdinOnce,
		TTY:         w.c.TTY,
		Spec: func(rootfs string) (*specs.Spec, error) {
			in := &ocispec.Input{
				Pod:       &m.pod,
				Container: w.c,
				Field:     w.field,
				Image:     imgCfg,
				Passwd:    readImageFile(rootfs, "/etc/passwd"),
				Group:     readImageFile(rootfs, "/etc/group"),
				Rootfs:    rootfs,
				Cgroup:    rec.CgroupPath() + "/" + id,
				Sandbox:   m.sb.Spec(),
				Volumes:   volumes,
				Host:      host,
				Env:       env,

				TargetPIDNS: targetPIDNS,
			}
			if w.c.TerminationMessagePath != "" {
				// Like the kubelet: a file the container may write (whatever its user),
				// bound at terminationMessagePath and read after the exit.
				in.TerminationLog = terminationLogPath(paths)
				if err := os.WriteFile(in.TerminationLog, nil, 0o666); err != nil {
					return nil, fmt.Errorf("create termination log: %w", err)
				}
				if err := os.Chmod(in.TerminationLog, 0o666); err != nil {
					return nil, fmt.Errorf("create termination log: %w", err)
				}
			}
			s, err := ocispec.Generate(in)
			if err == nil {
				u := s.Process.User
				user = containerUser(u.UID, u.GID, u.AdditionalGids)
			}
			return s, err
		},
	})
	// A spec that cannot be built is a container containerd never created.
	if err == nil || asCreateError(err) == nil {
		m.mu.Lock()
		w.created = true
		w.user = user
		m.mu.Unlock()
	}
	return inst, err
}

func terminationLogPath(p container.Paths) string { return filepath.Join(p.Dir, "termination-log") }

// readImageFile reads a file of the container's root filesystem, resolving symlinks inside
// it; nil if it cannot be read.
func readImageFile(rootfs, name string) []byte {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return b
}

// startError is how containerd reports a container that could not start: exit code 128,
// reason StartError (internal/cri/server/helpers.go).
func startError(err error, id string) *api.ContainerStateTerminated {
	return &api.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: err.Error(), FinishedAt: api.Time{Time: time.Now()}, ContainerID: "minipod://" + id}
}

// exited records an instance's exit as the kubelet reports it, with containerd's reasons and
// the termination message, and returns the terminated state.
func (w *worker) exited(inst *container.Instance, st container.State) *api.ContainerStateTerminated {
	t := &api.ContainerStateTerminated{
		ExitCode:  st.Exit.Code,
		Signal:    st.Exit.Signal,
		StartedAt: api.NewTime(st.StartedAt),
		// Sub-second precision is kept for the back-off arithmetic; JSON shows seconds.
		FinishedAt: api.Time{Time: st.FinishedAt},
	}
	switch {
	case st.Exit.OOMKilled:
		t.Reason = "OOMKilled"
	case t.ExitCode == 0:
		t.Reason = "Completed"
	default:
		t.Reason = "Error"
	}
	t.Message = terminationMessage(w.c, terminationLogPath(sandbox.InstancePaths(w.m.rec, inst.ID())), st.LogPath, t.ExitCode,
		len(w.m.pod.Spec.Containers)+len(w.m.pod.Spec.InitContainers))
	w.setTerminated(t, st.Attempt)
	return t
}

// killGrace is the grace period of a kill that is not the pod's termination: a probe's own
// terminationGracePeriodSeconds, else the pod's (setTerminationGracePeriod,
// pkg/kubelet/kuberuntime/kuberuntime_container.go).
func (w *worker) killGrace(p *api.Probe) time.Duration {
	if p != nil && p.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	return w.m.podGracePeriod()
}

// kill stops one instance the kubelet's way (killContainer): a Killing event, the preStop
// hook, the stop signal, SIGKILL when the grace period ends. ordered makes a sidecar wait
// for its turn (after every regular container and the sidecars after it) before its stop
// signal. kill returns once the stop signal is sent.
func (w *worker) kill(inst *container.Instance, msg string, grace time.Duration, ordered bool) {
	m := w.m
	deadline := time.Now().Add(grace)
	m.mu.Lock()
	if w.killing || w.inst != inst && w.inst != nil {
		m.mu.Unlock()
		return
	}
	w.killing = true
	m.mu.Unlock()
	w.event(api.EventNormal, "Killing", msg)
	// SIGKILL at the end of the grace period, whatever happens before.
	timer := time.AfterFunc(grace, func() { inst.Signal(unix.SIGKILL) })
	go func() {
		<-inst.Exited()
		timer.Stop()
	}()
	if h := w.c.Lifecycle; h != nil && h.PreStop != nil && grace > 0 && inst.State().Status == container.Running {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		if msg, err := w.runHook(ctx, inst, h.PreStop); err != nil {
			w.event(api.EventWarning, "FailedPreStopHook", "PreStopHook failed")
			m.log.Info("preStop hook failed", "container", w.c.Name, "err", msg)
		}
		cancel()
	}
	if ordered && w.kind == sidecar {
		m.waitExit(w.myTurnLocked, deadline)
	}
	inst.Signal(w.stopSignal)
}

// myTurnLocked reports whether a sidecar may be stopped: every regular container and every
// sidecar after it has exited (newTerminationOrdering,
// pkg/kubelet/kuberuntime/kuberuntime_termination_order.go).
func (w *worker) myTurnLocked() bool {
	for _, o := range w.m.regulars {
		if o.inst != nil {
			return false
		}
	}
	after := false
	for _, o := range w.m.inits {
		if after && o.inst != nil {
			return false
		}
		after = after || o == w
	}
	return true
}
