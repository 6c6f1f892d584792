package phase

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

func spec(policy api.RestartPolicy, names ...string) *api.PodSpec {
	s := &api.PodSpec{RestartPolicy: policy}
	for _, n := range names {
		s.Containers = append(s.Containers, api.Container{Name: n})
	}
	return s
}

func running(name string) api.ContainerStatus {
	return api.ContainerStatus{Name: name, State: api.ContainerState{Running: &api.ContainerStateRunning{}}}
}

func exited(name string, code int32) api.ContainerStatus {
	return api.ContainerStatus{Name: name, State: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: code}}}
}

func creating(name string) api.ContainerStatus {
	return api.ContainerStatus{Name: name, State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "ContainerCreating"}}}
}

// backingOff is a container waiting to restart after a previous run that exited with code.
func backingOff(name string, code int32) api.ContainerStatus {
	return api.ContainerStatus{
		Name:      name,
		State:     api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastState: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: code}},
	}
}

func st(s ...api.ContainerStatus) []api.ContainerStatus { return s }

// withInit adds init containers to s; a name starting with "-" is a sidecar.
func withInit(s *api.PodSpec, names ...string) *api.PodSpec {
	for _, n := range names {
		c := api.Container{Name: strings.TrimPrefix(n, "-")}
		if strings.HasPrefix(n, "-") {
			always := api.ContainerRestartPolicyAlways
			c.RestartPolicy = &always
		}
		s.InitContainers = append(s.InitContainers, c)
	}
	return s
}

func started(s api.ContainerStatus) api.ContainerStatus { t := true; s.Started = &t; return s }

// exitedReady is a regular init container that completed: the kubelet marks it ready.
func exitedReady(name string) api.ContainerStatus { s := exited(name, 0); s.Ready = true; return s }

func initializing(name string) api.ContainerStatus {
	return api.ContainerStatus{Name: name, State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "PodInitializing"}}}
}

func TestPhase(t *testing.T) {
	const (
		always    = api.RestartPolicyAlways
		onFailure = api.RestartPolicyOnFailure
		never     = api.RestartPolicyNever
	)
	tests := []struct {
		name        string
		spec        *api.PodSpec
		statuses    []api.ContainerStatus
		terminating bool
		want        api.PodPhase
	}{
		{"no statuses yet", spec(always, "a", "b"), nil, false, api.PodPending},
		{"one status missing", spec(always, "a", "b"), st(running("a")), false, api.PodPending},
		{"zero state is waiting", spec(always, "a"), st(api.ContainerStatus{Name: "a"}), false, api.PodPending},
		{"creating", spec(always, "a"), st(creating("a")), false, api.PodPending},
		{"one running one creating", spec(always, "a", "b"), st(running("a"), creating("b")), false, api.PodPending},
		{"all running", spec(always, "a", "b"), st(running("a"), running("b")), false, api.PodRunning},
		{"running and succeeded, Never", spec(never, "a", "b"), st(running("a"), exited("b", 0)), false, api.PodRunning},
		{"running and failed, Never", spec(never, "a", "b"), st(running("a"), exited("b", 1)), false, api.PodRunning},
		{"Always, all stopped ok", spec(always, "a", "b"), st(exited("a", 0), exited("b", 0)), false, api.PodRunning},
		{"Always, all stopped failed", spec(always, "a"), st(exited("a", 2)), false, api.PodRunning},
		{"default policy is Always", spec("", "a"), st(exited("a", 0)), false, api.PodRunning},
		{"Always, crash loop", spec(always, "a"), st(backingOff("a", 1)), false, api.PodRunning},
		{"OnFailure, all succeeded", spec(onFailure, "a", "b"), st(exited("a", 0), exited("b", 0)), false, api.PodSucceeded},
		{"OnFailure, one failed", spec(onFailure, "a", "b"), st(exited("a", 0), exited("b", 1)), false, api.PodRunning},
		{"OnFailure, crash loop", spec(onFailure, "a"), st(backingOff("a", 137)), false, api.PodRunning},
		{"Never, all succeeded", spec(never, "a", "b"), st(exited("a", 0), exited("b", 0)), false, api.PodSucceeded},
		{"Never, one failed", spec(never, "a", "b"), st(exited("a", 0), exited("b", 1)), false, api.PodFailed},
		{"Never, all failed", spec(never, "a"), st(exited("a", 127)), false, api.PodFailed},
		{"restarted container waiting with exit 0 counts stopped, not succeeded", spec(onFailure, "a"), st(backingOff("a", 0)), false, api.PodRunning},
		{"waiting never-started beats running", spec(never, "a", "b"), st(exited("a", 1), creating("b")), false, api.PodPending},
		{"both running and terminated set: running checked first", spec(never, "a"), st(api.ContainerStatus{Name: "a", State: api.ContainerState{Running: &api.ContainerStateRunning{}, Terminated: &api.ContainerStateTerminated{ExitCode: 1}}}), false, api.PodRunning},
		{"statuses matched by name, not index", spec(never, "a", "b"), st(exited("b", 1), exited("a", 0)), false, api.PodFailed},
		{"no containers", spec(always), nil, false, api.PodPending},

		{"terminating, Always, all exit 0", spec(always, "a", "b"), st(exited("a", 0), exited("b", 0)), true, api.PodSucceeded},
		{"terminating, Always, one killed", spec(always, "a", "b"), st(exited("a", 0), exited("b", 137)), true, api.PodFailed},
		{"terminating, OnFailure, one failed", spec(onFailure, "a"), st(exited("a", 1)), true, api.PodFailed},
		{"terminating, Never, all exit 0", spec(never, "a"), st(exited("a", 0)), true, api.PodSucceeded},
		{"terminating, still running", spec(always, "a", "b"), st(running("a"), exited("b", 0)), true, api.PodRunning},
		{"terminating, never started", spec(always, "a"), st(creating("a")), true, api.PodPending},
		{"terminating, backing off after exit 0", spec(always, "a"), st(backingOff("a", 0)), true, api.PodFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Phase(tt.spec, nil, tt.statuses, tt.terminating, false); got != tt.want {
				t.Errorf("Phase() = %s, want %s", got, tt.want)
			}
		})
	}
}

// getPhase's init container passes (pkg/kubelet/kubelet_pods.go).
func TestPhaseInitContainers(t *testing.T) {
	const (
		always    = api.RestartPolicyAlways
		onFailure = api.RestartPolicyOnFailure
		never     = api.RestartPolicyNever
	)
	tests := []struct {
		name        string
		spec        *api.PodSpec
		init, regs  []api.ContainerStatus
		terminating bool
		initialized bool
		want        api.PodPhase
	}{
		{"init not reported", withInit(spec(always, "app"), "setup"), nil, st(initializing("app")), false, false, api.PodPending},
		{"init running", withInit(spec(always, "app"), "setup"), st(running("setup")), st(initializing("app")), false, false, api.PodPending},
		{"init done, app creating", withInit(spec(always, "app"), "setup"), st(exited("setup", 0)), st(initializing("app")), false, false, api.PodPending},
		{"init done, app running", withInit(spec(always, "app"), "setup"), st(exited("setup", 0)), st(running("app")), false, true, api.PodRunning},
		{"init failed, Never", withInit(spec(never, "app"), "setup"), st(exited("setup", 1)), st(initializing("app")), false, false, api.PodFailed},
		{"init failed, OnFailure: retried, Pending", withInit(spec(onFailure, "app"), "setup"), st(exited("setup", 1)), st(initializing("app")), false, false, api.PodPending},
		{"init backing off, Never", withInit(spec(never, "app"), "setup"), st(backingOff("setup", 2)), st(initializing("app")), false, false, api.PodFailed},
		{"init backing off, Always: Pending", withInit(spec(always, "app"), "setup"), st(backingOff("setup", 2)), st(initializing("app")), false, false, api.PodPending},
		{"second init waiting", withInit(spec(always, "app"), "a", "b"), st(exited("a", 0), initializing("b")), st(initializing("app")), false, false, api.PodPending},
		{"sidecar running, not started", withInit(spec(always, "app"), "-side"), st(running("side")), st(initializing("app")), false, false, api.PodPending},
		{"sidecar started, app running", withInit(spec(always, "app"), "-side"), st(started(running("side"))), st(running("app")), false, true, api.PodRunning},
		{"sidecar not started but pod initialized", withInit(spec(always, "app"), "-side"), st(running("side")), st(running("app")), false, true, api.PodRunning},
		{"sidecar running, app succeeded, Never: the sidecar keeps it Running", withInit(spec(never, "app"), "-side"), st(started(running("side"))), st(exited("app", 0)), false, true, api.PodRunning},
		{"sidecar stopped, app succeeded, Never", withInit(spec(never, "app"), "-side"), st(exited("side", 137)), st(exited("app", 0)), false, true, api.PodSucceeded},
		{"terminating: sidecar exit codes ignored", withInit(spec(always, "app"), "-side"), st(exited("side", 143)), st(exited("app", 0)), true, true, api.PodSucceeded},
		{"sidecar crash looping is ignored", withInit(spec(never, "app"), "-side"), st(backingOff("side", 1)), st(exited("app", 0)), false, true, api.PodSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Phase(tt.spec, tt.init, tt.regs, tt.terminating, tt.initialized); got != tt.want {
				t.Errorf("Phase() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		prev, computed, want api.PodPhase
	}{
		{"", api.PodPending, api.PodPending},
		{api.PodPending, api.PodRunning, api.PodRunning},
		{api.PodRunning, api.PodPending, api.PodPending},
		{api.PodRunning, api.PodSucceeded, api.PodSucceeded},
		{api.PodRunning, api.PodFailed, api.PodFailed},
		{api.PodUnknown, api.PodRunning, api.PodRunning},
		{api.PodSucceeded, api.PodRunning, api.PodSucceeded},
		{api.PodSucceeded, api.PodFailed, api.PodSucceeded},
		{api.PodFailed, api.PodRunning, api.PodFailed},
		{api.PodFailed, api.PodSucceeded, api.PodFailed},
		{api.PodFailed, api.PodPending, api.PodFailed},
	}
	for _, tt := range tests {
		if got := Next(tt.prev, tt.computed); got != tt.want {
			t.Errorf("Next(%q, %q) = %q, want %q", tt.prev, tt.computed, got, tt.want)
		}
	}
}

func ready(s api.ContainerStatus) api.ContainerStatus { s.Ready = true; return s }

func TestConditions(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0.Add(time.Minute)
	T, F := api.ConditionTrue, api.ConditionFalse
	type want struct {
		status         api.ConditionStatus
		reason, msg    string
		transitionedAt time.Time
	}
	// prevAll has every condition True at t0.
	var prevAll []api.PodCondition
	for _, ty := range []api.PodConditionType{api.PodReadyToStartContainers, api.PodInitialized, api.PodReady, api.ContainersReady, api.PodScheduled} {
		prevAll = append(prevAll, api.PodCondition{Type: ty, Status: T, LastTransitionTime: api.NewTime(t0)})
	}
	tests := []struct {
		name         string
		prev         []api.PodCondition
		spec         *api.PodSpec
		initStatuses []api.ContainerStatus
		statuses     []api.ContainerStatus
		phase        api.PodPhase
		sandbox      bool
		// ReadyToStart, Initialized, Ready, ContainersReady, Scheduled
		want [5]want
	}{
		{
			name: "new pod, no sandbox", spec: spec("", "a", "b"), phase: api.PodPending,
			statuses: st(creating("a"), creating("b")),
			want: [5]want{
				{F, "", "", now}, {T, "", "", now},
				{F, ReasonContainersNotReady, "containers with unready status: [a b]", now},
				{F, ReasonContainersNotReady, "containers with unready status: [a b]", now},
				{T, "", "", now},
			},
		},
		{
			name: "no statuses yet", spec: spec("", "a", "b"), phase: api.PodPending,
			want: [5]want{
				{F, "", "", now}, {T, "", "", now},
				{F, ReasonContainersNotReady, "containers with unknown status: [a b]", now},
				{F, ReasonContainersNotReady, "containers with unknown status: [a b]", now},
				{T, "", "", now},
			},
		},
		{
			name: "init containers running", spec: withInit(spec("", "app"), "setup", "-side", "migrate"), phase: api.PodPending, sandbox: true,
			initStatuses: st(exitedReady("setup"), started(running("side")), running("migrate")),
			statuses:     st(initializing("app")),
			want: [5]want{
				{T, "", "", now},
				{F, ReasonContainersNotInitialized, "containers with incomplete status: [migrate]", now},
				{F, ReasonContainersNotReady, "containers with unready status: [side app]", now},
				{F, ReasonContainersNotReady, "containers with unready status: [side app]", now},
				{T, "", "", now},
			},
		},
		{
			name: "sidecar not started, init missing", spec: withInit(spec("", "app"), "-side", "setup"), phase: api.PodPending, sandbox: true,
			initStatuses: st(running("side")),
			statuses:     st(initializing("app")),
			want: [5]want{
				{T, "", "", now},
				{F, ReasonContainersNotInitialized, "containers with unknown status: [setup], containers with incomplete status: [side]", now},
				{F, ReasonContainersNotReady, "containers with unready status: [side app]", now},
				{F, ReasonContainersNotReady, "containers with unready status: [side app]", now},
				{T, "", "", now},
			},
		},
		{
			name: "initialized: a ready sidecar counts for ContainersReady", spec: withInit(spec("", "app"), "setup", "-side"), phase: api.PodRunning, sandbox: true,
			initStatuses: st(exitedReady("setup"), ready(started(running("side")))),
			statuses:     st(ready(running("app"))),
			want:         [5]want{{T, "", "", now}, {T, "", "", now}, {T, "", "", now}, {T, "", "", now}, {T, "", "", now}},
		},
		{
			name: "a regular container ran: Initialized even if an init status went missing", spec: withInit(spec("", "app"), "setup"), phase: api.PodRunning, sandbox: true,
			initStatuses: st(creating("setup")),
			statuses:     st(ready(running("app"))),
			want:         [5]want{{T, "", "", now}, {T, "", "", now}, {T, "", "", now}, {T, "", "", now}, {T, "", "", now}},
		},
		{
			name: "one ready, one not", prev: prevAll, spec: spec("", "a", "b"), phase: api.PodRunning, sandbox: true,
			statuses: st(ready(running("a")), running("b")),
			want: [5]want{
				{T, "", "", t0}, {T, "", "", t0},
				{F, ReasonContainersNotReady, "containers with unready status: [b]", now},
				{F, ReasonContainersNotReady, "containers with unready status: [b]", now},
				{T, "", "", t0},
			},
		},
		{
			name: "all ready keeps transition times", prev: prevAll, spec: spec("", "a", "b"), phase: api.PodRunning, sandbox: true,
			statuses: st(ready(running("a")), ready(running("b"))),
			want:     [5]want{{T, "", "", t0}, {T, "", "", t0}, {T, "", "", t0}, {T, "", "", t0}, {T, "", "", t0}},
		},
		{
			name: "succeeded", prev: prevAll, spec: spec(api.RestartPolicyNever, "a"), phase: api.PodSucceeded,
			statuses: st(exited("a", 0)),
			want: [5]want{
				{F, "", "", now}, {T, ReasonPodCompleted, "", t0},
				{F, ReasonPodCompleted, "", now}, {F, ReasonPodCompleted, "", now},
				{T, "", "", t0},
			},
		},
		{
			name: "failed, even with a ready container", prev: prevAll, spec: spec(api.RestartPolicyNever, "a", "b"), phase: api.PodFailed, sandbox: true,
			statuses: st(exited("a", 1), ready(running("b"))),
			want: [5]want{
				{T, "", "", t0}, {T, "", "", t0},
				{F, ReasonPodFailed, "", now}, {F, ReasonPodFailed, "", now},
				{T, "", "", t0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Conditions(tt.prev, tt.spec, tt.initStatuses, tt.statuses, tt.phase, tt.sandbox, now)
			types := []api.PodConditionType{api.PodReadyToStartContainers, api.PodInitialized, api.PodReady, api.ContainersReady, api.PodScheduled}
			if len(got) != len(types) {
				t.Fatalf("got %d conditions, want %d", len(got), len(types))
			}
			for i, w := range tt.want {
				wc := api.PodCondition{Type: types[i], Status: w.status, Reason: w.reason, Message: w.msg, LastTransitionTime: api.NewTime(w.transitionedAt)}
				if !reflect.DeepEqual(got[i], wc) {
					t.Errorf("condition %d:\n got %+v\nwant %+v", i, got[i], wc)
				}
			}
		})
	}
}

// A reason or message change with the same status is not a transition.
func TestConditionsReasonChangeKeepsTransitionTime(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := spec("", "a", "b")
	first := Conditions(nil, s, nil, st(running("a"), running("b")), api.PodPending, true, t0)
	second := Conditions(first, s, nil, st(ready(running("a")), running("b")), api.PodRunning, true, t0.Add(time.Hour))
	for _, c := range second {
		if !c.LastTransitionTime.Equal(t0) {
			t.Errorf("%s: lastTransitionTime %v, want %v", c.Type, c.LastTransitionTime, t0)
		}
	}
	if second[2].Message != "containers with unready status: [b]" {
		t.Errorf("Ready message %q", second[2].Message)
	}
}
