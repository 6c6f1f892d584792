//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"sigs.k8s.io/yaml"
)

// 10. 50 create/teardown cycles mixing clean exits, start errors, a SIGKILLed `run` and a
// SIGKILLed monitor; nothing may leak. Each step has its own timeout; the cycles have no time
// budget, which a loaded VM would turn into a speed assertion.
func TestLeakCycles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const cycles = 50
	sleeper := func(name string) *api.Pod {
		p := newPod(name, api.RestartPolicyAlways, sh("c", "echo up; exec sleep 1000"))
		p.Spec.TerminationGracePeriodSeconds = int64p(1)
		return p
	}
	start := time.Now()
	for i := 0; i < cycles; i++ {
		name := fmt.Sprintf("cyc%d", i)
		switch i % 5 {
		case 0, 1: // quick `true` pod, default --rm
			p := newPod(name, api.RestartPolicyNever, api.Container{Name: "c", Image: rootfsImage(), Command: []string{"true"}})
			r := e.run(manifest(p))
			if code := r.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("cycle %d: run exit %d, want 0; stderr:\n%s", i, code, tail(r.stderr(), 3000))
			}
			if _, err := os.Stat(e.podDir("default", name)); !os.IsNotExist(err) {
				t.Errorf("cycle %d: pod dir remains after run with default --rm", i)
			}

		case 2: // command that does not exist: StartError, Failed
			p := newPod(name, api.RestartPolicyNever, api.Container{Name: "c", Image: rootfsImage(), Command: []string{"/bin/no-such-command"}})
			r := e.run(manifest(p), "--rm=false")
			if code := r.wait(t, 30*time.Second); code != 1 {
				t.Errorf("cycle %d: run exit %d for a pod whose command does not exist, want 1; stderr:\n%s", i, code, tail(r.stderr(), 2000))
			}
			st := e.status("default", name)
			if st == nil {
				t.Fatalf("cycle %d: no status with --rm=false", i)
			}
			cs := ctrStatus(st, "c")
			if st.Status.Phase != api.PodFailed || cs == nil || cs.State.Terminated == nil || cs.State.Terminated.Reason != "StartError" || cs.State.Terminated.ExitCode != 128 {
				t.Errorf("cycle %d: want phase Failed, terminated reason StartError exit 128; got %s", i, describe(st))
			}
			assertReleased(t, e)
			if res := e.exec("delete", "pod", name, "-n", "default"); res.code != 0 {
				t.Errorf("cycle %d: delete pod exit %d: %s", i, res.code, res.stderr)
			}

		case 3: // `run` SIGKILLed mid-run; the monitor keeps the pod; delete cleans up
			r := e.run(manifest(sleeper(name)))
			e.waitFor(t, "default", name, running("c"), 30*time.Second)
			r.cmd.Process.Kill()
			r.wait(t, 10*time.Second)
			time.Sleep(200 * time.Millisecond)
			if st := e.status("default", name); st == nil || !running("c")(st) {
				t.Errorf("cycle %d: pod did not outlive its SIGKILLed run: %s", i, describe(st))
			}
			if res := e.exec("delete", "pod", name, "-n", "default"); res.code != 0 {
				t.Errorf("cycle %d: delete pod exit %d: %s", i, res.code, res.stderr)
			}

		case 4: // monitor SIGKILLed, rotating through three variants
			variant := (i / 5) % 3
			r := e.run(manifest(sleeper(name)))
			e.waitFor(t, "default", name, running("c"), 30*time.Second)
			mon := e.findMonitor(t, r, "default", name)
			if variant > 0 {
				// Everything crashes: run first (the monitor lives on), then the monitor.
				r.cmd.Process.Kill()
				r.wait(t, 10*time.Second)
			}
			t.Logf("cycle %d (variant %d): SIGKILL monitor pid %d", i, variant, mon)
			syscall.Kill(mon, syscall.SIGKILL)
			switch variant {
			case 0: // run is alive: it must notice, end and (default --rm) clean up
				select {
				case <-r.done:
					t.Logf("cycle %d: run exited %d after its monitor died", i, r.code)
				case <-time.After(15 * time.Second):
					t.Errorf("cycle %d: run still running 15s after its monitor died", i)
					r.cmd.Process.Kill()
					<-r.done
				}
				if _, err := os.Stat(e.podDir("default", name)); err == nil {
					if res := e.exec("delete", "pod", name, "-n", "default"); res.code != 0 {
						t.Errorf("cycle %d: delete pod exit %d: %s", i, res.code, res.stderr)
					}
				}
			case 1: // nothing supervises the pod: get lists it, delete cleans up
				if res := e.exec("get", "pods"); res.code != 0 || !strings.Contains(res.stdout, name) {
					t.Errorf("cycle %d: get pods (exit %d) does not list the pod whose monitor died:\n%s%s", i, res.code, res.stdout, res.stderr)
				}
				if res := e.exec("delete", "pod", name, "-n", "default"); res.code != 0 {
					t.Errorf("cycle %d: delete pod exit %d: %s", i, res.code, res.stderr)
				}
			case 2: // nothing supervises the pod: the next run (another pod) must work; then
				// the stale pod is gone (cleaned by that run) or delete cleans it up
				p := newPod(name+"-next", api.RestartPolicyNever, api.Container{Name: "c", Image: rootfsImage(), Command: []string{"true"}})
				r2 := e.run(manifest(p))
				if code := r2.wait(t, 60*time.Second); code != 0 {
					t.Errorf("cycle %d: the next run (with a stale pod whose monitor died) exit %d, want 0; stderr:\n%s", i, code, tail(r2.stderr(), 2000))
				}
				if _, err := os.Stat(e.podDir("default", name)); err == nil {
					if res := e.exec("delete", "pod", name, "-n", "default"); res.code != 0 {
						t.Errorf("cycle %d: delete pod exit %d: %s", i, res.code, res.stderr)
					}
				} else {
					t.Logf("cycle %d: the next run cleaned up the stale pod", i)
				}
			}
		}
		if i%10 == 9 {
			if l := waitNoLeaks(e, 3*time.Second); len(l) > 0 {
				t.Fatalf("after cycle %d: LEAKS (%d):\n  %s", i, len(l), strings.Join(l, "\n  "))
			}
			t.Logf("%d cycles clean after %v", i+1, time.Since(start).Round(time.Millisecond))
		}
	}
	assertNoLeaks(t, e)
}

func waitNoLeaks(e *env, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		l := e.leaks(false)
		if len(l) == 0 || time.Now().After(deadline) {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findMonitor finds the pod's monitor process: a pid file under the pod dir if there is one,
// else the minipod process (not the run itself) that belongs to this env and names the pod.
func (e *env) findMonitor(t *testing.T, r *runProc, ns, name string) int {
	t.Helper()
	binFI, err := os.Stat(binPath)
	if err != nil {
		t.Fatal(err)
	}
	isMinipod := func(pid int) bool {
		fi, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
		return err == nil && os.SameFile(fi, binFI)
	}
	// 1. pid files
	var fromFile []int
	filepath.WalkDir(e.podDir(ns, name), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(strings.ToLower(d.Name()), "pid") {
			return nil
		}
		b, _ := os.ReadFile(p)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 && pid != r.pid() && isMinipod(pid) {
			fromFile = append(fromFile, pid)
		}
		return nil
	})
	if len(fromFile) == 1 {
		return fromFile[0]
	}
	// 2. scan /proc
	cands := map[int]procInfo{}
	for _, p := range e.processes() {
		if p.pid == r.pid() || !isMinipod(p.pid) {
			continue
		}
		if f := strings.Fields(p.cmdline); len(f) > 1 && f[1] == "init" {
			continue // a container init still being set up
		}
		cands[p.pid] = p
	}
	// keep the topmost: drop candidates whose parent is a candidate (per-container helpers)
	var top []procInfo
	for pid, p := range cands {
		if _, parentIsCand := cands[ppid(pid)]; !parentIsCand {
			top = append(top, p)
		}
	}
	if len(top) > 1 {
		var named []procInfo
		for _, p := range top {
			if strings.Contains(p.cmdline, name) {
				named = append(named, p)
			}
		}
		if len(named) > 0 {
			top = named
		}
	}
	if len(top) != 1 {
		t.Fatalf("cannot identify the monitor of %s/%s: pid files %v, candidates %+v (all env processes: %+v)", ns, name, fromFile, top, e.processes())
	}
	return top[0].pid
}

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// TestExampleHelloPod runs examples/hello-pod.yaml with its images replaced by the test rootfs.
func TestExampleHelloPod(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "examples", "hello-pod.yaml"))
	if os.IsNotExist(err) {
		t.Skip("examples/hello-pod.yaml does not exist")
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("examples/hello-pod.yaml does not parse: %v", err)
	}
	spec, _ := m["spec"].(map[string]any)
	var names []string
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := spec[key].([]any)
		for _, c := range list {
			if cm, ok := c.(map[string]any); ok {
				cm["image"] = rootfsImage()
				if n, ok := cm["name"].(string); ok && key == "containers" {
					names = append(names, n)
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("examples/hello-pod.yaml has no containers")
	}
	md, _ := m["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	if ns == "" {
		ns = "default"
	}
	j, _ := json.Marshal(m)

	e := newEnv(t)
	r := e.run(string(j))
	select {
	case <-r.done:
		if r.code != 0 {
			t.Errorf("run exit %d, want 0; stderr:\n%s", r.code, tail(r.stderr(), 3000))
		}
	case <-time.After(20 * time.Second):
		// A long-running example: it must be Running; stop it.
		if st := e.status(ns, name); st == nil || st.Status.Phase != api.PodRunning {
			t.Errorf("example still not finished after 20s and not Running: %s", describe(st))
		}
		r.signal(syscall.SIGINT)
		if code := r.wait(t, 60*time.Second); code != 130 {
			t.Errorf("run exit %d after SIGINT, want 130", code)
		}
	}
	got := 0
	for _, n := range names {
		got += len(r.lines(n))
	}
	if got == 0 {
		t.Errorf("the example printed nothing with a [container] prefix; stdout:\n%s", tail(r.stdout(), 2000))
	}
	assertNoLeaks(t, e)
}

// After a reboot /run is empty (no pod record, no pinned namespace), but the IP allocation,
// the pod's data under --root and its logs remain (containerd/cri#948, k3s#4682: "no IP
// addresses available in range set"). The next `minipod run` must release them.
func TestRebootLeftovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := newPod("before-reboot", api.RestartPolicyAlways, sh("c", "exec sleep 1000"))
	old.Spec.TerminationGracePeriodSeconds = int64p(0)
	r := e.run(manifest(old))
	e.waitFor(t, "default", old.Metadata.Name, running("c"), 30*time.Second)
	r.cmd.Process.Kill()
	r.wait(t, 10*time.Second)

	e.reboot(t)
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	leftovers := e.leaks(false)
	if len(leftovers) == 0 {
		t.Fatal("the simulated reboot left nothing to clean up; the test proves nothing")
	}
	t.Logf("left by the reboot: %v", leftovers)
	// minipod leaves alone what may belong to a pod being created right now: only resources
	// older than a minute are collected. Age them.
	past := time.Now().Add(-2 * time.Minute)
	for _, dir := range []string{e.rootDir, e.logDir} {
		filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
			if err == nil {
				os.Chtimes(p, past, past)
			}
			return nil
		})
	}

	next := newPod("after-reboot", api.RestartPolicyNever, api.Container{Name: "c", Image: rootfsImage(), Command: []string{"true"}})
	if code := e.run(manifest(next)).wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run after the reboot exited %d", code)
	}
	if left := waitNoLeaks(e, 10*time.Second); len(left) > 0 {
		t.Errorf("after the next run, still left: %v", left)
	}
}
