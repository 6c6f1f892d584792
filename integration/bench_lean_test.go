//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
// back-off (1 s here) has expired: from the due time (its exit as the monitor reaped it
// plus the back-off, which the monitor logs when the wait ends) to the restart's first event
// ("Pulled"), whose timestamp has microsecond precision.
func BenchmarkBackOffRestart(b *testing.B) {
	e := newEnv(b)
	const backoff = time.Second
	e.backoffInitial, e.backoffMax = backoff.String(), backoff.String()
	const restarts = 8
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: "rootfs:%s", command: [sh, -c, "exit 1"]}
`, rootfsDir)
	var late []time.Duration
	for range b.N {
		r := e.run(manifest)
		e.waitFor(b, "default", "crash", restartsAtLeast("c", restarts+2), 2*time.Minute)
		var pulled []time.Time // the start of every attempt
		for _, ev := range e.events(b, "default", "crash") {
			if ev.Container == "c" && ev.Reason == "Pulled" {
				pulled = append(pulled, ev.Time.Time)
			}
		}
		// The restart after a back-off is the first attempt to start after its due time
		// (less half the back-off, in case it came early: the attempt before started at
		// least a back-off before it). A back-off that had expired before it was checked
		// (a slow attempt) has no wait, and no due time.
		for _, due := range backOffDue(b, e, "crash") {
			for _, p := range pulled {
				if p.After(due.Add(-backoff / 2)) {
					late = append(late, p.Sub(due))
					break
				}
			}
		}
		r.signal(2)
		r.wait(b, time.Minute)
	}
	report(b, "back-off restart: due time to restart", "ms-late", late)
}

// backOffDue reads the due times of the back-offs the pod's monitor waited out.
func backOffDue(b *testing.B, e *env, name string) []time.Time {
	data, err := os.ReadFile(filepath.Join(e.podDir("default", name), "monitor.log"))
	if err != nil {
		b.Fatal(err)
	}
	var due []time.Time
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, `msg="back-off over"`) {
			continue
		}
		_, v, ok := strings.Cut(l, " due=")
		if !ok {
			b.Fatalf("monitor.log: no due time in %q", l)
		}
		t, err := time.Parse(time.RFC3339Nano, strings.Fields(v)[0])
		if err != nil {
			b.Fatalf("monitor.log: %q: %v", l, err)
		}
		due = append(due, t)
	}
	if len(due) == 0 {
		b.Fatal("monitor.log: no back-off")
	}
	return due
}
