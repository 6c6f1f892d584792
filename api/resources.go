package api

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Resource names (core/v1 ResourceName).
const (
	ResourceCPU              = "cpu"
	ResourceMemory           = "memory"
	ResourceEphemeralStorage = "ephemeral-storage"
	ResourcePods             = "pods"
	// ResourceHugePagesPrefix starts the name of a huge page size, e.g. hugepages-2Mi.
	ResourceHugePagesPrefix = "hugepages-"
)

// ResourceList maps a resource name to a quantity, like core/v1 ResourceList.
type ResourceList map[string]resource.Quantity

// ResourceRequirements are a container's (or, at pod level, the pod's) requests and limits.
// claims (dynamic resource allocation) need an API server: they stay unsupported.
type ResourceRequirements struct {
	Limits   ResourceList `json:"limits,omitempty"`
	Requests ResourceList `json:"requests,omitempty"`
}

// ResourceResizeRestartPolicy says whether resizing a resource restarts the container.
type ResourceResizeRestartPolicy string

const (
	ResizeRestartPolicyNotRequired      ResourceResizeRestartPolicy = "NotRequired"
	ResizeRestartPolicyRestartContainer ResourceResizeRestartPolicy = "RestartContainer"
)

// ContainerResizePolicy is accepted and validated; minipod has no in-place resize (nothing
// can change a running pod's spec), so it never applies.
type ContainerResizePolicy struct {
	ResourceName  string                      `json:"resourceName"`
	RestartPolicy ResourceResizeRestartPolicy `json:"restartPolicy"`
}

// PodQOSClass is the pod's quality of service class (status.qosClass).
type PodQOSClass string

const (
	PodQOSGuaranteed PodQOSClass = "Guaranteed"
	PodQOSBurstable  PodQOSClass = "Burstable"
	PodQOSBestEffort PodQOSClass = "BestEffort"
)

// Quantity returns the quantity of a resource; zero if absent.
func (l ResourceList) Quantity(name string) resource.Quantity {
	return l[name]
}

// MilliValue returns a resource in thousandths (millicores for cpu); 0 if absent.
func (l ResourceList) MilliValue(name string) int64 {
	q := l[name]
	return q.MilliValue()
}

// Value returns a resource in whole units (bytes for memory), rounded up; 0 if absent.
func (l ResourceList) Value(name string) int64 {
	q := l[name]
	return q.Value()
}

func (l ResourceList) isZero(name string) bool {
	q := l[name]
	return q.IsZero()
}

// IsHugePageResourceName reports whether name is a huge page size (hugepages-<size>).
func IsHugePageResourceName(name string) bool {
	return strings.HasPrefix(name, ResourceHugePagesPrefix)
}

// IsSupportedPodLevelResource reports whether spec.resources may name the resource
// (k8s.io/component-helpers/resource IsSupportedPodLevelResource).
func IsSupportedPodLevelResource(name string) bool {
	return name == ResourceCPU || name == ResourceMemory || IsHugePageResourceName(name)
}

// IsPodLevelResourcesSet reports whether spec.resources sets a supported resource
// (component-helpers/resource IsPodLevelResourcesSet).
func IsPodLevelResourcesSet(s *PodSpec) bool {
	return IsPodLevelRequestsSet(s) || IsPodLevelLimitsSet(s)
}

// IsPodLevelRequestsSet reports whether spec.resources.requests sets a supported resource.
func IsPodLevelRequestsSet(s *PodSpec) bool {
	return s.Resources != nil && hasSupportedPodLevel(s.Resources.Requests)
}

// IsPodLevelLimitsSet reports whether spec.resources.limits sets a supported resource.
func IsPodLevelLimitsSet(s *PodSpec) bool {
	return s.Resources != nil && hasSupportedPodLevel(s.Resources.Limits)
}

func hasSupportedPodLevel(l ResourceList) bool {
	for name := range l {
		if IsSupportedPodLevelResource(name) {
			return true
		}
	}
	return false
}

// addResourceList adds each quantity of add to l.
func addResourceList(l, add ResourceList) {
	for name, q := range add {
		v, ok := l[name]
		if !ok {
			l[name] = q.DeepCopy()
			continue
		}
		v.Add(q)
		l[name] = v
	}
}

// maxResourceList raises each quantity of l to the one in other where that is greater.
func maxResourceList(l, other ResourceList) {
	for name, q := range other {
		if v, ok := l[name]; !ok || q.Cmp(v) > 0 {
			l[name] = q.DeepCopy()
		}
	}
}

// aggregate sums the lists of the regular containers and the sidecars, and raises the sum
// to what each regular init container needs while it runs (its own list plus the sidecars
// started before it), as the kubelet and the scheduler size a pod
// (component-helpers/resource aggregateContainerResourcesByFn, KEP-753). each, if not nil,
// sees every regular container's list and every init container's effective list.
func aggregate(s *PodSpec, list func(*Container) ResourceList, each func(ResourceList)) ResourceList {
	result := ResourceList{}
	for i := range s.Containers {
		l := list(&s.Containers[i])
		if each != nil {
			each(l)
		}
		addResourceList(result, l)
	}
	sidecars, inits := ResourceList{}, ResourceList{}
	for i := range s.InitContainers {
		c := &s.InitContainers[i]
		l := list(c)
		if c.IsSidecar() {
			addResourceList(result, l)
			addResourceList(sidecars, l)
			l = sidecars
		} else {
			combined := ResourceList{}
			addResourceList(combined, l)
			addResourceList(combined, sidecars)
			l = combined
		}
		if each != nil {
			each(l)
		}
		maxResourceList(inits, l)
	}
	maxResourceList(result, inits)
	return result
}

func containerRequests(c *Container) ResourceList { return c.Resources.Requests }
func containerLimits(c *Container) ResourceList   { return c.Resources.Limits }

// AggregateContainerRequests is what the containers request together
// (component-helpers/resource AggregateContainerRequests): max(max init, sum regular).
func AggregateContainerRequests(s *PodSpec) ResourceList {
	return aggregate(s, containerRequests, nil)
}

// AggregateContainerLimits is the containers' limits together (AggregateContainerLimits).
func AggregateContainerLimits(s *PodSpec) ResourceList {
	return aggregate(s, containerLimits, nil)
}

// PodRequests is the pod's effective requests (component-helpers/resource PodRequests):
// the containers' aggregate, replaced resource by resource by pod-level requests. Pod
// overhead, set only by a RuntimeClass, does not exist here.
func PodRequests(s *PodSpec) ResourceList {
	reqs := AggregateContainerRequests(s)
	if IsPodLevelRequestsSet(s) {
		applyPodLevel(reqs, s.Resources.Requests)
	}
	return reqs
}

// PodLimits is the pod's effective limits (PodLimits). each, if not nil, sees every
// container's list as aggregate does (the kubelet's ContainerFn).
func PodLimits(s *PodSpec, each func(ResourceList)) ResourceList {
	limits := aggregate(s, containerLimits, each)
	if IsPodLevelResourcesSet(s) {
		applyPodLevel(limits, s.Resources.Limits)
	}
	return limits
}

func applyPodLevel(result, podLevel ResourceList) {
	for name, q := range podLevel {
		if IsSupportedPodLevelResource(name) {
			result[name] = q.DeepCopy()
		}
	}
}

// ComputePodQOS is the pod's QoS class as the kubelet and the API server compute it
// (pkg/apis/core/v1/helper/qos ComputePodQOS): from pod-level resources when set, else
// Burstable if any container is, BestEffort or Guaranteed if all containers agree, and
// Burstable when they do not.
func ComputePodQOS(s *PodSpec) PodQOSClass {
	if s.Resources != nil {
		return resourceQOS(s.Resources)
	}
	var qos PodQOSClass
	for _, list := range [][]Container{s.InitContainers, s.Containers} {
		for i := range list {
			switch c := resourceQOS(&list[i].Resources); {
			case c == PodQOSBurstable:
				return c
			case qos == "":
				qos = c
			case qos != c:
				return PodQOSBurstable
			}
		}
	}
	if qos == "" {
		qos = PodQOSBestEffort
	}
	return qos
}

// resourceQOS is the class of one set of requirements (qos.go resourceQOS): Guaranteed when
// cpu and memory requests equal their limits, BestEffort when neither is set, else Burstable.
func resourceQOS(r *ResourceRequirements) PodQOSClass {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return PodQOSBestEffort
	}
	var qos PodQOSClass
	for _, name := range []string{ResourceCPU, ResourceMemory} {
		req, lim := r.Requests.Quantity(name), r.Limits.Quantity(name)
		if !req.Equal(lim) {
			return PodQOSBurstable
		}
		bestEffort := req.IsZero() && lim.IsZero()
		switch {
		case qos == "" && bestEffort:
			qos = PodQOSBestEffort
		case qos == "":
			qos = PodQOSGuaranteed
		case bestEffort != (qos == PodQOSBestEffort):
			return PodQOSBurstable
		}
	}
	return qos
}

// GetPodQOS is the pod's recorded QoS class, else the computed one (qos GetPodQOS).
func GetPodQOS(p *Pod) PodQOSClass {
	if p.Status.QOSClass != "" {
		return p.Status.QOSClass
	}
	return ComputePodQOS(&p.Spec)
}
