package kubeprint

import (
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

func waiting(name, reason string) api.ContainerStatus {
	return api.ContainerStatus{Name: name, State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason}}}
}

func running(name string) api.ContainerStatus {
	t := true
	return api.ContainerStatus{Name: name, Ready: true, Started: &t, State: api.ContainerState{Running: &api.ContainerStateRunning{}}}
}

func unready(name string) api.ContainerStatus {
	s := running(name)
	s.Ready = false
	return s
}

func terminated(name, reason string, code, signal int32) api.ContainerStatus {
	return api.ContainerStatus{Name: name, State: api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

func cond(t api.PodConditionType, s api.ConditionStatus) api.PodCondition {
	return api.PodCondition{Type: t, Status: s}
}

func TestPodStatus(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	always := api.ContainerRestartPolicyAlways
	tests := []struct {
		name       string
		phase      api.PodPhase
		reason     string
		deleting   bool
		inits      []api.Container
		initStats  []api.ContainerStatus
		statuses   []api.ContainerStatus
		conditions []api.PodCondition
		want       string
		wantReady  string
	}{
		{name: "running", phase: api.PodRunning, statuses: []api.ContainerStatus{running("a")}, want: "Running", wantReady: "1/1"},
		{name: "pending, no statuses yet", phase: api.PodPending, want: "Pending", wantReady: "0/1"},
		{name: "scheduling gated", phase: api.PodPending, want: "SchedulingGated", wantReady: "0/1",
			conditions: []api.PodCondition{{Type: api.PodScheduled, Status: api.ConditionFalse, Reason: "SchedulingGated"}}},
		{name: "creating", phase: api.PodPending, statuses: []api.ContainerStatus{waiting("a", "ContainerCreating")}, want: "ContainerCreating"},
		{name: "crash loop", phase: api.PodRunning, statuses: []api.ContainerStatus{waiting("a", "CrashLoopBackOff")}, want: "CrashLoopBackOff"},
		{name: "image pull back-off", phase: api.PodPending, statuses: []api.ContainerStatus{waiting("a", "ImagePullBackOff")}, want: "ImagePullBackOff"},
		{name: "waiting without reason keeps the phase", phase: api.PodPending, statuses: []api.ContainerStatus{waiting("a", "")}, want: "Pending"},
		{name: "completed", phase: api.PodSucceeded, statuses: []api.ContainerStatus{terminated("a", "Completed", 0, 0)}, want: "Completed", wantReady: "0/1"},
		{name: "error", phase: api.PodFailed, statuses: []api.ContainerStatus{terminated("a", "Error", 3, 0)}, want: "Error"},
		{name: "oom killed", phase: api.PodFailed, statuses: []api.ContainerStatus{terminated("a", "OOMKilled", 137, 9)}, want: "OOMKilled"},
		{name: "signal without reason", phase: api.PodFailed, statuses: []api.ContainerStatus{terminated("a", "", 137, 9)}, want: "Signal:9"},
		{name: "exit code without reason", phase: api.PodFailed, statuses: []api.ContainerStatus{terminated("a", "", 2, 0)}, want: "ExitCode:2"},
		{name: "one completed, one running and ready", phase: api.PodRunning, statuses: []api.ContainerStatus{running("a"), terminated("b", "Completed", 0, 0)},
			conditions: []api.PodCondition{cond(api.PodReady, api.ConditionTrue)}, want: "Running", wantReady: "1/2"},
		{name: "one completed, one running, pod not ready", phase: api.PodRunning, statuses: []api.ContainerStatus{running("a"), terminated("b", "Completed", 0, 0)},
			conditions: []api.PodCondition{cond(api.PodReady, api.ConditionFalse)}, want: "NotReady"},
		{name: "running but unready: the phase", phase: api.PodRunning, statuses: []api.ContainerStatus{unready("a")}, want: "Running", wantReady: "0/1"},
		{name: "first container's reason wins", phase: api.PodRunning, statuses: []api.ContainerStatus{waiting("a", "CrashLoopBackOff"), terminated("b", "Error", 1, 0)}, want: "CrashLoopBackOff"},
		{name: "later failure shows behind a running first", phase: api.PodRunning, statuses: []api.ContainerStatus{running("a"), terminated("b", "Error", 1, 0)}, want: "Error"},
		{name: "pod reason", phase: api.PodFailed, reason: "SandboxFailed", want: "SandboxFailed"},
		{name: "deadline exceeded", phase: api.PodFailed, reason: "DeadlineExceeded", statuses: []api.ContainerStatus{running("a")}, want: "DeadlineExceeded"},
		{name: "terminating", phase: api.PodRunning, deleting: true, statuses: []api.ContainerStatus{running("a")}, want: "Terminating"},
		{name: "terminating while crash looping", phase: api.PodRunning, deleting: true, statuses: []api.ContainerStatus{waiting("a", "CrashLoopBackOff")}, want: "Terminating"},
		{name: "terminating pending", phase: api.PodPending, deleting: true, want: "Terminating"},
		{name: "deleted after success", phase: api.PodSucceeded, deleting: true, statuses: []api.ContainerStatus{terminated("a", "Completed", 0, 0)}, want: "Completed"},
		{name: "deleted after failure", phase: api.PodFailed, deleting: true, statuses: []api.ContainerStatus{terminated("a", "Error", 143, 15)}, want: "Error"},
		{name: "unknown, monitor lost", phase: api.PodUnknown, reason: "MonitorLost", statuses: []api.ContainerStatus{running("a")}, want: "MonitorLost"},

		// Init containers.
		{name: "first init pending", phase: api.PodPending, inits: []api.Container{{Name: "i1"}, {Name: "i2"}},
			initStats: []api.ContainerStatus{waiting("i1", "PodInitializing"), waiting("i2", "PodInitializing")},
			statuses:  []api.ContainerStatus{waiting("a", "PodInitializing")}, want: "Init:0/2", wantReady: "0/1"},
		{name: "second init running", phase: api.PodPending, inits: []api.Container{{Name: "i1"}, {Name: "i2"}},
			initStats: []api.ContainerStatus{terminated("i1", "Completed", 0, 0), running("i2")},
			statuses:  []api.ContainerStatus{waiting("a", "PodInitializing")}, want: "Init:1/2"},
		{name: "init failed", phase: api.PodFailed, inits: []api.Container{{Name: "i1"}},
			initStats: []api.ContainerStatus{terminated("i1", "Error", 1, 0)},
			statuses:  []api.ContainerStatus{waiting("a", "PodInitializing")}, want: "Init:Error"},
		{name: "init failed without a reason", phase: api.PodPending, inits: []api.Container{{Name: "i1"}},
			initStats: []api.ContainerStatus{terminated("i1", "", 3, 0)}, want: "Init:ExitCode:3"},
		{name: "init crash loop", phase: api.PodPending, inits: []api.Container{{Name: "i1"}},
			initStats: []api.ContainerStatus{waiting("i1", "CrashLoopBackOff")},
			statuses:  []api.ContainerStatus{waiting("a", "PodInitializing")}, want: "Init:CrashLoopBackOff"},
		{name: "inits done, app initializing", phase: api.PodPending, inits: []api.Container{{Name: "i1"}},
			initStats: []api.ContainerStatus{terminated("i1", "Completed", 0, 0)},
			statuses:  []api.ContainerStatus{waiting("a", "PodInitializing")}, want: "PodInitializing"},
		{name: "started sidecar counts in READY", phase: api.PodRunning, inits: []api.Container{{Name: "side", RestartPolicy: &always}},
			initStats: []api.ContainerStatus{running("side")}, statuses: []api.ContainerStatus{running("a")},
			conditions: []api.PodCondition{cond(api.PodInitialized, api.ConditionTrue)}, want: "Running", wantReady: "2/2"},
		{name: "sidecar not started yet", phase: api.PodPending, inits: []api.Container{{Name: "side", RestartPolicy: &always}},
			initStats: []api.ContainerStatus{{Name: "side", State: api.ContainerState{Running: &api.ContainerStateRunning{}}}},
			statuses:  []api.ContainerStatus{waiting("a", "PodInitializing")}, want: "Init:0/1", wantReady: "0/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &api.Pod{Status: api.PodStatus{Phase: tt.phase, Reason: tt.reason, InitContainerStatuses: tt.initStats, ContainerStatuses: tt.statuses, Conditions: tt.conditions}}
			p.Spec.InitContainers = tt.inits
			for _, cs := range tt.statuses {
				p.Spec.Containers = append(p.Spec.Containers, api.Container{Name: cs.Name})
			}
			if len(p.Spec.Containers) == 0 {
				p.Spec.Containers = []api.Container{{Name: "a"}}
			}
			if tt.deleting {
				p.Metadata.DeletionTimestamp = &api.Time{Time: now}
			}
			row := Pod(p, now)
			if row.Status != tt.want {
				t.Errorf("STATUS = %q, want %q", row.Status, tt.want)
			}
			if tt.wantReady != "" && row.Ready != tt.wantReady {
				t.Errorf("READY = %q, want %q", row.Ready, tt.wantReady)
			}
		})
	}
}

func TestPodRestartsAndAge(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	created := api.NewTime(now.Add(-90 * time.Minute))
	cs := running("a")
	cs.RestartCount = 3
	cs.LastState.Terminated = &api.ContainerStateTerminated{FinishedAt: api.Time{Time: now.Add(-12 * time.Second)}}
	p := &api.Pod{
		Metadata: api.ObjectMeta{Name: "web", CreationTimestamp: &created},
		Spec:     api.PodSpec{Containers: []api.Container{{Name: "a"}}},
		Status:   api.PodStatus{Phase: api.PodRunning, ContainerStatuses: []api.ContainerStatus{cs}, PodIPs: []api.PodIP{{IP: "10.0.0.9"}}},
	}
	row := Pod(p, now)
	if row.Restarts != "3 (12s ago)" || row.Age != "90m" || row.IP != "10.0.0.9" || row.Name != "web" {
		t.Errorf("row = %+v, want restarts \"3 (12s ago)\", age 90m, IP 10.0.0.9", row)
	}
	p.Status.ContainerStatuses[0].RestartCount = 0
	p.Status.ContainerStatuses[0].LastState.Terminated = nil
	p.Metadata.CreationTimestamp = nil
	p.Status.PodIPs = nil
	if row := Pod(p, now); row.Restarts != "0" || row.Age != "<unknown>" || row.IP != "<none>" {
		t.Errorf("row = %+v, want 0 restarts, unknown age, no IP", row)
	}
}
