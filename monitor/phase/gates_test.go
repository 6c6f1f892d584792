package phase

import (
	"reflect"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// GeneratePodReadyCondition with readiness gates: all containers ready is not enough.
func TestReadinessGates(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := spec("", "a")
	s.ReadinessGates = []api.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/warm"}}
	tests := []struct {
		name     string
		prev     []api.PodCondition
		statuses []api.ContainerStatus
		want     api.PodCondition
	}{
		{"containers not ready: as ContainersReady", nil, st(running("a")),
			api.PodCondition{Type: api.PodReady, Status: api.ConditionFalse, Reason: ReasonContainersNotReady, Message: "containers with unready status: [a]"}},
		{"no gate condition", nil, st(ready(running("a"))),
			api.PodCondition{Type: api.PodReady, Status: api.ConditionFalse, Reason: ReasonReadinessGatesNotReady,
				Message: `corresponding condition of pod readiness gate "example.com/lb" does not exist., corresponding condition of pod readiness gate "example.com/warm" does not exist.`}},
		{"one gate False", []api.PodCondition{{Type: "example.com/lb", Status: api.ConditionTrue}, {Type: "example.com/warm", Status: api.ConditionFalse}}, st(ready(running("a"))),
			api.PodCondition{Type: api.PodReady, Status: api.ConditionFalse, Reason: ReasonReadinessGatesNotReady,
				Message: `the status of pod readiness gate "example.com/warm" is not "True", but False`}},
		{"all gates True", []api.PodCondition{{Type: "example.com/warm", Status: api.ConditionTrue}, {Type: "example.com/lb", Status: api.ConditionTrue}}, st(ready(running("a"))),
			api.PodCondition{Type: api.PodReady, Status: api.ConditionTrue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Conditions(tt.prev, s, nil, tt.statuses, api.PodRunning, true, now)
			// The gates' own conditions come first, untouched.
			if n := len(tt.prev); n > 0 && !reflect.DeepEqual(got[:n], tt.prev) {
				t.Errorf("other conditions %+v, want %+v first", got[:n], tt.prev)
			}
			var ready api.PodCondition
			for _, c := range got {
				if c.Type == api.PodReady {
					ready = c
				}
			}
			ready.LastTransitionTime = api.Time{}
			if !reflect.DeepEqual(ready, tt.want) {
				t.Errorf("Ready\n got %+v\nwant %+v", ready, tt.want)
			}
		})
	}
}

// A gated pod is not scheduled: PodScheduled False, reason SchedulingGated, and nothing else.
func TestSchedulingGates(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := spec("", "a")
	s.SchedulingGates = []api.PodSchedulingGate{{Name: "example.com/foo"}}
	first := Conditions(nil, s, nil, nil, api.PodPending, false, t0)
	want := []api.PodCondition{{Type: api.PodScheduled, Status: api.ConditionFalse, Reason: "SchedulingGated",
		Message: "Scheduling is blocked due to non-empty scheduling gates", LastTransitionTime: api.NewTime(t0)}}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("conditions\n got %+v\nwant %+v", first, want)
	}
	if again := Conditions(first, s, nil, nil, api.PodPending, false, t0.Add(time.Hour)); !reflect.DeepEqual(again, want) {
		t.Errorf("conditions later %+v: the transition time moved", again)
	}
	if p := Phase(s, nil, nil, true, false); p != api.PodPending {
		t.Errorf("phase %s, want Pending", p)
	}
}
