//go:build integration

package integration

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// BenchmarkPodDelete: a running 2-container pod with no grace period (started with
// `run -d`), from invoking `minipod delete pod` to its exit with everything released.
func BenchmarkPodDelete(b *testing.B) {
	e := newEnv(b)
	var d []time.Duration
	for range b.N {
		for range benchRounds {
			manifest := idlePod("bench", "rootfs:"+rootfsDir)
			e.trackManifest(manifest)
			r := e.start(manifest, "run", "-d", "-")
			if code := r.wait(b, time.Minute); code != 0 {
				b.Fatalf("run -d exited %d: %s", code, r.stderr())
			}
			e.waitRunning(b, "bench", "a", "b")
			res := e.mustExec(b, "delete", "pod", "bench")
			d = append(d, res.dur)
		}
	}
	report(b, "2-container pod, no grace: delete pod", "ms-delete", d)
}

// BenchmarkBackOffRestart: how late a crash-looping container is restarted after its
// back-off (300 ms here) has expired. The container prints a line and exits 1; the line's
// log timestamp (taken by the monitor as it reads it, just before the exit) stands for the
// exit time, so the figure slightly overstates the lateness. The restart is the attempt's
// first event ("Pulled"), whose timestamp has microsecond precision; the first crash is
// left out, since the kubelet restarts it at once (package backoff).
func BenchmarkBackOffRestart(b *testing.B) {
	e := newEnv(b)
	const backoff = 300 * time.Millisecond
	e.backoffInitial, e.backoffMax = backoff.String(), backoff.String()
	const restarts = 12
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: "rootfs:%s", command: [sh, -c, "echo bye; exit 1"]}
`, rootfsDir)
	var late []time.Duration
	for range b.N {
		r := e.run(manifest)
		p := e.waitFor(b, "default", "crash", restartsAtLeast("c", restarts+1), 2*time.Minute)
		evs := e.events(b, "default", "crash")
		var pulled []time.Time // the start of every attempt
		for _, ev := range evs {
			if ev.Container == "c" && ev.Reason == "Pulled" {
				pulled = append(pulled, ev.Time.Time)
			}
		}
		for n := 1; n <= restarts && n+1 < len(pulled); n++ {
			exit := lastLogTime(b, e, p, n)
			late = append(late, pulled[n+1].Sub(exit.Add(backoff)))
		}
		r.signal(2)
		r.wait(b, time.Minute)
	}
	report(b, "back-off restart: due time to restart", "ms-late", late)
}

// lastLogTime is the timestamp of the last line of a container attempt's log.
func lastLogTime(b *testing.B, e *env, p *api.Pod, restart int) time.Time {
	path := e.logPath(p, "c", restart)
	if _, err := os.Stat(path); err != nil {
		b.Fatal(err)
	}
	recs := readCRILog(b, path)
	if len(recs) == 0 {
		b.Fatalf("%s: empty", path)
	}
	return recs[len(recs)-1].ts
}
