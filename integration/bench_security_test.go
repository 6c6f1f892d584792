//go:build integration

package integration

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSeccompStart: the 2-container pod of BenchmarkPodStart, from `minipod run` to both
// containers running, without a seccomp profile and with RuntimeDefault (the moby profile),
// the two alternating round by round so that both see the same machine.
func BenchmarkSeccompStart(b *testing.B) {
	e := newEnv(b)
	plain := idlePod("bench", "rootfs:"+rootfsDir)
	seccomp := strings.Replace(plain, "spec:\n", "spec:\n  securityContext: {seccompProfile: {type: RuntimeDefault}}\n", 1)
	for range b.N {
		var a, s []time.Duration
		for range benchRounds {
			a = append(a, startOnce(b, e, plain))
			s = append(s, startOnce(b, e, seccomp))
		}
		report(b, "2-container pod: run to all running", "ms-start", a)
		report(b, "same, seccomp RuntimeDefault", "ms-start-seccomp", s)
	}
}

// startOnce runs the pod "bench" until both containers run, stops it, and returns how long
// the start took.
func startOnce(b *testing.B, e *env, manifest string) time.Duration {
	t0 := time.Now()
	r := e.run(manifest)
	path := e.statusPath("default", "bench")
	for !bothRunning(path) {
		if r.exited() {
			b.Fatalf("run exited early: %s", r.stderr())
		}
		time.Sleep(5 * time.Millisecond) // see measureStarts
	}
	d := time.Since(t0)
	r.signal(syscall.SIGINT)
	if code := r.wait(b, time.Minute); code != 130 {
		b.Fatalf("run exited %d, want 130: %s", code, r.stderr())
	}
	return d
}
