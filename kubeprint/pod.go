// Package kubeprint shows minipod's objects the way kubectl shows Kubernetes': the columns
// of `kubectl get pods` computed as kubectl computes them, so that a user reads a pod here as
// they would in a cluster.
package kubeprint

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/minipod/minipod/api"
)

// PodRow is one row of `kubectl get pods` (-o wide adds IP and node).
type PodRow struct {
	Name, Ready, Status, Restarts, Age, IP string
}

// Pod computes a pod's row exactly as kubectl's printPod does
// (pkg/printers/internalversion/printers.go): READY counts ready regular containers and
// started sidecars; STATUS is the phase, or the reason of the first init container that has
// not completed (Init:N/M, Init:Error, Init:CrashLoopBackOff, ...), or the first container's
// waiting or terminated reason, or Terminating; RESTARTS adds how long ago the last one was.
func Pod(p *api.Pod, now time.Time) PodRow {
	st := &p.Status
	total := len(p.Spec.Containers)
	ready := 0
	var restarts, sidecarRestarts int32
	var lastRestart, lastSidecarRestart time.Time
	reason := string(st.Phase)
	if st.Reason != "" {
		reason = st.Reason
	}
	// A pod held by scheduling gates shows as such.
	for _, c := range st.Conditions {
		if c.Type == api.PodScheduled && c.Reason == "SchedulingGated" {
			reason = "SchedulingGated"
		}
	}
	sidecars := map[string]bool{}
	for i := range p.Spec.InitContainers {
		if p.Spec.InitContainers[i].IsSidecar() {
			sidecars[p.Spec.InitContainers[i].Name] = true
			total++
		}
	}
	later := func(t *time.Time, cs *api.ContainerStatus) {
		if lt := cs.LastState.Terminated; lt != nil && lt.FinishedAt.After(*t) {
			*t = lt.FinishedAt.Time
		}
	}
	initializing := false
	for i := range st.InitContainerStatuses {
		cs := &st.InitContainerStatuses[i]
		restarts += cs.RestartCount
		later(&lastRestart, cs)
		if sidecars[cs.Name] {
			sidecarRestarts += cs.RestartCount
			later(&lastSidecarRestart, cs)
		}
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case sidecars[cs.Name] && cs.Started != nil && *cs.Started:
			if cs.Ready {
				ready++
			}
			continue
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + cs.State.Waiting.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
		}
		initializing = true
		break
	}
	if !initializing || conditionTrue(p, api.PodInitialized) {
		restarts, lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		for i := len(st.ContainerStatuses) - 1; i >= 0; i-- {
			cs := &st.ContainerStatuses[i]
			restarts += cs.RestartCount
			later(&lastRestart, cs)
			switch s := cs.State; {
			case s.Waiting != nil && s.Waiting.Reason != "":
				reason = s.Waiting.Reason
			case s.Terminated != nil && s.Terminated.Reason != "":
				reason = s.Terminated.Reason
			case s.Terminated != nil && s.Terminated.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", s.Terminated.Signal)
			case s.Terminated != nil:
				reason = fmt.Sprintf("ExitCode:%d", s.Terminated.ExitCode)
			case cs.Ready && s.Running != nil:
				hasRunning = true
				ready++
			}
		}
		if reason == "Completed" && hasRunning {
			reason = "NotReady"
			if conditionTrue(p, api.PodReady) {
				reason = "Running"
			}
		}
	}
	if p.Metadata.DeletionTimestamp != nil && st.Phase != api.PodSucceeded && st.Phase != api.PodFailed {
		reason = "Terminating"
	}
	row := PodRow{
		Name:     p.Metadata.Name,
		Ready:    fmt.Sprintf("%d/%d", ready, total),
		Status:   reason,
		Restarts: fmt.Sprintf("%d", restarts),
		Age:      "<unknown>",
		IP:       "<none>",
	}
	if restarts != 0 && !lastRestart.IsZero() {
		row.Restarts = fmt.Sprintf("%d (%s ago)", restarts, duration.HumanDuration(now.Sub(lastRestart)))
	}
	if t := p.Metadata.CreationTimestamp; t != nil {
		row.Age = duration.HumanDuration(now.Sub(t.Time))
	}
	if len(st.PodIPs) > 0 {
		row.IP = st.PodIPs[0].IP
	} else if st.PodIP != "" {
		row.IP = st.PodIP
	}
	return row
}

func conditionTrue(p *api.Pod, t api.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// Column headers of `kubectl get pods`; -o wide adds PodWideColumns. minipod keeps IP in the
// default table (its users reach pods by address; kubectl shows it only with -o wide).
var (
	PodColumns     = []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"}
	PodWideColumns = []string{"NODE", "NOMINATED NODE", "READINESS GATES"}
)

// Cells returns the row's cells in PodColumns order.
func (r PodRow) Cells() []string {
	return []string{r.Name, r.Ready, r.Status, r.Restarts, r.Age, r.IP}
}

// PodWide returns the cells -o wide adds, as kubectl's printPod: NODE (a minipod pod runs
// on the host that created it, named node), NOMINATED NODE (never: there is no scheduler)
// and READINESS GATES (minipod has none: "<none>").
func PodWide(node string) []string {
	if node == "" {
		node = "<none>"
	}
	return []string{node, "<none>", "<none>"}
}
