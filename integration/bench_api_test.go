//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
)

// BenchmarkMonitorAPI: what talking to a running pod costs. `minipod exec POD -- true` end to
// end; how long after the monitor records an event a watcher has it; and the CPU that idle
// foreground `run` followers use.
func BenchmarkMonitorAPI(b *testing.B) {
	e := newEnv(b)
	for range b.N {
		// exec round trip.
		r := e.run(idlePod("execbench", "rootfs:"+rootfsDir))
		e.waitFor(b, "default", "execbench", running("a", "b"), time.Minute)
		var execs []time.Duration
		for range benchRounds {
			t0 := time.Now()
			if res := e.execTimeout(time.Minute, "exec", "execbench", "--", "true"); res.code != 0 {
				b.Fatalf("exec: %s", res.stderr)
			}
			execs = append(execs, time.Since(t0))
		}
		report(b, "`minipod exec POD -- true`, end to end", "ms-exec", execs)

		// Watch latency: a crash-looping container makes events (Created, Started, BackOff...)
		// with the monitor's microsecond times; the watcher notes when each arrives.
		flappy := newPod("flappy", api.RestartPolicyAlways, sh("c", "exit 1"))
		flappy.Spec.TerminationGracePeriodSeconds = int64p(0)
		e.run(manifest(flappy))
		e.waitFor(b, "default", "flappy", func(p *api.Pod) bool { return p.Status.StartTime != nil }, time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		w, err := monitorapi.NewClient(e.podDir("default", "flappy")).Watch(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		start := time.Now()
		for len(lat) < 4*benchRounds && time.Since(start) < time.Minute {
			ev, err := w.Next()
			if err != nil {
				break
			}
			if ev.Event != nil && ev.Event.Time.After(start) {
				lat = append(lat, time.Since(ev.Event.Time.Time))
			}
		}
		cancel()
		w.Close()
		report(b, "event recorded -> a watcher has it", "ms-watch", lat)
		e.exec("delete", "pod", "flappy", "--grace-period", "0")

		// Idle followers: CPU over 5 s of the foreground runs of 10 idle pods.
		var runs []*runProc
		for i := range 10 {
			name := fmt.Sprintf("follow%d", i)
			runs = append(runs, e.run(idlePod(name, "rootfs:"+rootfsDir)))
			e.waitFor(b, "default", name, running("a", "b"), time.Minute)
		}
		time.Sleep(time.Second)
		before := cpuTicks(runs)
		time.Sleep(5 * time.Second)
		used := cpuTicks(runs) - before
		fmt.Printf("%-44s %8.2f %% of a CPU (10 followers, 5 s)\n", "idle foreground `run` followers", float64(used)/5)
		b.ReportMetric(float64(used)/5, "%CPU-followers")
		for _, rp := range append(runs, r) {
			rp.signal(2)
		}
		for _, rp := range append(runs, r) {
			rp.wait(b, time.Minute)
		}
	}
}

// cpuTicks sums the user and system clock ticks (1/100 s) of the processes.
func cpuTicks(runs []*runProc) int64 {
	var n int64
	for _, r := range runs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.pid()))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		n += u + s
	}
	return n
}
