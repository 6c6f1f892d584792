//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// The benchmarks measure minipod the way a user sees it: from invoking `minipod run` to the
// state in the status file. Each runs its own rounds (`make bench` uses -benchtime 1x) and
// prints a table; the README's figures come from here.

const benchRounds = 20

func idlePod(name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: a, image: "%s", command: [sleep, "100000"]}
  - {name: b, image: "%s", command: [sleep, "100000"]}
`, name, image, image)
}

// BenchmarkPodStart: a 2-container pod, from `minipod run` to both containers running,
// then from SIGINT to `run` exiting with everything torn down.
func BenchmarkPodStart(b *testing.B) {
	e := newEnv(b)
	for range b.N {
		start, stop := measureStarts(b, e, idlePod("bench", "rootfs:"+rootfsDir))
		report(b, "2-container pod: run to all running", "ms-start", start)
		report(b, "2-container pod: SIGINT to torn down", "ms-teardown", stop)
	}
}

// measureStarts runs the 2-container pod manifest benchRounds times.
func measureStarts(b *testing.B, e *env, manifest string) (start, stop []time.Duration) {
	return measureStartsN(b, e, manifest, benchRounds)
}

// measureStartsN runs the 2-container pod manifest n times.
func measureStartsN(b *testing.B, e *env, manifest string, n int) (start, stop []time.Duration) {
	for range n {
		t0 := time.Now()
		r := e.run(manifest)
		path := e.statusPath("default", "bench")
		for !bothRunning(path) {
			if r.exited() {
				b.Fatalf("run exited early: %s", r.stderr())
			}
			// Polling faster steals enough CPU from the pod start on 2 cores to slow it.
			time.Sleep(5 * time.Millisecond)
		}
		start = append(start, time.Since(t0))
		t1 := time.Now()
		r.signal(syscall.SIGINT)
		if code := r.wait(b, time.Minute); code != 130 {
			b.Fatalf("run exited %d, want 130: %s", code, r.stderr())
		}
		stop = append(stop, time.Since(t1))
	}
	return start, stop
}

// BenchmarkPodRunToCompletion: a 1-container pod running `true`, from `minipod run` to its
// exit (pod Succeeded, torn down, removed).
func BenchmarkPodRunToCompletion(b *testing.B) {
	e := newEnv(b)
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: "rootfs:%s", command: ["true"]}
`, rootfsDir)
	var d []time.Duration
	for range b.N {
		for range benchRounds {
			t0 := time.Now()
			r := e.run(manifest)
			if code := r.wait(b, time.Minute); code != 0 {
				b.Fatalf("run exited %d: %s", code, r.stderr())
			}
			d = append(d, time.Since(t0))
		}
	}
	report(b, "1-container `true` pod: run to exit", "ms-run", d)
}

// BenchmarkIdlePodMemory: 10 idle 2-container pods; the resident memory of minipod's own
// processes (the per-pod monitors, and the foreground `run` commands), per pod.
// Sampled after 3 s and after Go's forced collection every two minutes, which touches the
// binary's tables for every goroutine's stack (file-backed pages, counted in RSS).
func BenchmarkIdlePodMemory(b *testing.B) {
	measureIdleMemory(b, "", idlePod, 3*time.Second, 130*time.Second)
}

// BenchmarkIdlePodMemoryWithProbes: the same with two probes per container (HTTP liveness,
// TCP readiness) every second.
// Sampled again after two minutes: probes allocate, and Go's forced collection every two
// minutes scans every stack, so the first seconds understate what a probing monitor holds.
func BenchmarkIdlePodMemoryWithProbes(b *testing.B) {
	measureIdleMemory(b, ", 2 probes/container at 1 s", probedPod, 3*time.Second, 130*time.Second)
}

// probedPod is a 2-container pod whose containers serve HTTP and are probed every second.
// The liveness probes ask for a file that exists (httpd answers 404 for /, which would make the
// pod crash-loop instead of idling).
func probedPod(name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: a
    image: "%s"
    command: [httpd, -f, -p, "8080", -h, /]
    livenessProbe: {httpGet: {port: 8080, path: /etc/hostname}, periodSeconds: 1}
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
  - name: b
    image: "%s"
    command: [httpd, -f, -p, "8081", -h, /]
    livenessProbe: {httpGet: {port: 8081, path: /etc/hostname}, periodSeconds: 1}
    readinessProbe: {tcpSocket: {port: 8081}, periodSeconds: 1}
`, name, image, image)
}

// measureIdleMemory samples at each of idle, counted from the last pod's start (3 s if none).
func measureIdleMemory(b *testing.B, what string, manifest func(name, image string) string, idle ...time.Duration) {
	if len(idle) == 0 {
		idle = []time.Duration{3 * time.Second}
	}
	const pods = 10
	e := newEnv(b)
	for range b.N {
		var runs []*runProc
		for i := range pods {
			name := fmt.Sprintf("idle%d", i)
			runs = append(runs, e.run(manifest(name, "rootfs:"+rootfsDir)))
			path := e.statusPath("default", name)
			deadline := time.Now().Add(time.Minute)
			for !bothRunning(path) {
				if time.Now().After(deadline) {
					b.Fatalf("pod %s did not start", name)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		started := time.Now()
		for _, at := range idle {
			time.Sleep(time.Until(started.Add(at)))
			var mon, run memUse
			for _, r := range runs {
				run.add(r.pid())
			}
			for i := range pods {
				mon.add(monitorPID(b, e, fmt.Sprintf("idle%d", i)))
			}
			when := fmt.Sprintf(", after %s", at)
			fmt.Printf("%-44s %8.1f MB RSS %8.1f MB PSS  (per pod, %d pods)\n", "monitor process"+what+when, mon.rss/pods/1024, mon.pss/pods/1024, pods)
			fmt.Printf("%-44s %8.1f MB RSS %8.1f MB PSS  (per pod, %d pods)\n", "monitor + foreground `run`"+what+when, (mon.rss+run.rss)/pods/1024, (mon.pss+run.pss)/pods/1024, pods)
			b.ReportMetric(mon.rss/pods/1024, "MB-RSS/pod")
			b.ReportMetric(mon.pss/pods/1024, "MB-PSS/pod")
		}
		for _, r := range runs {
			r.signal(syscall.SIGINT)
		}
		for _, r := range runs {
			r.wait(b, time.Minute)
		}
	}
}

func bothRunning(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var p api.Pod
	if err := json.Unmarshal(b, &p); err != nil {
		return false
	}
	cs := p.Status.ContainerStatuses
	return len(cs) == 2 && cs[0].State.Running != nil && cs[1].State.Running != nil
}

func monitorPID(b testing.TB, e *env, name string) int {
	data, err := os.ReadFile(filepath.Join(e.podDir("default", name), "monitor.pid"))
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

type memUse struct{ rss, pss float64 } // KiB

func (m *memUse) add(pid int) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "Rss:":
			m.rss += v
		case "Pss:":
			m.pss += v
		}
	}
}

func report(b *testing.B, what, unit string, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	med := d[len(d)/2]
	p90 := d[(len(d)*9+9)/10-1]
	fmt.Printf("%-44s median %7.1f ms  p90 %7.1f ms  (n=%d)\n", what, ms(med), ms(p90), len(d))
	b.ReportMetric(ms(med), unit+"-median")
	b.ReportMetric(ms(p90), unit+"-p90")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPodStartHostPort: the 2-container pod with and without a hostPort, A/B in
// alternating rounds, from `minipod run` to both containers running.
func BenchmarkPodStartHostPort(b *testing.B) {
	e := newEnv(b)
	plain := idlePod("bench", "rootfs:"+rootfsDir)
	withPort := strings.Replace(plain, `command: [sleep, "100000"]}`+"\n", fmt.Sprintf(`command: [sleep, "100000"], ports: [{containerPort: 80, hostPort: %d}]}`+"\n", freePort(b)), 1)
	if withPort == plain {
		b.Fatal("no hostPort in the manifest")
	}
	for range b.N {
		var without, with []time.Duration
		for range benchRounds / 2 {
			s, _ := measureStartsN(b, e, plain, 1)
			without = append(without, s...)
			s, _ = measureStartsN(b, e, withPort, 1)
			with = append(with, s...)
		}
		report(b, "2-container pod: run to all running", "ms-plain", without)
		report(b, "  the same with a hostPort", "ms-hostport", with)
	}
}
