package pods

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minipod/minipod/state"
)

func TestMonitorExe(t *testing.T) {
	dir := t.TempDir()
	mon := filepath.Join(dir, "mon")
	if err := os.WriteFile(mon, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := state.DefaultConfig()
	cfg.MonitorPath = mon
	if got, err := MonitorExe(cfg); err != nil || got != mon {
		t.Errorf("MonitorExe(--monitor-path %s) = %q, %v", mon, got, err)
	}
	cfg.MonitorPath = filepath.Join(dir, "missing")
	if _, err := MonitorExe(cfg); err == nil || !strings.Contains(err.Error(), "--monitor-path") {
		t.Errorf("MonitorExe(missing) error = %v, want one naming --monitor-path", err)
	}
	// The default: beside the running binary (the test binary has no monitor beside it).
	cfg.MonitorPath = ""
	if _, err := MonitorExe(cfg); err == nil || !strings.Contains(err.Error(), MonitorName) {
		t.Errorf("MonitorExe(default) error = %v, want one naming %s", err, MonitorName)
	}
}
