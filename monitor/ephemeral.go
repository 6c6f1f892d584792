package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/state"
)

// ephemeral is the kind of a container added to the running pod (kubectl debug): it runs
// once, never restarts, counts for neither the pod's phase nor its readiness, and is stopped
// with the pod, as the kubelet treats spec.ephemeralContainers.
const ephemeral = sidecar + 1

// ephemerals are the workers of the pod's ephemeral containers.
type ephemerals struct {
	workers []*worker      // in the order they were added; guarded by m.mu
	open    bool           // the pod's containers run: an added one starts; guarded by m.mu
	wg      sync.WaitGroup // workers started
}

// maxRecord bounds the pod's record once ephemeral containers are added: the API server's
// limit on a request, which a pod must fit in.
const maxRecord = api.MaxInputSize

// addEphemeral adds an ephemeral container to the pod as the API server's
// pods/ephemeralcontainers subresource and the kubelet's next sync do: the container is
// decoded and the updated pod validated (ValidatePodEphemeralContainersUpdate), recorded in
// the pod's record and status, and started once the pod runs (computePodActions starts every
// ephemeral container that has no status yet, even while init containers run). raw is a v1
// EphemeralContainer as JSON. It returns the pod as updated.
func (m *monitor) addEphemeral(raw json.RawMessage) (*api.Pod, error) {
	if len(raw) == 0 {
		return nil, monitorapi.Errorf(monitorapi.Invalid, "ephemeralContainer: Required value")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.pod
	idx := len(old.Spec.EphemeralContainers)
	ec, err := api.DecodeEphemeralContainer(raw, idx)
	if err != nil {
		return nil, invalid(&old, err)
	}
	updated := old
	updated.Spec.EphemeralContainers = append(slices.Clip(old.Spec.EphemeralContainers), *ec)
	if err := api.ValidateEphemeralContainersUpdate(&updated, &old); err != nil {
		return nil, invalid(&old, err)
	}
	// The record is the pod's spec on disk: whoever reads it later sees the container too.
	rec := *m.rec
	rec.Pod.Spec.EphemeralContainers = updated.Spec.EphemeralContainers
	b, err := json.Marshal(&rec)
	if err != nil {
		return nil, monitorapi.Errorf(monitorapi.Internal, "encode record: %v", err)
	}
	if len(b) > maxRecord {
		return nil, monitorapi.Errorf(monitorapi.Invalid, "spec.ephemeralContainers: Too long: the pod would be larger than %d bytes", maxRecord)
	}
	if err := atomicfile.Write(filepath.Join(m.dir, state.RecordFile), b, 0o600); err != nil {
		return nil, monitorapi.Errorf(monitorapi.Internal, "record ephemeral container: %v", err)
	}
	m.pod.Spec.EphemeralContainers = updated.Spec.EphemeralContainers
	c := ec.Container
	w := newWorker(m, &c, ephemeral, idx)
	w.field = fmt.Sprintf("spec.ephemeralContainers[%d]", idx)
	w.ref = fmt.Sprintf("spec.ephemeralContainers{%s}", c.Name)
	w.target = ec.TargetContainerName
	m.eph.workers = append(m.eph.workers, w)
	m.log.Info("ephemeral container added", "container", c.Name, "target", w.target)
	if m.eph.open && !m.stopping {
		m.startEphemeralLocked(w)
	}
	m.updateLocked()
	pod := m.pod
	return &pod, nil
}

// invalid is an Invalid reply for the pod, with the fields at fault as its causes.
func invalid(p *api.Pod, err error) error {
	var ie *api.InvalidError
	if !errors.As(err, &ie) {
		return monitorapi.Errorf(monitorapi.Invalid, "%v", err)
	}
	e := monitorapi.Errorf(monitorapi.Invalid, "The Pod %q is invalid: %v", p.Metadata.Name, strings.ReplaceAll(ie.Error(), "\n", ", "))
	for _, fe := range ie.Errs {
		e.Causes = append(e.Causes, monitorapi.Cause{Field: fe.Field, Message: fe.Detail})
	}
	return e
}

// openEphemeralLocked lets ephemeral containers start, those added already too: the pod's
// containers are about to run.
func (m *monitor) openEphemeralLocked() {
	m.eph.open = true
	for _, w := range m.eph.workers {
		m.startEphemeralLocked(w)
	}
}

func (m *monitor) startEphemeralLocked(w *worker) {
	m.eph.wg.Add(1) // under m.mu, before the pod stops: never after waitEphemeral began
	go func() {
		defer m.eph.wg.Done()
		w.run()
	}()
}

// waitEphemeral waits until every ephemeral container has finished; call it once the pod
// is stopping, when none starts any more.
func (m *monitor) waitEphemeral() { m.eph.wg.Wait() }

// ephemeralStatusesLocked returns the statuses of the ephemeral containers sorted by name, as
// convertToAPIContainerStatuses sorts them, without what the prober manager sets only for
// regular and init containers: they are never ready and have no started field.
func (m *monitor) ephemeralStatusesLocked() []api.ContainerStatus {
	if len(m.eph.workers) == 0 {
		return nil
	}
	out := make([]api.ContainerStatus, 0, len(m.eph.workers))
	for _, w := range m.eph.workers {
		cs := w.status
		cs.Started, cs.Ready = nil, false
		out = append(out, cs)
	}
	slices.SortFunc(out, func(a, b api.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// allWorkersLocked returns the workers of every container of the pod: init containers and
// sidecars, regular containers, then ephemeral ones.
func (m *monitor) allWorkersLocked() []*worker {
	out := make([]*worker, 0, len(m.inits)+len(m.regulars)+len(m.eph.workers))
	return append(append(append(out, m.inits...), m.regulars...), m.eph.workers...)
}

// ephemeralWorker finds an ephemeral container's worker by name.
func (m *monitor) ephemeralWorker(name string) *worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.eph.workers {
		if w.c.Name == name {
			return w
		}
	}
	return nil
}

// targetPIDNS is the PID namespace an ephemeral container with a targetContainerName joins:
// its target's current instance's, by /proc/<pid>/ns/pid, as containerd does for the
// kubelet's NamespaceMode TARGET; "" when it has none, or when the pod's PID mode (shared or
// the host's) wins over the target, as in generateLinuxContainerConfig. A target that has
// no instance yet is the kubelet's CreateContainerConfigError (startSpec.getTargetID: "unable
// to find target container"); one that does not run, containerd's CreateContainerError
// (validateTargetContainer). Both are tried again after the back-off.
func (w *worker) targetPIDNS() (string, error) {
	spec := &w.m.pod.Spec
	if w.target == "" || spec.HostPID || (spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace) {
		return "", nil
	}
	var t *worker
	for _, o := range append(append([]*worker{}, w.m.inits...), w.m.regulars...) {
		if o.c.Name == w.target {
			t = o
		}
	}
	if t == nil {
		return "", &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerConfigError, Message: "unable to find target container " + w.target}
	}
	w.m.mu.Lock()
	inst, id := t.inst, strings.TrimPrefix(t.status.ContainerID, "minipod://")
	w.m.mu.Unlock()
	if inst == nil && id == "" {
		return "", &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerConfigError, Message: "unable to find target container " + w.target}
	}
	st := container.State{Status: container.Exited}
	if inst != nil {
		st = inst.State()
	}
	if st.Status != container.Running || st.Pid <= 0 {
		state := "CONTAINER_EXITED"
		if st.Status == container.Created {
			state = "CONTAINER_CREATED"
		}
		return "", &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
			Message: fmt.Sprintf("invalid target container: container %q is not running - in state %s", id, state)}
	}
	return fmt.Sprintf("/proc/%d/ns/pid", st.Pid), nil
}
