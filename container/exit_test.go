package container

import (
	"errors"
	"os"
	"os/exec"
	"testing"
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
	return cmd.ProcessState
}

func TestExitOf(t *testing.T) {
	tests := []struct {
		name       string
		script     string // empty: a nil state
		wantCode   int32
		wantSignal int32
	}{
		{name: "exit 0", script: "exit 0", wantCode: 0},
		{name: "exit 3", script: "exit 3", wantCode: 3},
		{name: "exit 255", script: "exit 255", wantCode: 255},
		{name: "SIGKILL", script: "kill -9 $$", wantCode: 137, wantSignal: 9},
		{name: "SIGTERM", script: "kill -TERM $$", wantCode: 143, wantSignal: 15},
		{name: "no state", wantCode: 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st *os.ProcessState
			if tt.script != "" {
				st = processState(t, tt.script)
			}
			got := exitOf(st)
			if got.Code != tt.wantCode || got.Signal != tt.wantSignal || got.OOMKilled {
				t.Errorf("exitOf = %+v, want code %d signal %d", got, tt.wantCode, tt.wantSignal)
			}
		})
	}
}
