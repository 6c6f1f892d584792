//go:build integration

package integration

import (
	"fmt"
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
// running, and from SIGINT to everything torn down.
func BenchmarkPodStartResources(b *testing.B) {
	e := newEnv(b)
	img := "rootfs:" + rootfsDir
	variants := []struct{ name, manifest string }{
		{"plain", idlePod("bench", img)},
		{"resources", resourcesPod("bench", img)},
	}
	for range b.N {
		start := make([][]time.Duration, len(variants))
		stop := make([][]time.Duration, len(variants))
		for range benchRounds {
			for i, v := range variants {
				s, t := measureStartOnce(b, e, v.manifest)
				start[i], stop[i] = append(start[i], s), append(stop[i], t)
			}
		}
		for i, v := range variants {
			report(b, "2-container pod, "+v.name+": run to all running", "ms-start-"+v.name, start[i])
			report(b, "2-container pod, "+v.name+": SIGINT to torn down", "ms-teardown-"+v.name, stop[i])
		}
	}
}

// measureStartOnce is one round of measureStarts.
func measureStartOnce(b *testing.B, e *env, manifest string) (start, stop time.Duration) {
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
