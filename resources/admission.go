package resources

import (
	"fmt"
	"runtime"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

// DefaultMaxPods is the kubelet's default maxPods.
const DefaultMaxPods = 110

// Node is what the host offers pods, as a kubelet's Node status has it.
type Node struct {
	Capacity api.ResourceList
	// Allocatable is the capacity less what is reserved for the system
	// (--system-reserved), never below zero.
	Allocatable api.ResourceList
}

// NewNode computes allocatable from capacity and the reservation as the kubelet does
// (cm getNodeAllocatableAbsolute): capacity minus reserved, clamped at zero.
func NewNode(capacity, reserved api.ResourceList) Node {
	alloc := api.ResourceList{}
	for name, q := range capacity {
		v := q.DeepCopy()
		if r, ok := reserved[name]; ok {
			v.Sub(r)
		}
		if v.Sign() < 0 {
			v = *resource.NewQuantity(0, q.Format)
		}
		alloc[name] = v
	}
	return Node{Capacity: capacity, Allocatable: alloc}
}

// Rejection is why admission refused a pod: the kubelet's reason (OutOfcpu, OutOfmemory,
// ...) and message. The pod's status message is "Pod was rejected: " + Message.
type Rejection struct {
	Reason, Message string
}

// Admit checks that the pod fits what the node has left after the other pods (those that
// are not terminal), as the kubelet's predicate admission handler does
// (pkg/kubelet/lifecycle/predicate.go Admit with the scheduler's noderesources fitsRequest):
// the pod count, then cpu, memory and ephemeral-storage, each the pod's effective request
// (api.PodRequests) against allocatable minus the others' requests. It returns the first
// failure, as the kubelet reports only the first; nil if the pod fits.
func Admit(pod *api.Pod, node Node, others []*api.Pod) *Rejection {
	// The kubelet checks the OS first (rejectPodAdmissionBasedOnOSField, predicate.go).
	if os := pod.Spec.OS; os != nil && string(os.Name) != runtime.GOOS {
		return &Rejection{Reason: "PodOSNotSupported", Message: "Failed to admit pod as the OS field doesn't match node OS"}
	}
	maxPods := int64(DefaultMaxPods)
	if q, ok := node.Allocatable[api.ResourcePods]; ok {
		maxPods = q.Value()
	}
	if int64(len(others))+1 > maxPods {
		return insufficient(api.ResourcePods, 1, int64(len(others)), maxPods)
	}
	req := api.PodRequests(&pod.Spec)
	used := api.ResourceList{}
	for _, o := range others {
		for name, q := range api.PodRequests(&o.Spec) {
			v := used[name]
			v.Add(q)
			used[name] = v
		}
	}
	for _, r := range []struct {
		name  string
		value func(api.ResourceList, string) int64
	}{
		{api.ResourceCPU, api.ResourceList.MilliValue},
		{api.ResourceMemory, api.ResourceList.Value},
		{api.ResourceEphemeralStorage, api.ResourceList.Value},
	} {
		want, have, alloc := r.value(req, r.name), r.value(used, r.name), r.value(node.Allocatable, r.name)
		if want > 0 && want > alloc-have {
			return insufficient(r.name, want, have, alloc)
		}
	}
	return nil
}

// insufficient is the kubelet's InsufficientResourceError with its reason (OutOf<name>).
func insufficient(name string, requested, used, capacity int64) *Rejection {
	return &Rejection{
		Reason:  "OutOf" + name,
		Message: fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, requested, used, capacity),
	}
}
