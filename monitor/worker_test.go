package monitor

import (
	"testing"

	"github.com/minipod/minipod/api"
)

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy   api.RestartPolicy
		exitCode int32
		stopping bool
		want     bool
	}{
		{api.RestartPolicyAlways, 0, false, true},
		{api.RestartPolicyAlways, 1, false, true},
		{api.RestartPolicyOnFailure, 0, false, false},
		{api.RestartPolicyOnFailure, 1, false, true},
		{api.RestartPolicyOnFailure, 137, false, true},
		{api.RestartPolicyNever, 0, false, false},
		{api.RestartPolicyNever, 1, false, false},
		// An unset policy is Kubernetes' default, Always.
		{"", 0, false, true},
		{"", 1, false, true},
		// A stopping pod restarts nothing, whatever the policy.
		{api.RestartPolicyAlways, 0, true, false},
		{api.RestartPolicyAlways, 1, true, false},
		{api.RestartPolicyOnFailure, 1, true, false},
		{api.RestartPolicyNever, 1, true, false},
	}
	for _, tt := range tests {
		m := &monitor{stopping: tt.stopping}
		m.pod.Spec.RestartPolicy = tt.policy
		w := &worker{m: m, kind: regular}
		if got := w.shouldRestart(tt.exitCode); got != tt.want {
			t.Errorf("restartPolicy %q, exit %d, stopping %v: shouldRestart = %v, want %v", tt.policy, tt.exitCode, tt.stopping, got, tt.want)
		}
	}
}
