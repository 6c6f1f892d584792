//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestMonitorPath: --monitor-path runs a monitor installed away from minipod, and that
// monitor still gets registry images through minipod's image helper.
func TestMonitorPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	mon := filepath.Join(dir, "my-monitor")
	b, err := os.ReadFile(filepath.Join(filepath.Dir(binPath), "minipod-monitor"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mon, b, 0o755); err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t)
	ref := reg + "/mp/busybox:1"
	push(t, ref, buildImage(t, v1.Config{}, time.Now()))
	r := e.run(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: mp}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: a, image: "%s", command: [sleep, "100000"]}
`, ref), "--monitor-path="+mon)
	e.waitRunning(t, "mp", "a")
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", monitorPID(t, e, "mp")))
	if err != nil {
		t.Fatal(err)
	}
	if exe != mon {
		t.Errorf("monitor runs %s, want %s", exe, mon)
	}
	r.signal(2)
	r.wait(t, time.Minute)

	// A relative path, or one with no binary, is refused naming the flag, nothing created.
	for _, p := range []string{"rel/monitor", filepath.Join(dir, "missing")} {
		r := e.start(idlePod("bad", rootfsImage()), "run", "--monitor-path="+p, "-")
		if code := r.wait(t, time.Minute); code == 0 || !strings.Contains(r.stderr(), "--monitor-path") {
			t.Errorf("run --monitor-path=%s: exit %d, stderr %q; want a failure naming --monitor-path", p, code, r.stderr())
		}
	}
	assertNoLeaks(t, e)
}
