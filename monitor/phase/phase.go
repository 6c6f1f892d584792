// Package phase computes a pod's phase and its kubelet-owned conditions exactly as the kubelet
// does: Phase ports getPhase (kubernetes pkg/kubelet/kubelet_pods.go), Next the "no transition
// out of a terminal phase" rule of generateAPIPodStatus (same file), and Conditions the
// generators of pkg/kubelet/status/generate.go plus the status manager's
// lastTransitionTime rule (pkg/kubelet/status/status_manager.go updateLastTransitionTime).
//
// The package is pure: it reads the spec and the container statuses and returns values.
package phase

import (
	"github.com/minipod/minipod/api"
)

// counts are getPhase's counters for the regular containers. getPhase's "unknown" counter has
// no counterpart (see Phase). Init containers, when minipod gains them, need a pass of their
// own whose pending and failed counts are checked before these, as getPhase does.
type counts struct {
	running   int
	waiting   int // waiting and never ran: no lastState.terminated
	stopped   int // terminated, or waiting to restart after a previous run
	succeeded int // stopped with exit code 0
}

// Phase ports the kubelet's getPhase (pkg/kubelet/kubelet_pods.go) for regular containers.
//
// statuses are matched to spec containers by name. A container with no status, or with a
// status whose state is empty, has not been created yet and counts as waiting: the kubelet
// never sees that case as "unknown" because its convertToAPIContainerStatuses reports every
// spec container without a runtime status as Waiting (ContainerCreating).
//
// terminating means the pod is being deleted or stopped (the kubelet's podIsTerminal): once
// all containers have stopped the restart policy is ignored, Succeeded only if every exit
// was 0, else Failed.
//
// Phase never returns Unknown: Unknown is for a pod whose status cannot be obtained.
func Phase(spec *api.PodSpec, statuses []api.ContainerStatus, terminating bool) api.PodPhase {
	c := countRegular(spec.Containers, statuses)

	switch {
	case c.waiting > 0:
		// One or more containers has not been started. (getPhase also returns Pending here
		// for a pending init container.)
		return api.PodPending
	case c.running > 0:
		// All containers have been started and at least one is running.
		return api.PodRunning
	case c.stopped > 0:
		if terminating {
			// Terminal: containers won't be restarted regardless of the restart policy.
			if c.stopped == c.succeeded {
				return api.PodSucceeded
			}
			return api.PodFailed
		}
		// getPhase's pre-ContainerRestartRules branch; with only a pod-level restart policy
		// the ContainerRestartRules branch (podutil.ContainerShouldRestart) gives the same
		// answers.
		policy := restartPolicy(spec)
		if policy == api.RestartPolicyAlways {
			// All containers are in the process of restarting.
			return api.PodRunning
		}
		if c.stopped == c.succeeded {
			return api.PodSucceeded
		}
		if policy == api.RestartPolicyNever {
			return api.PodFailed
		}
		// OnFailure with at least one failure: it is restarting.
		return api.PodRunning
	default:
		// No containers at all: getPhase's default case.
		return api.PodPending
	}
}

// countRegular counts spec's regular containers the way getPhase's last loop does.
func countRegular(containers []api.Container, statuses []api.ContainerStatus) counts {
	var c counts
	for i := range containers {
		st := find(statuses, containers[i].Name)
		switch {
		case st == nil:
			c.waiting++
		case st.State.Running != nil:
			c.running++
		case st.State.Terminated != nil:
			c.stopped++
			if st.State.Terminated.ExitCode == 0 {
				c.succeeded++
			}
		default: // Waiting, or not created yet
			if st.LastState.Terminated != nil {
				// It ran before and is waiting to restart (e.g. CrashLoopBackOff): getPhase
				// counts it as stopped but never as succeeded, even after exit 0, so a
				// terminating pod with such a container ends Failed.
				c.stopped++
			} else {
				c.waiting++
			}
		}
	}
	return c
}

// find returns the status named name, like podutil.GetContainerStatus.
func find(statuses []api.ContainerStatus, name string) *api.ContainerStatus {
	for i := range statuses {
		if statuses[i].Name == name {
			return &statuses[i]
		}
	}
	return nil
}

// restartPolicy applies the API server's default (pkg/apis/core/v1/defaults.go: Always).
func restartPolicy(spec *api.PodSpec) api.RestartPolicy {
	if spec.RestartPolicy == "" {
		return api.RestartPolicyAlways
	}
	return spec.RestartPolicy
}

// Next returns the phase to record given the previously recorded one: a pod never leaves
// Succeeded or Failed (generateAPIPodStatus, pkg/kubelet/kubelet_pods.go: "pods are not
// allowed to transition out of terminal phases").
func Next(prev, computed api.PodPhase) api.PodPhase {
	if Terminal(prev) {
		return prev
	}
	return computed
}

// Terminal reports whether p is Succeeded or Failed (podutil.IsPodPhaseTerminal).
func Terminal(p api.PodPhase) bool {
	return p == api.PodSucceeded || p == api.PodFailed
}
