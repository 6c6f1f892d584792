package phase

import (
	"fmt"
	"strings"
	"time"

	"github.com/minipod/minipod/api"
)

// Condition reasons, from pkg/kubelet/status/generate.go.
const (
	ReasonPodCompleted             = "PodCompleted"
	ReasonPodFailed                = "PodFailed"
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonContainersNotInitialized = "ContainersNotInitialized"
	ReasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
	// ReasonSchedulingGated and its message are the API server's for a pod with scheduling
	// gates (pkg/registry/core/pod/strategy.go applySchedulingGatedCondition).
	ReasonSchedulingGated  = "SchedulingGated"
	MessageSchedulingGated = "Scheduling is blocked due to non-empty scheduling gates"
)

// kubeletOwned are the conditions the kubelet writes (pkg/kubelet/status kubetypes
// PodConditionsByKubelet); any other condition of the pod is kept as it is, first.
var kubeletOwned = map[api.PodConditionType]bool{
	api.PodScheduled: true, api.PodReady: true, api.PodInitialized: true, api.ContainersReady: true, api.PodReadyToStartContainers: true,
}

// Conditions returns the kubelet-owned pod conditions in the order generateAPIPodStatus
// (pkg/kubelet/kubelet_pods.go) appends them: PodReadyToStartContainers, Initialized, Ready,
// ContainersReady, PodScheduled.
//
// lastTransitionTime is kept from the condition of the same type in prev when its status is
// unchanged, else set to now (updateLastTransitionTime, pkg/kubelet/status/status_manager.go);
// a change of reason or message alone is not a transition.
//
// A pod with scheduling gates is never scheduled, so no kubelet sees it: its only condition
// is PodScheduled False, reason SchedulingGated.
func Conditions(prev []api.PodCondition, spec *api.PodSpec, initStatuses, statuses []api.ContainerStatus, phase api.PodPhase, sandboxReady bool, now time.Time) []api.PodCondition {
	var conds []api.PodCondition
	for _, c := range prev {
		if !kubeletOwned[c.Type] {
			conds = append(conds, c)
		}
	}
	if len(spec.SchedulingGates) > 0 {
		conds = append(conds, api.PodCondition{Type: api.PodScheduled, Status: api.ConditionFalse, Reason: ReasonSchedulingGated, Message: MessageSchedulingGated})
	} else {
		containersReady := containersReadyCondition(spec, initStatuses, statuses, phase)
		conds = append(conds,
			api.PodCondition{Type: api.PodReadyToStartContainers, Status: boolStatus(sandboxReady)},
			initializedCondition(spec, initStatuses, statuses, phase),
			readyCondition(containersReady, spec, prev),
			containersReady,
			api.PodCondition{Type: api.PodScheduled, Status: api.ConditionTrue},
		)
	}
	for i := range conds {
		if !kubeletOwned[conds[i].Type] {
			continue
		}
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

// initializedCondition ports GeneratePodInitializedCondition: True once every init container
// is initialized (a regular one exited 0, a sidecar started), or once a regular container
// runs or ran; with reason PodCompleted once the pod has Succeeded.
func initializedCondition(spec *api.PodSpec, initStatuses, statuses []api.ContainerStatus, phase api.PodPhase) api.PodCondition {
	c := api.PodCondition{Type: api.PodInitialized, Status: api.ConditionTrue}
	var unknown, incomplete []string
	for i := range spec.InitContainers {
		ic := &spec.InitContainers[i]
		st := find(initStatuses, ic.Name)
		switch {
		case st == nil:
			unknown = append(unknown, ic.Name)
		case ic.IsSidecar() && (st.Started == nil || !*st.Started), !ic.IsSidecar() && !st.Ready:
			incomplete = append(incomplete, ic.Name)
		}
	}
	if phase == api.PodSucceeded && len(unknown) == 0 {
		c.Reason = ReasonPodCompleted
		return c
	}
	if anyRegularStarted(spec, statuses) {
		return c
	}
	if msg := listMessage(unknown, "unknown", incomplete, "incomplete"); msg != "" {
		c.Status, c.Reason, c.Message = api.ConditionFalse, ReasonContainersNotInitialized, msg
	}
	return c
}

// anyRegularStarted is HasAnyRegularContainerStarted: a regular container runs or ran.
func anyRegularStarted(spec *api.PodSpec, statuses []api.ContainerStatus) bool {
	for i := range spec.Containers {
		if st := find(statuses, spec.Containers[i].Name); st != nil && (st.State.Running != nil || st.State.Terminated != nil) {
			return true
		}
	}
	return false
}

// containersReadyCondition ports GenerateContainersReadyCondition: every sidecar and every
// regular container must be ready.
func containersReadyCondition(spec *api.PodSpec, initStatuses, statuses []api.ContainerStatus, phase api.PodPhase) api.PodCondition {
	c := api.PodCondition{Type: api.ContainersReady, Status: api.ConditionFalse}
	var unknown, unready []string
	check := func(name string, list []api.ContainerStatus) {
		if st := find(list, name); st == nil {
			unknown = append(unknown, name)
		} else if !st.Ready {
			unready = append(unready, name)
		}
	}
	for i := range spec.InitContainers {
		if spec.InitContainers[i].IsSidecar() {
			check(spec.InitContainers[i].Name, initStatuses)
		}
	}
	for i := range spec.Containers {
		check(spec.Containers[i].Name, statuses)
	}
	// Terminal pods are never ready; the kubelet says why instead of listing containers.
	if phase == api.PodSucceeded && len(unknown) == 0 {
		c.Reason = ReasonPodCompleted
		return c
	}
	if phase == api.PodFailed {
		c.Reason = ReasonPodFailed
		return c
	}
	if msg := listMessage(unknown, "unknown", unready, "unready"); msg != "" {
		c.Reason, c.Message = ReasonContainersNotReady, msg
		return c
	}
	c.Status = api.ConditionTrue
	return c
}

// listMessage is the kubelet's "containers with unknown status: [a], containers with
// unready status: [b]"; %s of a []string prints "[a b]".
func listMessage(first []string, firstWhat string, second []string, secondWhat string) string {
	var msgs []string
	if len(first) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with %s status: %s", firstWhat, first))
	}
	if len(second) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with %s status: %s", secondWhat, second))
	}
	return strings.Join(msgs, ", ")
}

// readyCondition ports GeneratePodReadyCondition: Ready copies ContainersReady's status,
// reason and message unless that is True; then every readiness gate's condition (among the
// pod's conditions) must be True too.
func readyCondition(containersReady api.PodCondition, spec *api.PodSpec, conditions []api.PodCondition) api.PodCondition {
	c := containersReady
	c.Type = api.PodReady
	if c.Status != api.ConditionTrue {
		return c
	}
	var unready []string
	for _, g := range spec.ReadinessGates {
		var gc *api.PodCondition
		for i := range conditions {
			if conditions[i].Type == g.ConditionType {
				gc = &conditions[i]
				break
			}
		}
		switch {
		case gc == nil:
			unready = append(unready, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case gc.Status != api.ConditionTrue:
			unready = append(unready, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, gc.Status))
		}
	}
	if len(unready) > 0 {
		return api.PodCondition{Type: api.PodReady, Status: api.ConditionFalse, Reason: ReasonReadinessGatesNotReady, Message: strings.Join(unready, ", ")}
	}
	return api.PodCondition{Type: api.PodReady, Status: api.ConditionTrue}
}

func boolStatus(b bool) api.ConditionStatus {
	if b {
		return api.ConditionTrue
	}
	return api.ConditionFalse
}
