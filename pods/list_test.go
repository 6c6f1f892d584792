package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minipod/minipod/state"
)

// fakeInstallation makes n pod directories, each with a status file like a running
// 2-container pod's and a lock file no monitor holds, as List reads them.
func fakeInstallation(tb testing.TB, n int) state.Config {
	tb.Helper()
	cfg := state.DefaultConfig()
	cfg.StateDir = tb.TempDir()
	status, err := os.ReadFile("testdata/status.json")
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		dir := cfg.PodDir("default", name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		s := strings.Replace(string(status), `"name":"p1"`, `"name":"`+name+`"`, 1)
		if err := os.WriteFile(filepath.Join(dir, state.StatusFile), []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, state.LockFile), nil, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return cfg
}

func TestListSorted(t *testing.T) {
	cfg := fakeInstallation(t, 25)
	list, err := List(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 25 {
		t.Fatalf("listed %d pods, want 25", len(list))
	}
	for i := 1; i < len(list); i++ {
		if a, b := list[i-1].Metadata.Name, list[i].Metadata.Name; a >= b {
			t.Fatalf("not sorted: %s before %s", a, b)
		}
	}
}

// BenchmarkList1000: what `get pods` spends reading 1,000 pods.
func BenchmarkList1000(b *testing.B) {
	cfg := fakeInstallation(b, 1000)
	b.ResetTimer()
	for range b.N {
		list, err := List(cfg)
		if err != nil || len(list) != 1000 {
			b.Fatal(len(list), err)
		}
	}
}

func BenchmarkDecodeStatus(b *testing.B) {
	cfg := fakeInstallation(b, 1)
	dir := cfg.PodDir("default", "p0")
	b.ResetTimer()
	for range b.N {
		if _, err := state.ReadStatus(dir); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMonitorState(b *testing.B) {
	cfg := fakeInstallation(b, 1)
	dir := cfg.PodDir("default", "p0")
	b.ResetTimer()
	for range b.N {
		MonitorStateOf(dir)
	}
}
