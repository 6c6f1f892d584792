package resources

import "github.com/minipod/minipod/api"

// The kubelet's OOM score adjustments (pkg/kubelet/qos/policy.go).
const (
	guaranteedOOMScoreAdj = -997
	besteffortOOMScoreAdj = 1000
)

// OOMScoreAdj is a container's oom_score_adj as the kubelet computes it
// (qos.GetContainerOOMScoreAdjust, without the alpha tie-break): -997 for a Guaranteed pod,
// 1000 for a BestEffort one, and for a Burstable one 1000 minus the container's share of the
// host's memory in thousandths, kept within 3..999; a sidecar scores no higher than the
// regular container with the smallest request. memoryCapacity is the host's memory in bytes.
func OOMScoreAdj(s *api.PodSpec, c *api.Container, memoryCapacity int64) int {
	switch api.ComputePodQOS(s) {
	case api.PodQOSGuaranteed:
		return guaranteedOOMScoreAdj
	case api.PodQOSBestEffort:
		return besteffortOOMScoreAdj
	}
	if memoryCapacity <= 0 {
		return besteffortOOMScoreAdj - 1
	}
	req := c.Resources.Requests.Value(api.ResourceMemory)
	var remaining int64
	if api.IsPodLevelRequestsSet(s) {
		// Pod-level memory nobody requested is shared out equally (KEP-2837).
		remaining = remainingPodMemoryPerContainer(s)
	}
	adj := 1000 - 1000*(req+remaining)/memoryCapacity
	if c.IsSidecar() && isInitContainer(s, c.Name) && len(s.Containers) > 0 {
		minReq := s.Containers[0].Resources.Requests.Value(api.ResourceMemory)
		for i := range s.Containers[1:] {
			minReq = min(minReq, s.Containers[i+1].Resources.Requests.Value(api.ResourceMemory))
		}
		adj = min(adj, 1000-1000*(minReq+remaining)/memoryCapacity)
	}
	switch {
	case adj < 1000+guaranteedOOMScoreAdj:
		return 1000 + guaranteedOOMScoreAdj
	case adj == besteffortOOMScoreAdj:
		return besteffortOOMScoreAdj - 1
	}
	return int(adj)
}

func isInitContainer(s *api.PodSpec, name string) bool {
	for i := range s.InitContainers {
		if s.InitContainers[i].Name == name {
			return true
		}
	}
	return false
}

// remainingPodMemoryPerContainer is remainingPodMemReqPerContainer: the pod-level memory
// request beyond what the containers request, per container.
func remainingPodMemoryPerContainer(s *api.PodSpec) int64 {
	podReq := s.Resources.Requests.Value(api.ResourceMemory)
	if podReq == 0 {
		return 0
	}
	n := int64(len(s.Containers) + len(s.InitContainers))
	return (podReq - api.AggregateContainerRequests(s).Value(api.ResourceMemory)) / n
}
