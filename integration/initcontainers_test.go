//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// events reads the pod's event log.
func (e *env) events(t testing.TB, ns, name string) []api.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.podDir(ns, name), "events.jsonl"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []api.Event
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var ev api.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("events.jsonl line %q: %v", l, err)
		}
		out = append(out, ev)
	}
	return out
}

// eventsWith returns the events of a container with the reason (and message prefix).
func eventsWith(evs []api.Event, container, reason, msgPrefix string) []api.Event {
	var out []api.Event
	for _, ev := range evs {
		if ev.Container == container && ev.Reason == reason && strings.HasPrefix(ev.Message, msgPrefix) {
			out = append(out, ev)
		}
	}
	return out
}

// hostDir is a directory of the test, mounted into pods as a hostPath volume, so the test
// reads what containers wrote after the pod is gone.
func hostDir(t *testing.T, e *env) (string, api.Volume) {
	t.Helper()
	dir := filepath.Join(e.dir, "shared-"+randHex(3))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir, api.Volume{Name: "work", HostPath: &api.HostPathVolumeSource{Path: dir}}
}

func withWork(c api.Container) api.Container {
	c.VolumeMounts = append(c.VolumeMounts, api.VolumeMount{Name: "work", MountPath: "/work"})
	return c
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return strings.Fields(string(b))
}

func sidecarC(c api.Container) api.Container {
	always := api.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

// collect records every distinct value key(p) takes while the pod runs, in order.
type collector struct {
	mu   sync.Mutex
	seen []string
}

func (c *collector) add(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.seen); n == 0 || c.seen[n-1] != v {
		c.seen = append(c.seen, v)
	}
}

func (c *collector) values() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

// Init containers run one at a time, in order, each to exit 0, before the app containers;
// their statuses, the Initialized condition and `get pods` follow the kubelet.
func TestInitContainersInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir, vol := hostDir(t, e)
	p := newPod("init-order", api.RestartPolicyNever,
		withWork(sh("app", "echo app >> /work/order")))
	p.Spec.InitContainers = []api.Container{
		// If the two ran together, i2 would write first.
		withWork(sh("i1", "sleep 0.5; echo i1 >> /work/order")),
		withWork(sh("i2", "echo i2 >> /work/order")),
	}
	p.Spec.Volumes = []api.Volume{vol}
	var reasons collector
	w := watchStatus(e, "default", "init-order", 5*time.Millisecond, func(p *api.Pod) {
		if cs := ctrStatus(p, "app"); cs != nil && cs.State.Waiting != nil {
			reasons.add("app:" + cs.State.Waiting.Reason)
		}
		running := false
		for _, cs := range p.Status.InitContainerStatuses {
			if cs.State.Running != nil {
				running = true
				if cs.Ready {
					reasons.add("ready while running:" + cs.Name)
				}
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == api.PodInitialized {
				reasons.add("Initialized:" + string(c.Status))
				if running && c.Status == api.ConditionTrue {
					reasons.add("Initialized:True while an init container runs")
				}
			}
		}
	})
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d, want 0 (pod Succeeded)\n%s", code, r.stderr())
	}
	w.finish()
	if got := lines(t, filepath.Join(dir, "order")); !slices.Equal(got, []string{"i1", "i2", "app"}) {
		t.Errorf("order of writes %q, want i1 i2 app", got)
	}
	final := e.status("default", "init-order")
	if len(final.Status.InitContainerStatuses) != 2 {
		t.Fatalf("initContainerStatuses: %s", describe(final))
	}
	for i, cs := range final.Status.InitContainerStatuses {
		if want := []string{"i1", "i2"}[i]; cs.Name != want || cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" || !cs.Ready {
			t.Errorf("initContainerStatuses[%d] = %+v, want %s terminated Completed and ready", i, cs, want)
		}
	}
	seen := reasons.values()
	if !slices.Contains(seen, "app:PodInitializing") || !slices.Contains(seen, "Initialized:False") || !slices.Contains(seen, "Initialized:True") {
		t.Errorf("while initializing saw %q, want app waiting PodInitializing and Initialized False then True", seen)
	}
	for _, s := range seen {
		// A regular init container is ready only once it exited 0 (prober_manager.go).
		if strings.Contains(s, "while") {
			t.Errorf("saw %q", s)
			break
		}
	}
	if !strings.Contains(r.stderr(), "minipod: container i1 Terminated (Completed, exit code 0)") {
		t.Errorf("run did not report the init container:\n%s", r.stderr())
	}
}

// A failed init container under restartPolicy Never fails the pod; no app container starts.
func TestInitContainerFailureNever(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("init-fail", api.RestartPolicyNever, sh("app", "echo should-not-run"))
	p.Spec.InitContainers = []api.Container{sh("setup", "echo setting up; exit 3"), sh("later", "true")}
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 60*time.Second); code != 1 {
		t.Fatalf("run exit %d, want 1 (pod Failed)\n%s", code, r.stderr())
	}
	final := e.status("default", "init-fail")
	if final.Status.Phase != api.PodFailed {
		t.Errorf("phase %s, want Failed", final.Status.Phase)
	}
	init := final.Status.InitContainerStatuses
	if init[0].State.Terminated == nil || init[0].State.Terminated.ExitCode != 3 || init[0].State.Terminated.Reason != "Error" {
		t.Errorf("setup status %+v, want terminated Error 3", init[0])
	}
	if init[1].State.Waiting == nil || init[1].State.Waiting.Reason != "PodInitializing" {
		t.Errorf("later status %+v, want never started (PodInitializing)", init[1])
	}
	if cs := ctrStatus(final, "app"); cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" || cs.ContainerID != "" {
		t.Errorf("app status %+v, want never started", cs)
	}
	if r.hasLine("app", "should-not-run") {
		t.Error("the app container ran")
	}
	res := e.mustExec(t, "get", "pods")
	if !strings.Contains(res.stdout, "Init:Error") {
		t.Errorf("get pods:\n%s\nwant STATUS Init:Error", res.stdout)
	}
}

// Under OnFailure an init container is retried with the crash-loop back-off until it
// succeeds; the pod stays Pending meanwhile and then runs its app.
func TestInitContainerRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir, vol := hostDir(t, e)
	p := newPod("init-retry", api.RestartPolicyOnFailure, withWork(sh("app", "echo app ran")))
	// Fails twice, then succeeds.
	p.Spec.InitContainers = []api.Container{withWork(sh("flaky", "echo x >> /work/tries; [ $(wc -l < /work/tries) -ge 3 ]"))}
	p.Spec.Volumes = []api.Volume{vol}
	var statuses collector
	w := watchStatus(e, "default", "init-retry", 5*time.Millisecond, func(p *api.Pod) {
		statuses.add(string(p.Status.Phase))
		if cs := p.Status.InitContainerStatuses; len(cs) == 1 && cs[0].State.Waiting != nil {
			statuses.add("flaky:" + cs[0].State.Waiting.Reason)
		}
	})
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d, want 0\n%s", code, r.stderr())
	}
	w.finish()
	if n := len(lines(t, filepath.Join(dir, "tries"))); n != 3 {
		t.Errorf("init container ran %d times, want 3", n)
	}
	final := e.status("default", "init-retry")
	if cs := final.Status.InitContainerStatuses[0]; cs.RestartCount != 2 || cs.LastState.Terminated == nil || cs.LastState.Terminated.ExitCode != 1 {
		t.Errorf("flaky status %+v, want restartCount 2 and a failed last state", cs)
	}
	seen := statuses.values()
	if !slices.Contains(seen, "flaky:CrashLoopBackOff") || slices.Contains(seen, string(api.PodFailed)) || slices.Contains(seen, string(api.PodRunning)) && slices.Index(seen, string(api.PodRunning)) < slices.Index(seen, "flaky:CrashLoopBackOff") {
		t.Errorf("saw %q: want CrashLoopBackOff on the init container while Pending, never Failed", seen)
	}
	if !r.hasLine("app", "app ran") {
		t.Error("the app never ran")
	}
}

// Sidecars start in order, the next init container only once the sidecar before it has
// started (its startup probe succeeded); they run beside the app, do not keep a Never pod
// from succeeding, and stop after the app in reverse order.
func TestSidecars(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir, vol := hostDir(t, e)
	sidecarScript := func(name, extra string) string {
		return "trap 'echo " + name + "-term >> /work/order; exit 0' TERM; echo " + name + "-up >> /work/order; " + extra + " while true; do sleep 0.05; done"
	}
	side2 := withWork(sh("side2", sidecarScript("side2", "sleep 1; echo side2-ready >> /work/order; touch /tmp/ready;")))
	side2.StartupProbe = &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}}, PeriodSeconds: 1, FailureThreshold: 10}
	p := newPod("sidecars", api.RestartPolicyNever, withWork(sh("app", "echo app >> /work/order; sleep 0.5")))
	p.Spec.InitContainers = []api.Container{
		sidecarC(withWork(sh("side1", sidecarScript("side1", "")))),
		sidecarC(side2),
		withWork(sh("setup", "echo setup >> /work/order")),
	}
	p.Spec.Volumes = []api.Volume{vol}
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d, want 0: a sidecar must not keep a Never pod from succeeding\n%s", code, r.stderr())
	}
	want := []string{"side1-up", "side2-up", "side2-ready", "setup", "app", "side2-term", "side1-term"}
	if got := lines(t, filepath.Join(dir, "order")); !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
	final := e.status("default", "sidecars")
	if final.Status.Phase != api.PodSucceeded {
		t.Errorf("phase %s, want Succeeded", final.Status.Phase)
	}
}

// A sidecar that exits is restarted whatever the pod's restart policy, and its exits never
// decide the pod's phase; a started sidecar counts in READY.
func TestSidecarRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("side-restart", api.RestartPolicyNever, sh("app", "sleep 3"))
	p.Spec.InitContainers = []api.Container{sidecarC(sh("flappy", "sleep 0.3; exit 1"))}
	r := e.run(manifest(p), "--rm=false")
	mid := e.waitFor(t, "default", "side-restart", func(p *api.Pod) bool {
		return len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].RestartCount >= 2
	}, 30*time.Second)
	if mid.Status.Phase != api.PodRunning {
		t.Errorf("phase %s while the sidecar restarts, want Running", mid.Status.Phase)
	}
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run exit %d, want 0 (the sidecar's exit 1 does not count)\n%s", code, r.stderr())
	}
	if final := e.status("default", "side-restart"); final.Status.Phase != api.PodSucceeded {
		t.Errorf("phase %s, want Succeeded", final.Status.Phase)
	}
}

// While a sidecar runs and has started, `get pods` counts it in READY.
func TestSidecarReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("side-ready", api.RestartPolicyAlways, sh("app", "sleep 100"))
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	p.Spec.InitContainers = []api.Container{sidecarC(sh("side", "sleep 100"))}
	e.run(manifest(p))
	e.waitFor(t, "default", "side-ready", running("app"), 30*time.Second)
	res := e.mustExec(t, "get", "pods")
	if f := strings.Fields(strings.Split(strings.TrimSpace(res.stdout), "\n")[1]); f[1] != "2/2" || f[2] != "Running" {
		t.Errorf("get pods:\n%s\nwant READY 2/2 Running", res.stdout)
	}
}
