//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/minipod/minipod/api"
)

func execProbe(period, failures int32, cmd ...string) *api.Probe {
	return &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: cmd}}, PeriodSeconds: period, FailureThreshold: failures}
}

// A liveness probe that fails failureThreshold times in a row kills the container, which
// restarts per its policy; the events show each failure, one period apart, then the kill.
func TestLivenessProbeRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := sh("c", "touch /tmp/alive; sleep 1; rm /tmp/alive; sleep 1000")
	c.LivenessProbe = execProbe(1, 2, "cat", "/tmp/alive")
	grace := int64(1) // sh as PID 1 ignores SIGTERM: the kill is SIGKILL after one second
	c.LivenessProbe.TerminationGracePeriodSeconds = &grace
	p := newPod("liveness", api.RestartPolicyAlways, c)
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	e.run(manifest(p))
	final := e.waitFor(t, "default", "liveness", restartsAtLeast("c", 1), 30*time.Second)
	cs := ctrStatus(final, "c")
	if lt := cs.LastState.Terminated; lt == nil || lt.ExitCode != 137 || lt.Reason != "Error" {
		t.Errorf("lastState %+v, want terminated Error 137 (killed)", cs.LastState)
	}
	evs := e.events(t, "default", "liveness")
	failed := eventsWith(evs, "c", "Unhealthy", "Liveness probe failed: cat: can't open '/tmp/alive'")
	killed := eventsWith(evs, "c", "Killing", "Container c failed liveness probe, will be restarted")
	if len(failed) < 2 || len(killed) < 1 {
		t.Fatalf("events: %d liveness failures, %d kills; want 2 failures then a kill:\n%+v", len(failed), len(killed), evs)
	}
	// failureThreshold 2, period 1 s: two failures a period apart, the kill right after the second.
	if g := failed[1].Time.Sub(failed[0].Time.Time); g < 900*time.Millisecond || g > 1500*time.Millisecond {
		t.Errorf("failures %v apart, want one period (1s)", g)
	}
	if k := killed[0].Time.Sub(failed[1].Time.Time); k < 0 || k > 500*time.Millisecond {
		t.Errorf("kill %v after the second failure, want right after it", k)
	}
	for _, ev := range failed {
		if ev.Type != api.EventWarning || ev.FieldPath != "spec.containers{c}" {
			t.Errorf("event %+v: want a Warning on spec.containers{c}", ev)
		}
	}
}

// A readiness probe sets the container's ready flag and the pod's Ready condition as it
// passes and fails; the container is not ready before its first success.
func TestReadinessProbe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := sh("c", "sleep 1.5; touch /tmp/ready; sleep 2; rm /tmp/ready; sleep 1000")
	c.ReadinessProbe = execProbe(1, 1, "cat", "/tmp/ready")
	p := newPod("readiness", api.RestartPolicyAlways, c)
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	var seen collector
	w := watchStatus(e, "default", "readiness", 10*time.Millisecond, func(p *api.Pod) {
		cs := ctrStatus(p, "c")
		if cs == nil || cs.State.Running == nil {
			return
		}
		ready := "unready"
		if cs.Ready {
			ready = "ready"
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == api.PodReady {
				ready += "/" + string(cond.Status)
			}
		}
		seen.add(ready)
	})
	e.run(manifest(p))
	time.Sleep(6 * time.Second)
	w.finish()
	want := []string{"unready/False", "ready/True", "unready/False"}
	if got := seen.values(); !slices.Equal(got, want) {
		t.Errorf("readiness went %q, want %q", got, want)
	}
	if ev := eventsWith(e.events(t, "default", "readiness"), "c", "Unhealthy", "Readiness probe failed: "); len(ev) == 0 {
		t.Error("no Readiness probe failed event")
	}
}

// A startup probe holds liveness and readiness back until it succeeds: a liveness probe
// that would fail before the start never runs then. A startup probe that keeps failing
// kills the container.
func TestStartupProbe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	slow := sh("slow", "sleep 2; touch /tmp/started; sleep 1000")
	slow.StartupProbe = execProbe(1, 10, "test", "-f", "/tmp/started")
	slow.LivenessProbe = execProbe(1, 1, "test", "-f", "/tmp/started")
	never := sh("never", "sleep 1000")
	never.StartupProbe = execProbe(1, 2, "false")
	grace := int64(1)
	never.StartupProbe.TerminationGracePeriodSeconds = &grace
	p := newPod("startup", api.RestartPolicyAlways, slow, never)
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	var startedAt collector
	w := watchStatus(e, "default", "startup", 10*time.Millisecond, func(p *api.Pod) {
		if cs := ctrStatus(p, "slow"); cs != nil && cs.State.Running != nil {
			startedAt.add(map[bool]string{true: "started", false: "not-started"}[cs.Started != nil && *cs.Started] + "/" + map[bool]string{true: "ready", false: "unready"}[cs.Ready])
		}
	})
	e.run(manifest(p))
	// Both ends are awaited: on a loaded machine either may come first.
	slowReady := func(p *api.Pod) bool { cs := ctrStatus(p, "slow"); return cs != nil && cs.Ready }
	e.waitFor(t, "default", "startup", and(restartsAtLeast("never", 1), slowReady), 30*time.Second)
	w.finish()
	if got := startedAt.values(); !slices.Equal(got, []string{"not-started/unready", "started/ready"}) {
		t.Errorf("slow went %q, want not started (and unready) until its startup probe passed", got)
	}
	evs := e.events(t, "default", "startup")
	if ev := eventsWith(evs, "slow", "Unhealthy", "Liveness"); len(ev) > 0 {
		t.Errorf("the liveness probe ran before the startup probe passed: %+v", ev)
	}
	if cs := ctrStatus(e.status("default", "startup"), "slow"); cs.RestartCount != 0 {
		t.Errorf("slow restarted %d times", cs.RestartCount)
	}
	if ev := eventsWith(evs, "never", "Killing", "Container never failed startup probe, will be restarted"); len(ev) == 0 {
		t.Errorf("no startup-probe kill of never: %+v", evs)
	}
}

// HTTP and TCP probes talk to the pod's IP from the host, with the kubelet's headers;
// named ports resolve through the container's ports.
func TestHTTPAndTCPProbes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	web := sh("web", "mkdir -p /www; echo ok > /www/healthz; httpd -f -p 8080 -h /www")
	web.Ports = []api.ContainerPort{{Name: "http", ContainerPort: 8080}}
	web.ReadinessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"),
		HTTPHeaders: []api.HTTPHeader{{Name: "X-Probe", Value: "yes"}}}}, PeriodSeconds: 1, FailureThreshold: 1, InitialDelaySeconds: 1}
	web.LivenessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{TCPSocket: &api.TCPSocketAction{Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1, InitialDelaySeconds: 1}
	closed := sh("closed", "sleep 1000")
	closed.ReadinessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{TCPSocket: &api.TCPSocketAction{Port: intstr.FromInt32(9999)}}, PeriodSeconds: 1}
	p := newPod("netprobes", api.RestartPolicyAlways, web, closed)
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	e.run(manifest(p))
	e.waitFor(t, "default", "netprobes", func(p *api.Pod) bool { cs := ctrStatus(p, "web"); return cs != nil && cs.Ready }, 30*time.Second)
	ip := e.podIP(t, "default", "netprobes")
	time.Sleep(1500 * time.Millisecond)
	evs := e.events(t, "default", "netprobes")
	if ev := eventsWith(evs, "closed", "Unhealthy", "Readiness probe failed: dial tcp "+ip+":9999: connect: connection refused"); len(ev) == 0 {
		t.Errorf("no connection-refused readiness failure for closed: %+v", evs)
	}
	if ev := eventsWith(evs, "web", "Unhealthy", ""); len(ev) > 0 {
		t.Errorf("web's probes failed: %+v", ev)
	}
	if cs := ctrStatus(e.status("default", "netprobes"), "closed"); cs.Ready {
		t.Error("closed is ready")
	}
}

// A gRPC liveness probe uses the standard health service: SERVING keeps the container,
// NOT_SERVING kills it.
func TestGRPCProbe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rootfs := filepath.Join(e.dir, "grpc-rootfs")
	if out, err := exec.Command("cp", "-a", rootfsDir, rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v %s", err, out)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(rootfs, "bin", "grpchealth"), "./grpchealth")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build grpchealth: %v %s", err, out)
	}
	c := api.Container{Name: "grpc", Image: "rootfs:" + rootfs, Command: []string{"grpchealth", "-port", "9090", "-serving-for", "3s"}}
	c.LivenessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{GRPC: &api.GRPCAction{Port: 9090}}, PeriodSeconds: 1, FailureThreshold: 1, InitialDelaySeconds: 1}
	p := newPod("grpc", api.RestartPolicyAlways, c)
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	e.run(manifest(p))
	e.waitFor(t, "default", "grpc", restartsAtLeast("grpc", 1), 30*time.Second)
	evs := e.events(t, "default", "grpc")
	if ev := eventsWith(evs, "grpc", "Unhealthy", `Liveness probe failed: service unhealthy (responded with "NOT_SERVING")`); len(ev) == 0 {
		t.Errorf("no NOT_SERVING liveness failure: %+v", evs)
	}
	if ev := eventsWith(evs, "grpc", "Killing", "Container grpc failed liveness probe, will be restarted"); len(ev) == 0 {
		t.Errorf("no liveness kill: %+v", evs)
	}
	// While it served, the probe passed.
	if ev := eventsWith(evs, "grpc", "Unhealthy", "Liveness probe failed: timeout"); len(ev) > 0 {
		t.Errorf("the probe could not reach the server: %+v", ev)
	}
}

func eventSummary(evs []api.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Container + " " + ev.Reason + ": " + ev.Message + "\n")
	}
	return b.String()
}
