//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// logs -f sees every line of a writer whose log rotates many times (4 KiB files, 3 kept),
// and ends by itself when the container stops for good; --tail, --since, --since-time and
// --timestamps select and show records as kubectl does.
func TestCLILogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const lines = 1500
	writer := fmt.Sprintf(`echo ready; while [ ! -e /tmp/go ]; do sleep 0.05; done
i=1; while [ $i -le %d ]; do echo "line $i padding-padding-padding"; if [ $((i %% 25)) = 0 ]; then sleep 0.02; fi; i=$((i+1)); done`, lines)
	p := newPod("writer", api.RestartPolicyNever,
		sh("w", writer),
		sh("slow", "echo early; sleep 3; echo late; "+idle))
	cliPod(t, e, p, []string{"--rm=false", "--container-log-max-size=4Ki", "--container-log-max-files=3"}, "w", "slow")

	follow := e.start("", "logs", "-f", "writer", "-c", "w")
	follow.waitOutput(t, "ready\n", 10*time.Second)
	if res := e.exec("exec", "writer", "-c", "w", "--", "touch", "/tmp/go"); res.code != 0 {
		t.Fatalf("exec touch: exit %d: %s", res.code, res.stderr)
	}
	if code := follow.wait(t, 60*time.Second); code != 0 {
		t.Errorf("logs -f: exit %d: %s", code, follow.stderr())
	}
	got := strings.Split(strings.TrimSuffix(follow.stdout(), "\n"), "\n")
	if len(got) != lines+1 {
		t.Errorf("logs -f printed %d lines, want %d", len(got), lines+1)
	}
	for i := 1; i <= lines && i < len(got); i++ {
		if want := fmt.Sprintf("line %d padding-padding-padding", i); got[i] != want {
			t.Fatalf("logs -f line %d = %q, want %q", i, got[i], want)
		}
	}
	st := e.status("default", "writer")
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(e.logPath(st, "w", 0)), "0.log.*"))
	if len(files) == 0 || len(files) > 2 {
		t.Errorf("rotated files %q: want 1 or 2 kept (max files 3)", files)
	}

	// --tail of the current file.
	res := e.exec("logs", "writer", "-c", "w", "--tail", "3")
	want := fmt.Sprintf("line %d padding-padding-padding\nline %d padding-padding-padding\nline %d padding-padding-padding\n", lines-2, lines-1, lines)
	if res.code != 0 || res.stdout != want {
		t.Errorf("logs --tail 3: exit %d, %q, want %q (%s)", res.code, res.stdout, want, res.stderr)
	}
	res = e.exec("logs", "pod/writer", "-c", "w", "--tail=1", "--timestamps")
	ts, line, _ := strings.Cut(strings.TrimSpace(res.stdout), " ")
	if when, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(when) > time.Minute || line != fmt.Sprintf("line %d padding-padding-padding", lines) {
		t.Errorf("logs --timestamps: %q (%v)", res.stdout, err)
	}

	// --since: "late" is written 3 s after "early".
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(e.exec("logs", "writer", "-c", "slow").stdout, "late") {
		if time.Now().After(deadline) {
			t.Fatal("the slow container never wrote late")
		}
		time.Sleep(100 * time.Millisecond)
	}
	res = e.exec("logs", "writer", "-c", "slow", "--since=2s")
	if res.code != 0 || res.stdout != "late\n" {
		t.Errorf("logs --since=2s: exit %d, %q, want only late (%s)", res.code, res.stdout, res.stderr)
	}
	res = e.exec("logs", "writer", "-c", "slow", "--timestamps")
	var lateAt time.Time
	for _, l := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		if ts, text, _ := strings.Cut(l, " "); text == "late" {
			lateAt, _ = time.Parse(time.RFC3339Nano, ts)
		}
	}
	res = e.exec("logs", "writer", "-c", "slow", "--since-time="+lateAt.Add(-time.Second).UTC().Format(time.RFC3339))
	if lateAt.IsZero() || res.code != 0 || res.stdout != "late\n" {
		t.Errorf("logs --since-time: exit %d, %q (late at %v)", res.code, res.stdout, lateAt)
	}
	res = e.exec("logs", "writer", "--all-containers", "--prefix", "--tail=1")
	if res.code != 0 || res.stdout != fmt.Sprintf("[pod/writer/w] line %d padding-padding-padding\n[pod/writer/slow] late\n", lines) {
		t.Errorf("logs --all-containers --prefix: exit %d, %q", res.code, res.stdout)
	}
	if res := e.exec("delete", "pod", "writer", "--now"); res.code != 0 {
		t.Errorf("delete: exit %d: %s", res.code, res.stderr)
	}
	if _, err := os.Stat(e.podDir("default", "writer")); !os.IsNotExist(err) {
		t.Error("pod remains after delete")
	}
}

// logs -f of a container that keeps crashing follows it into its next instances, and ends
// when the pod is deleted.
func TestCLILogsFollowRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("crash", api.RestartPolicyAlways,
		sh("c", `n=$(cat /d/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /d/n; echo attempt $n; sleep 0.3; exit 1`))
	p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "d", MountPath: "/d"}}
	p.Spec.Volumes = []api.Volume{{Name: "d", EmptyDir: &api.EmptyDirVolumeSource{}}}
	cliPod(t, e, p, nil, "c")
	follow := e.start("", "logs", "-f", "crash")
	follow.waitOutput(t, "attempt ", 10*time.Second)
	first := 0
	fmt.Sscanf(strings.TrimPrefix(follow.stdout(), "attempt "), "%d", &first)
	follow.waitOutput(t, fmt.Sprintf("attempt %d\n", first+2), 20*time.Second)
	if want := fmt.Sprintf("attempt %d\nattempt %d\nattempt %d\n", first, first+1, first+2); !strings.HasPrefix(follow.stdout(), want) {
		t.Errorf("logs -f across restarts printed %q, want it to start with %q", follow.stdout(), want)
	}
	if follow.exited() {
		t.Errorf("logs -f ended while the container is to be restarted: %s", follow.stderr())
	}
	if res := e.exec("delete", "pod", "crash", "--now"); res.code != 0 {
		t.Errorf("delete: exit %d: %s", res.code, res.stderr)
	}
	if code := follow.wait(t, 10*time.Second); code != 0 {
		t.Errorf("logs -f after the pod was deleted: exit %d: %s", code, follow.stderr())
	}
}
