package runtime

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// processState runs sh -c script and returns the real wait status of its exit.
func processState(t *testing.T, script string) *os.ProcessState {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sh -c %q: %v", script, err)
	}
	if cmd.ProcessState == nil {
		t.Fatalf("sh -c %q: no process state", script)
	}
	return cmd.ProcessState
}

func TestExitState(t *testing.T) {
	tests := []struct {
		name       string
		script     string // empty: a nil state
		waitErr    error
		wantCode   int32
		wantSignal int32
		wantReason string
		wantMsg    string
	}{
		{name: "exit 0", script: "exit 0", wantCode: 0, wantReason: "Completed"},
		{name: "exit 3", script: "exit 3", wantCode: 3, wantReason: "Error"},
		{name: "exit 255", script: "exit 255", wantCode: 255, wantReason: "Error"},
		{name: "SIGKILL", script: "kill -9 $$", wantCode: 137, wantSignal: 9, wantReason: "Error"},
		{name: "SIGTERM", script: "kill -TERM $$", wantCode: 143, wantSignal: 15, wantReason: "Error"},
		{name: "nil state with error", waitErr: errors.New("wait: no child"), wantCode: 255, wantReason: "Error", wantMsg: "wait: no child"},
		{name: "nil state without error", wantCode: 255, wantReason: "Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st *os.ProcessState
			if tt.script != "" {
				st = processState(t, tt.script)
			}
			got := exitState(st, tt.waitErr)
			if got.ExitCode != tt.wantCode || got.Signal != tt.wantSignal || got.Reason != tt.wantReason || got.Message != tt.wantMsg {
				t.Errorf("exitState = {ExitCode:%d Signal:%d Reason:%q Message:%q}, want {ExitCode:%d Signal:%d Reason:%q Message:%q}",
					got.ExitCode, got.Signal, got.Reason, got.Message, tt.wantCode, tt.wantSignal, tt.wantReason, tt.wantMsg)
			}
		})
	}
}

func TestStopSignal(t *testing.T) {
	tests := []struct {
		name string
		want unix.Signal
	}{
		{"", unix.SIGTERM},
		{"SIGQUIT", unix.SIGQUIT},
		{"QUIT", unix.SIGQUIT},
		{"sigusr1", unix.SIGUSR1},
		{"SIGINT", unix.SIGINT},
		{"winch", unix.SIGWINCH},
		{"SIGKILL", unix.SIGKILL},
		{"bogus", unix.SIGTERM},
		{"SIG", unix.SIGTERM},
	}
	for _, tt := range tests {
		if got := stopSignal(tt.name); got != tt.want {
			t.Errorf("stopSignal(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

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
		if got := m.shouldRestart(tt.exitCode); got != tt.want {
			t.Errorf("restartPolicy %q, exit %d, stopping %v: shouldRestart = %v, want %v", tt.policy, tt.exitCode, tt.stopping, got, tt.want)
		}
	}
}
