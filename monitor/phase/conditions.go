package phase

import (
	"fmt"
	"time"

	"github.com/minipod/minipod/api"
)

// Condition reasons, from pkg/kubelet/status/generate.go.
const (
	ReasonPodCompleted       = "PodCompleted"
	ReasonPodFailed          = "PodFailed"
	ReasonContainersNotReady = "ContainersNotReady"
)

// Conditions returns the kubelet-owned pod conditions in the order generateAPIPodStatus
// (pkg/kubelet/kubelet_pods.go) appends them: PodReadyToStartContainers, Initialized, Ready,
// ContainersReady, PodScheduled.
//
// lastTransitionTime is kept from the condition of the same type in prev when its status is
// unchanged, else set to now (updateLastTransitionTime, pkg/kubelet/status/status_manager.go);
// a change of reason or message alone is not a transition.
func Conditions(prev []api.PodCondition, spec *api.PodSpec, statuses []api.ContainerStatus, phase api.PodPhase, sandboxReady bool, now time.Time) []api.PodCondition {
	containersReady := containersReadyCondition(spec, statuses, phase)
	conds := []api.PodCondition{
		{Type: api.PodReadyToStartContainers, Status: boolStatus(sandboxReady)},
		initializedCondition(phase),
		readyCondition(containersReady),
		containersReady,
		{Type: api.PodScheduled, Status: api.ConditionTrue},
	}
	for i := range conds {
		conds[i].LastTransitionTime = api.NewTime(now)
		for _, p := range prev {
			if p.Type == conds[i].Type && p.Status == conds[i].Status {
				conds[i].LastTransitionTime = p.LastTransitionTime
				break
			}
		}
	}
	return conds
}

// initializedCondition ports GeneratePodInitializedCondition for a pod without init
// containers: always True, with reason PodCompleted once the pod has Succeeded ("all init
// containers are known and succeeded" holds vacuously).
func initializedCondition(phase api.PodPhase) api.PodCondition {
	c := api.PodCondition{Type: api.PodInitialized, Status: api.ConditionTrue}
	if phase == api.PodSucceeded {
		c.Reason = ReasonPodCompleted
	}
	return c
}

// containersReadyCondition ports GenerateContainersReadyCondition. A container without a
// status counts as unready, not unknown, because the kubelet always has a (Waiting) status for
// every spec container by the time it generates conditions.
func containersReadyCondition(spec *api.PodSpec, statuses []api.ContainerStatus, phase api.PodPhase) api.PodCondition {
	c := api.PodCondition{Type: api.ContainersReady, Status: api.ConditionFalse}
	// Terminal pods are never ready; the kubelet says why instead of listing containers
	// (generateContainersReadyConditionForTerminalPhase).
	switch phase {
	case api.PodSucceeded:
		c.Reason = ReasonPodCompleted
		return c
	case api.PodFailed:
		c.Reason = ReasonPodFailed
		return c
	}
	var unready []string
	for i := range spec.Containers {
		if st := find(statuses, spec.Containers[i].Name); st == nil || !st.Ready {
			unready = append(unready, spec.Containers[i].Name)
		}
	}
	if len(unready) > 0 {
		c.Reason = ReasonContainersNotReady
		// %s of a []string prints "[a b]", the kubelet's exact message.
		c.Message = fmt.Sprintf("containers with unready status: %s", unready)
		return c
	}
	c.Status = api.ConditionTrue
	return c
}

// readyCondition ports GeneratePodReadyCondition for a pod without readiness gates: Ready
// copies ContainersReady's status, reason and message.
func readyCondition(containersReady api.PodCondition) api.PodCondition {
	c := containersReady
	c.Type = api.PodReady
	return c
}

func boolStatus(b bool) api.ConditionStatus {
	if b {
		return api.ConditionTrue
	}
	return api.ConditionFalse
}
