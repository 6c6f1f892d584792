//go:build integration

package integration

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// densitySubnet is the pod subnet of a density run with more pods than a test's /24 holds:
// 10.249.0.0/21 (2,046 addresses), used by no test (they take 10.250.X.0/24, 10.251.X.0/24
// and 10.252.X.0/30) and not by the defaults or Podman.
const densitySubnet = "10.249.0.0/21"

// BenchmarkDensity starts idle 2-container pods one after another (`run -d`, each to all
// its containers running), then times `get pods` on all of them and `delete pods --all`, and
// checks that nothing is left. MINIPOD_BENCH_PODS sets the count (default 100; the README's
// figures are from 1,000, which takes some minutes).
func BenchmarkDensity(b *testing.B) {
	n := 100
	if v := os.Getenv("MINIPOD_BENCH_PODS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			b.Fatalf("MINIPOD_BENCH_PODS=%q: want a number of at least 10", v)
		}
	}
	guard := &densityGuard{}
	b.Cleanup(guard.disarm) // registered before the env's: runs after it
	e := newEnv(b)
	if n > 250 {
		if subnetInUseCIDR(densitySubnet) {
			b.Fatalf("%s is in use on this host (another density run?)", densitySubnet)
		}
		e.subnet = densitySubnet
		_, e.subnetNet, _ = net.ParseCIDR(densitySubnet)
	}
	deleteAll := guard.arm(b, e)
	deadline := densityDeadline()
	maxPods := fmt.Sprintf("--max-pods=%d", n)
	for range b.N {
		starts := make([]time.Duration, n)
		mounts := map[int]int{}
		for i := range n {
			if time.Now().After(deadline) {
				b.Fatalf("stopped after %d of %d pods: near the -timeout, so that the pods are deleted", i, n)
			}
			name := fmt.Sprintf("idle%04d", i)
			manifest := idlePod(name, "rootfs:"+rootfsDir)
			// Not tracked: the env's cleanup would then run one delete per pod; deleteAll runs
			// first, and the env's cleanup still finds any pod left by its directory.
			file := filepath.Join(e.dir, name+".yaml")
			if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
				b.Fatal(err)
			}
			res := e.execTimeout(2*time.Minute, "run", "-d", maxPods, file)
			if res.code != 0 {
				b.Fatalf("pod %d of %d: run -d exited %d: %s", i+1, n, res.code, res.stderr)
			}
			starts[i] = res.dur
			if (i+1)%(n/10) == 0 {
				mounts[i+1] = countMounts()
			}
		}
		tenth := max(1, n/10)
		first, last := median(starts[:tenth]), median(starts[n-tenth:])
		fmt.Printf("%d idle 2-container pods, `run -d` one after another:\n", n)
		for k := range 10 {
			lo, hi := k*n/10, (k+1)*n/10
			fmt.Printf("  pods %4d-%4d  median %7.1f ms  (host mounts at the end: %d)\n", lo+1, hi, ms(median(starts[lo:hi])), mounts[hi])
		}
		fmt.Printf("%-44s first %d: %.1f ms, last %d: %.1f ms (%+.0f %%)\n", "start per pod, median", tenth, ms(first), tenth, ms(last), 100*(ms(last)/ms(first)-1))
		b.ReportMetric(ms(first), "ms-start-first10%")
		b.ReportMetric(ms(last), "ms-start-last10%")

		var gets []time.Duration
		for range 5 {
			res := e.exec("get", "pods")
			if res.code != 0 {
				b.Fatalf("get pods exited %d: %s", res.code, res.stderr)
			}
			if rows := strings.Count(res.stdout, "Running"); rows != n {
				b.Fatalf("get pods shows %d running pods, want %d", rows, n)
			}
			gets = append(gets, res.dur)
		}
		report(b, fmt.Sprintf("`get pods` with %d pods", n), "ms-get", gets)

		res := deleteAll()
		if res.code != 0 {
			b.Fatalf("delete pods --all exited %d: %s", res.code, res.stderr)
		}
		if got := strings.Count(res.stdout, "force deleted"); got != n {
			b.Fatalf("delete reported %d pods, want %d", got, n)
		}
		fmt.Printf("%-44s %.1f s\n", fmt.Sprintf("`delete pods --all` of %d pods", n), res.dur.Seconds())
		b.ReportMetric(res.dur.Seconds(), "s-delete-all")
		assertNoLeaks(b, e)
	}
}

// densityGuard makes sure a density run that fails, times out or is interrupted leaves no
// pods behind (each holds mounts, a veth and processes): arm returns the run's `delete pods
// --all -A`, which also runs as the benchmark's first cleanup and on SIGINT/SIGTERM until
// the env's own cleanup has finished (then the env's bridge, NAT table, cgroups and dirs
// are removed too).
type densityGuard struct {
	sig  chan os.Signal
	stop chan struct{}
}

func (g *densityGuard) arm(b *testing.B, e *env) func() result {
	deleteAll := func() result {
		return e.execTimeout(10*time.Minute, "delete", "pods", "--all", "-A", "--force", "--grace-period=0")
	}
	g.sig, g.stop = make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(g.sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-g.sig:
			fmt.Fprintf(os.Stderr, "BenchmarkDensity: %v: deleting all pods before exiting\n", s)
			if r := deleteAll(); r.code != 0 {
				fmt.Fprintf(os.Stderr, "BenchmarkDensity: delete pods --all -A exited %d: %s\n", r.code, r.stderr)
			}
			e.forceCleanup(b) // what the env's cleanup would do: bridge, NAT table, cgroups, dirs
			removeBaseDir()
			os.Exit(1)
		case <-g.stop:
		}
	}()
	b.Cleanup(func() {
		if r := deleteAll(); r.code != 0 {
			b.Errorf("cleanup: delete pods --all -A exited %d: %s", r.code, r.stderr)
		}
	})
	return deleteAll
}

// disarm ends the signal handling, once the env's cleanup is done.
func (g *densityGuard) disarm() {
	if g.sig != nil {
		signal.Stop(g.sig)
		close(g.stop)
	}
}

// densityDeadline is when a density run stops starting pods so that deleting them still fits
// in the test binary's -timeout (whose panic would skip every cleanup).
func densityDeadline() time.Time {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return binaryStart.Add(24 * time.Hour)
	}
	d, ok := f.Value.(flag.Getter).Get().(time.Duration)
	if !ok || d <= 0 {
		return binaryStart.Add(24 * time.Hour)
	}
	return binaryStart.Add(d - min(d/3, 5*time.Minute))
}

// binaryStart is about when the test binary's -timeout clock started.
var binaryStart = time.Now()

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// countMounts is the size of the host's mount table, which every container start copies.
func countMounts() int {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return -1
	}
	return strings.Count(string(b), "\n")
}

// subnetInUseCIDR reports whether an address of the host is in cidr.
func subnetInUseCIDR(cidr string) bool {
	_, want, _ := net.ParseCIDR(cidr)
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && want.Contains(ipn.IP) {
			return true
		}
	}
	return false
}
