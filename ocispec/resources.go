package ocispec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/resources"
)

// withResources places the container in its cgroup below the pod's and sets what the
// kubelet asks of containerd (kuberuntime_container_linux.go generateLinuxContainerResources,
// applied by containerd's WithResources):
//   - CPU shares from the request (at least 2), and a quota over the 100 ms CFS period from
//     the limit when there is one; on cgroup v2 libcontainer converts the shares to a weight.
//     The kubelet sends the period also without a quota; a new cgroup has that period
//     already, and on cgroup v1 each write of cpu.cfs_period_us walks every CPU cgroup on
//     the host (tg_set_cfs_bandwidth's schedulability check), a cost that grows with the pods;
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
	shares := r.CPUShares
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	lr := s.Linux.Resources // a privileged container's device rules are there already
	lr.CPU = &specs.LinuxCPU{Shares: &shares}
	if r.CPUQuota != 0 {
		quota, period := r.CPUQuota, r.CPUPeriod
		lr.CPU.Quota, lr.CPU.Period = &quota, &period
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
	adj := max(resources.OOMScoreAdj(&in.Pod.Spec, in.Container, in.Host.MemoryCapacity), in.Host.OOMScoreAdjMin)
	s.Process.OOMScoreAdj = &adj
	return nil
}
