//go:build integration

package integration

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// resourcesPod is idlePod with requests and limits on both containers (Burstable: container
// and pod cgroup values, the OOM score, admission against the host).
func resourcesPod(name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: a
    image: "%s"
    command: [sleep, "100000"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
  - name: b
    image: "%s"
    command: [sleep, "100000"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
`, name, image, image)
}

// BenchmarkPodStartResources: the 2-container bench pod without and with resources, rounds
// alternating so that both see the same machine, from `minipod run` to both containers
// running, and from SIGINT to everything torn down. With MINIPOD_BIN_B set to another build,
// the plain pod is also started with that one, for an A/B of two builds in one run.
func BenchmarkPodStartResources(b *testing.B) {
	e := newEnv(b)
	img := "rootfs:" + rootfsDir
	type variant struct{ name, unit, manifest, bin string }
	variants := []variant{
		{"plain", "plain", idlePod("bench", img), ""},
		{"resources", "resources", resourcesPod("bench", img), ""},
	}
	if other := os.Getenv("MINIPOD_BIN_B"); other != "" {
		variants = append(variants, variant{"plain (B)", "plain-B", idlePod("bench", img), other})
	}
	for range b.N {
		start := make([][]time.Duration, len(variants))
		stop := make([][]time.Duration, len(variants))
		for range benchRounds {
			for i, v := range variants {
				s, t := measureStartOnce(b, e, v.manifest, v.bin)
				start[i], stop[i] = append(start[i], s), append(stop[i], t)
			}
		}
		for i, v := range variants {
			report(b, "2-container pod, "+v.name+": run to all running", "ms-start-"+v.unit, start[i])
			report(b, "2-container pod, "+v.name+": SIGINT to torn down", "ms-teardown-"+v.unit, stop[i])
		}
	}
}

// measureStartOnce is one round of measureStarts, with another minipod binary if bin is set.
func measureStartOnce(b *testing.B, e *env, manifest, bin string) (start, stop time.Duration) {
	if bin != "" {
		// Benchmarks run one at a time: no other command starts meanwhile.
		saved := binPath
		binPath = bin
		defer func() { binPath = saved }()
	}
	t0 := time.Now()
	r := e.run(manifest)
	path := e.statusPath("default", "bench")
	for !bothRunning(path) {
		if r.exited() {
			b.Fatalf("run exited early: %s", r.stderr())
		}
		time.Sleep(5 * time.Millisecond)
	}
	start = time.Since(t0)
	t1 := time.Now()
	r.signal(syscall.SIGINT)
	if code := r.wait(b, time.Minute); code != 130 {
		b.Fatalf("run exited %d, want 130: %s", code, r.stderr())
	}
	return start, time.Since(t1)
}
