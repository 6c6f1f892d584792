package ocispec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/resources"
)

// Host is what a container's resources depend on beyond the pod: the host's memory (for
// the OOM score) and its cgroups.
type Host struct {
	// MemoryCapacity is the host's memory in bytes (MemTotal).
	MemoryCapacity int64
	// OOMScoreAdjMin is the lowest oom_score_adj that may be given: this process's own when it
	// lacks CAP_SYS_RESOURCE (lowering it needs that), else -1000.
	OOMScoreAdjMin int
	// CgroupV2 is true on a cgroup v2 (unified) host.
	CgroupV2 bool
	// SwapController is true when the memory controller accounts swap (memory.memsw.* on v1,
	// memory.swap.max on v2).
	SwapController bool
}

// withResources places the container in its cgroup below the pod's and sets what the
// kubelet asks of containerd (kuberuntime_container_linux.go generateLinuxContainerResources,
// applied by containerd's WithResources):
//   - CPU shares from the request (at least 2), the 100 ms CFS period, and a quota from the
//     limit when there is one; on cgroup v2 libcontainer converts the shares to a weight;
//   - the memory limit, with swap off for the container: memory+swap equal to the memory
//     limit (the kubelet's NoSwap, also containerd's default), and on cgroup v2
//     memory.swap.max 0, and memory.oom.group so that an OOM kill takes the whole container
//     (the kubelet's default singleProcessOOMKill false);
//   - the oom_score_adj of the pod's QoS class (pkg/kubelet/qos), never below what this
//     process may set (containerd's restrictOOMScoreAdj).
//
// libcontainer's cgroup manager applies linux.resources on v1 and v2 alike.
func withResources(s *specs.Spec, in *Input) error {
	s.Linux.CgroupsPath = in.Cgroup
	r := resources.ForContainer(&in.Pod.Spec, in.Container)
	shares, period := r.CPUShares, r.CPUPeriod
	lr := &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares, Period: &period}}
	if r.CPUQuota != 0 {
		quota := r.CPUQuota
		lr.CPU.Quota = &quota
	}
	if r.MemoryLimit != 0 {
		limit := r.MemoryLimit
		lr.Memory = &specs.LinuxMemory{Limit: &limit}
		if in.Host.SwapController {
			swap := limit
			lr.Memory.Swap = &swap
		}
	}
	if in.Host.CgroupV2 {
		lr.Unified = map[string]string{"memory.oom.group": "1"}
		if in.Host.SwapController {
			lr.Unified["memory.swap.max"] = "0"
		}
	}
	s.Linux.Resources = lr
	adj := max(resources.OOMScoreAdj(&in.Pod.Spec, in.Container, in.Host.MemoryCapacity), in.Host.OOMScoreAdjMin)
	s.Process.OOMScoreAdj = &adj
	return nil
}
