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

// Phase ports the kubelet's getPhase (pkg/kubelet/kubelet_pods.go) with the
// ContainerRestartRules feature off, its default.
//
// Statuses are matched to spec containers by name. A container with no status has not been
// reported yet and counts as unknown, which keeps the pod Pending.
//
// terminating means the pod is being deleted or stopped (the kubelet's podIsTerminal): once
// all containers have stopped the restart policy is ignored, Succeeded only if every regular
// container exited 0, else Failed. initialized is the kubelet's podHasInitialized: a regular
// container has been created (sidecars that are not started yet no longer keep such a pod
// Pending).
//
// Phase never returns Unknown: Unknown is for a pod whose status cannot be obtained.
func Phase(spec *api.PodSpec, initStatuses, statuses []api.ContainerStatus, terminating, initialized bool) api.PodPhase {
	var pendingRestartable, pendingRegularInit, failedInit int
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.IsSidecar() {
			continue
		}
		st := find(initStatuses, c.Name)
		switch {
		case st == nil, st.State.Running != nil:
			pendingRegularInit++
		case st.State.Terminated != nil:
			if st.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case st.State.Waiting != nil && st.LastState.Terminated != nil:
			if st.LastState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingRegularInit++
		}
	}

	var unknown, running, waiting, stopped, succeeded int
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if !c.IsSidecar() {
			continue
		}
		st := find(initStatuses, c.Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			if st.Started == nil || !*st.Started {
				pendingRestartable++
			}
			running++
		case st.State.Terminated != nil:
			// A terminated sidecar never decides the phase.
		case st.State.Waiting != nil:
			if st.LastState.Terminated == nil {
				pendingRestartable++
				waiting++
			}
		default:
			pendingRestartable++
			unknown++
		}
	}
	for i := range spec.Containers {
		st := find(statuses, spec.Containers[i].Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			running++
		case st.State.Terminated != nil:
			stopped++
			if st.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case st.State.Waiting != nil:
			if st.LastState.Terminated != nil {
				// It ran before and is waiting to restart (e.g. CrashLoopBackOff): getPhase
				// counts it as stopped but never as succeeded.
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}

	if failedInit > 0 && restartPolicy(spec) == api.RestartPolicyNever {
		return api.PodFailed
	}
	switch {
	case pendingRegularInit > 0, pendingRestartable > 0 && !initialized:
		// Init containers have not finished, or sidecars have not started.
		return api.PodPending
	case waiting > 0:
		// One or more containers has not been started.
		return api.PodPending
	case running > 0 && unknown == 0:
		// All containers have been started and at least one is running.
		return api.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if terminating {
			// Terminal: containers won't be restarted regardless of the restart policy.
			if stopped == succeeded {
				return api.PodSucceeded
			}
			return api.PodFailed
		}
		policy := restartPolicy(spec)
		if policy == api.RestartPolicyAlways {
			// All containers are in the process of restarting.
			return api.PodRunning
		}
		if stopped == succeeded {
			return api.PodSucceeded
		}
		if policy == api.RestartPolicyNever {
			return api.PodFailed
		}
		// OnFailure with at least one failure: it is restarting.
		return api.PodRunning
	default:
		return api.PodPending
	}
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
