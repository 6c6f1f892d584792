// Package resources holds what the kubelet derives from a pod's requests and limits, as
// pure functions: the container and pod cgroup values (pkg/kubelet/cm,
// pkg/kubelet/kuberuntime), the OOM score adjustment (pkg/kubelet/qos), admission against
// what the host has left (pkg/kubelet/lifecycle, the scheduler's noderesources fit) and the
// local storage limits the eviction manager enforces (pkg/kubelet/eviction). The host's
// capacity is read in node.go; everything else takes its inputs as arguments.
package resources

import (
	"github.com/minipod/minipod/api"
)

// The kubelet's CFS constants (pkg/kubelet/cm/helpers_linux.go).
const (
	MinShares     = 2
	MaxShares     = 262144
	SharesPerCPU  = 1024
	MilliCPUToCPU = 1000
	// QuotaPeriod is the CFS period, 100 ms in microseconds.
	QuotaPeriod = 100000
	// MinQuotaPeriod is the smallest quota the kernel takes, 1 ms.
	MinQuotaPeriod = 1000
)

// MilliCPUToShares converts a CPU request to cpu.shares (cm.MilliCPUToShares): 1024 per CPU,
// at least 2 (the kernel's minimum, also for no request) and at most 262144.
func MilliCPUToShares(milliCPU int64) uint64 {
	if milliCPU == 0 {
		return MinShares
	}
	shares := milliCPU * SharesPerCPU / MilliCPUToCPU
	switch {
	case shares < MinShares:
		return MinShares
	case shares > MaxShares:
		return MaxShares
	}
	return uint64(shares)
}

// MilliCPUToQuota converts a CPU limit to a CFS quota over period microseconds
// (cm.MilliCPUToQuota): 0 (none) without a limit, at least 1 ms.
func MilliCPUToQuota(milliCPU, period int64) int64 {
	if milliCPU == 0 {
		return 0
	}
	return max(milliCPU*period/MilliCPUToCPU, MinQuotaPeriod)
}

// Container is what the kubelet asks the runtime to set on a container's cgroup
// (kuberuntime_container_linux.go generateLinuxContainerResources / calculateLinuxResources).
type Container struct {
	CPUShares uint64
	CPUQuota  int64  // microseconds per period; 0: no limit
	CPUPeriod uint64 // always the 100 ms period (the kubelet enforces CFS quotas)
	// MemoryLimit in bytes; 0: no limit.
	MemoryLimit int64
}

// ForContainer computes a container's cgroup values. A container without a limit of its own
// gets the pod-level one (getCPULimit, getMemoryLimit); without a CPU request, the shares
// follow the limit, as the kubelet does for pods the API server did not default.
func ForContainer(s *api.PodSpec, c *api.Container) Container {
	cpuLimit := c.Resources.Limits.MilliValue(api.ResourceCPU)
	memLimit := c.Resources.Limits.Value(api.ResourceMemory)
	if api.IsPodLevelResourcesSet(s) {
		if cpuLimit == 0 {
			cpuLimit = s.Resources.Limits.MilliValue(api.ResourceCPU)
		}
		if memLimit == 0 {
			memLimit = s.Resources.Limits.Value(api.ResourceMemory)
		}
	}
	shareBase := c.Resources.Requests.MilliValue(api.ResourceCPU)
	if _, ok := c.Resources.Requests[api.ResourceCPU]; !ok {
		shareBase = cpuLimit
	}
	return Container{
		CPUShares:   MilliCPUToShares(shareBase),
		CPUQuota:    MilliCPUToQuota(cpuLimit, QuotaPeriod),
		CPUPeriod:   QuotaPeriod,
		MemoryLimit: memLimit,
	}
}

// Pod is what the kubelet sets on a pod's cgroup; nil leaves a value alone (unlimited).
type Pod struct {
	CPUShares *uint64
	CPUQuota  *int64
	CPUPeriod *uint64
	Memory    *int64
}

// ForPod computes the pod cgroup's values as cm.ResourceConfigForPod does: shares from the
// pod's requests; a CPU quota and a memory limit from its limits when every container has
// one (or the pod level sets one), always for a Guaranteed pod; minimal shares and nothing
// else for a BestEffort pod.
func ForPod(s *api.PodSpec) Pod {
	reqs := api.PodRequests(s)
	cpuDeclared, memDeclared := true, true
	limits := api.PodLimits(s, func(l api.ResourceList) {
		if l.MilliValue(api.ResourceCPU) == 0 {
			cpuDeclared = false
		}
		if l.Value(api.ResourceMemory) == 0 {
			memDeclared = false
		}
	})
	if api.IsPodLevelResourcesSet(s) {
		if s.Resources.Limits.MilliValue(api.ResourceCPU) != 0 {
			cpuDeclared = true
		}
		if s.Resources.Limits.Value(api.ResourceMemory) != 0 {
			memDeclared = true
		}
	}
	shares := MilliCPUToShares(reqs.MilliValue(api.ResourceCPU))
	quota := MilliCPUToQuota(limits.MilliValue(api.ResourceCPU), QuotaPeriod)
	period := uint64(QuotaPeriod)
	memory := limits.Value(api.ResourceMemory)
	var p Pod
	switch api.ComputePodQOS(s) {
	case api.PodQOSGuaranteed:
		p = Pod{CPUShares: &shares, CPUQuota: &quota, CPUPeriod: &period, Memory: &memory}
	case api.PodQOSBurstable:
		p.CPUShares = &shares
		if cpuDeclared {
			p.CPUQuota, p.CPUPeriod = &quota, &period
		}
		if memDeclared {
			p.Memory = &memory
		}
	default:
		min := uint64(MinShares)
		p.CPUShares = &min
	}
	return p
}
