package pods

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/resources"
	"github.com/minipod/minipod/state"
)

// admissionLockFile, in the state dir, serializes admissions: a pod is admitted and
// recorded (so that the next admission counts it) before another is considered, and two
// concurrent creates cannot both take the same free resources.
const admissionLockFile = "admission.lock"

// RejectedError is Create's error for a pod that admission refused. The pod is recorded with
// phase Failed and the kubelet's reason and message; nothing else of it was created.
type RejectedError struct {
	Handle *Handle
	Pod    *api.Pod // as recorded, with its status
}

func (e *RejectedError) Error() string {
	m := e.Pod.Metadata
	return fmt.Sprintf("pod %s/%s: %s: %s", m.Namespace, m.Name, e.Pod.Status.Reason, e.Pod.Status.Message)
}

// lockAdmission takes the host's admission lock.
func lockAdmission(cfg state.Config) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(cfg.StateDir, admissionLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("admission lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("admission lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// admit is the kubelet's resource admission of a new pod (resources.Admit) against the
// host's capacity less --reserved and the pods that may still hold resources. nil: admitted.
func admit(cfg state.Config, pod *api.Pod) (*resources.Rejection, error) {
	entries, err := os.ReadDir(cfg.PodsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	maxPods := cfg.MaxPods
	if maxPods <= 0 {
		maxPods = resources.DefaultMaxPods
	}
	if pod.Spec.OS == nil && len(api.PodRequests(&pod.Spec)) == 0 && len(entries) < maxPods {
		return nil, nil // only the pod count could refuse it, and there is room
	}
	var others []*api.Pod
	for _, e := range entries {
		dir := filepath.Join(cfg.PodsDir(), e.Name())
		p, err := state.ReadStatus(dir)
		if err != nil || !holdsResources(dir, p) {
			continue // being removed, or finished for good
		}
		others = append(others, p)
	}
	capacity, err := resources.HostCapacity(cfg.Root)
	if err != nil {
		return nil, err
	}
	// The node's pod capacity is the kubelet's --max-pods (nodestatus MachineInfo).
	capacity[api.ResourcePods] = *resource.NewQuantity(int64(maxPods), resource.DecimalSI)
	return resources.Admit(pod, resources.NewNode(capacity, cfg.Reserved), others), nil
}

// holdsResources reports whether a pod counts against what the host has left, as the
// kubelet's filterOutInactivePods decides: every pod but a terminal one whose containers are
// all gone (torn down, or its monitor has ended).
func holdsResources(dir string, p *api.Pod) bool {
	if state.TornDown(dir) {
		return false
	}
	terminal := p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed
	return !terminal || state.MonitorAlive(dir)
}

// rejectedStatus is what the kubelet's rejectPod records: phase Failed, its reason, and
// "Pod was rejected: " before its message.
func rejectedStatus(p *api.Pod, r *resources.Rejection) api.PodStatus {
	now := api.NewTime(time.Now())
	return api.PodStatus{
		Phase:     api.PodFailed,
		Reason:    r.Reason,
		Message:   "Pod was rejected: " + r.Message,
		StartTime: &now,
		QOSClass:  p.Status.QOSClass,
	}
}

// recordRejection writes the kubelet's Warning event for a rejected pod, and marks the pod
// as holding nothing to release.
func recordRejection(dir string, r *resources.Rejection) error {
	e := api.Event{Time: api.MicroTime{Time: time.Now()}, Type: api.EventWarning, Reason: r.Reason, Message: r.Message}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, state.EventsFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, state.TornDownFile), nil, 0o644)
}
