package main

import (
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
)

func TestParseWaitFor(t *testing.T) {
	tests := []struct {
		in      string
		want    waitCondition
		wantErr string
	}{
		{in: "delete", want: waitCondition{delete: true}},
		{in: "DELETE", want: waitCondition{delete: true}},
		{in: "condition=Ready", want: waitCondition{name: "Ready", value: "true"}},
		{in: "condition=ready=false", want: waitCondition{name: "ready", value: "false"}},
		{in: "condition=ContainersReady=True", want: waitCondition{name: "ContainersReady", value: "True"}},
		{in: "", wantErr: `unrecognized condition: ""`},
		{in: "Ready", wantErr: `unrecognized condition: "Ready"`},
		{in: "condition=", wantErr: "want condition=NAME"},
		{in: "condition=Ready=", wantErr: "want condition=NAME"},
		{in: "jsonpath={.status.phase}=Running", wantErr: "jsonpath conditions are not supported"},
	}
	for _, tt := range tests {
		got, err := parseWaitFor(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--for") {
				t.Errorf("parseWaitFor(%q) = %v, want an error naming --for and containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseWaitFor(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestWaitConditionMet(t *testing.T) {
	p := &api.Pod{Status: api.PodStatus{Conditions: []api.PodCondition{
		{Type: api.PodInitialized, Status: api.ConditionTrue},
		{Type: api.PodReady, Status: api.ConditionFalse},
	}}}
	tests := []struct {
		c    waitCondition
		want bool
	}{
		{waitCondition{name: "Initialized", value: "true"}, true},
		{waitCondition{name: "initialized", value: "TRUE"}, true},
		{waitCondition{name: "Ready", value: "true"}, false},
		{waitCondition{name: "Ready", value: "false"}, true},
		{waitCondition{name: "PodScheduled", value: "true"}, false}, // not reported
		{waitCondition{name: "PodScheduled", value: "false"}, false},
	}
	for _, tt := range tests {
		if got := tt.c.met(p); got != tt.want {
			t.Errorf("%+v met = %v, want %v", tt.c, got, tt.want)
		}
	}
	if (waitCondition{name: "Ready", value: "true"}).met(nil) {
		t.Error("no pod: not met")
	}
}
