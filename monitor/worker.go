package monitor

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/sandbox"
	"github.com/minipod/minipod/volume"
)

// kind is what a container is to the pod: an init container that runs to completion, a
// sidecar (an init container with restartPolicy Always) or a regular container.
type kind int

const (
	regular kind = iota
	initContainer
	sidecar
)

// worker supervises one container of the pod for the pod's whole life: it pulls the image,
// creates and starts an instance, waits for it to exit, records the exit and starts the next
// attempt when the policy says so.
type worker struct {
	m     *monitor
	c     *api.Container
	kind  kind
	field string // the container's path in the pod, e.g. "spec.containers[1]"

	// Guarded by m.mu.
	status     api.ContainerStatus
	inst       *container.Instance // the current attempt, created or running
	stopSignal unix.Signal
}

func newWorker(m *monitor, c *api.Container, k kind, index int) *worker {
	w := &worker{m: m, c: c, kind: k, field: fmt.Sprintf("spec.containers[%d]", index)}
	if k != regular {
		w.field = fmt.Sprintf("spec.initContainers[%d]", index)
	}
	w.status = api.ContainerStatus{
		Name:    c.Name,
		Image:   c.Image,
		State:   api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "ContainerCreating"}},
		Started: new(bool),
	}
	return w
}

// run supervises the container until it has finished for good. started is called once the
// container ran or failed to start for the first time.
func (w *worker) run(started func()) {
	defer started()
	for attempt := int32(0); ; attempt++ {
		img := w.pullImage()
		if img == nil {
			return
		}
		term := w.runOnce(img, attempt, started)
		if term == nil || !w.shouldRestart(term.ExitCode) {
			return
		}
		if !w.backOff(term.FinishedAt.Time) {
			return
		}
	}
}

// shouldRestart applies restartPolicy to an exit (pkg/kubelet/container/helpers.go ShouldContainerBeRestarted).
func (w *worker) shouldRestart(exitCode int32) bool {
	if w.m.isStopping() {
		return false
	}
	switch w.m.pod.Spec.RestartPolicy {
	case api.RestartPolicyNever:
		return false
	case api.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// backOff waits out the crash-loop back-off before the next attempt; false if the pod
// stopped meanwhile.
func (w *worker) backOff(finished time.Time) bool {
	m, name := w.m, w.c.Name
	if wait := m.crashes.Remaining(name, finished, time.Now()); wait > 0 {
		// The kubelet's message (pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff).
		w.setWaiting("CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
			m.crashes.Get(name), name, m.pod.Metadata.Name, m.pod.Metadata.Namespace, m.pod.Metadata.UID))
		select {
		case <-time.After(wait):
		case <-m.stopc:
			return false
		}
	}
	m.crashes.Next(name, time.Now())
	return true
}

// runOnce runs one attempt of the container to its exit and returns how it ended, or nil if
// the pod began stopping before the container started. started is called once the container
// runs or failed to start.
func (w *worker) runOnce(img *image.Image, attempt int32, started func()) *api.ContainerStateTerminated {
	m := w.m
	if !m.waitSandbox() {
		return nil
	}
	begin := time.Now()
	inst, err := w.create(img, attempt)
	if err == nil {
		if err = inst.Start(); err != nil {
			inst.Delete()
		}
	}
	if err != nil {
		term := startError(err)
		w.setTerminated(term)
		started()
		return term
	}
	m.log.Info("started", "container", w.c.Name, "took", time.Since(begin))
	w.setRunning(inst, attempt)
	started()
	st := inst.Wait()
	term := terminatedState(st)
	w.setTerminated(term)
	if err := inst.Delete(); err != nil {
		m.log.Error("delete container", "container", w.c.Name, "err", err)
	}
	return term
}

// create creates an instance of the container on a fresh copy-on-write root filesystem.
func (w *worker) create(img *image.Image, attempt int32) (*container.Instance, error) {
	m, rec := w.m, w.m.rec
	volumes, err := volume.Mounts(w.c, w.field, m.sb.Volumes)
	if err != nil {
		return nil, err
	}
	imgCfg := ocispec.ImageConfig(img.Config)
	w.stopSignal = ocispec.StopSignal(imgCfg)
	id := rec.ContainerID(w.c.Name, attempt)
	return container.Create(container.Config{
		Paths:   sandbox.InstancePaths(rec, id),
		ID:      id,
		Name:    w.c.Name,
		Attempt: attempt,
		Layers:  img.Layers,
		LogPath: rec.LogFile(w.c.Name, attempt),
		Spec: func(rootfs string) (*specs.Spec, error) {
			return ocispec.Generate(&ocispec.Input{
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
			})
		},
	})
}

// readImageFile reads a file of the container's root filesystem, resolving symlinks inside
// it; nil if it cannot be read.
func readImageFile(rootfs, name string) []byte {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Clean(p))
	if err != nil {
		return nil
	}
	return b
}

// startError is how containerd reports a container that could not start: exit code 128,
// reason StartError (internal/cri/server/helpers.go).
func startError(err error) *api.ContainerStateTerminated {
	return &api.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: err.Error(), FinishedAt: api.Time{Time: time.Now()}}
}

// terminatedState is the kubelet's view of an exited instance, with containerd's reasons.
func terminatedState(st container.State) *api.ContainerStateTerminated {
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
	return t
}

// setWaiting, setRunning and setTerminated record state changes the way the kubelet reports
// them, and write the status file.
func (w *worker) setWaiting(reason, msg string) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := &w.status
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	cs.State = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason, Message: msg}}
	m.updateLocked()
}

func (w *worker) setRunning(inst *container.Instance, attempt int32) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := &w.status
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	cs.State = api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: api.NewTime(inst.State().StartedAt)}}
	cs.RestartCount = attempt
	cs.ContainerID = "minipod://" + inst.ID()
	t := true
	cs.Started = &t
	// Without a readiness probe a running container is ready.
	cs.Ready = true
	w.inst = inst
	switch {
	case m.killNow:
		inst.Signal(unix.SIGKILL)
	case m.stopping:
		inst.Signal(w.stopSignal)
	}
	m.updateLocked()
}

func (w *worker) setTerminated(t *api.ContainerStateTerminated) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	w.inst = nil
	cs := &w.status
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
