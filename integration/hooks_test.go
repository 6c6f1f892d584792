//go:build integration

package integration

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

func execHook(cmd ...string) *api.LifecycleHandler {
	return &api.LifecycleHandler{Exec: &api.ExecAction{Command: cmd}}
}

// postStart runs right after the start, and the container is reported Running only once it
// has returned.
func TestPostStartHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir, vol := hostDir(t, e)
	c := withWork(sh("c", "sleep 1000"))
	c.Lifecycle = &api.Lifecycle{PostStart: execHook("sh", "-c", "sleep 1; echo hooked > /work/hook")}
	p := newPod("poststart", api.RestartPolicyAlways, c)
	p.Spec.Volumes = []api.Volume{vol}
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	start := time.Now()
	e.run(manifest(p))
	e.waitFor(t, "default", "poststart", running("c"), 30*time.Second)
	if took := time.Since(start); took < time.Second {
		t.Errorf("Running %v after the start: before the 1 s postStart hook returned", took)
	}
	if got := lines(t, filepath.Join(dir, "hook")); !slices.Equal(got, []string{"hooked"}) {
		t.Errorf("hook wrote %q", got)
	}
}

// A failed postStart hook kills the container (event FailedPostStartHook), which then
// restarts per the pod's policy.
func TestPostStartHookFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := sh("c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
	c.Lifecycle = &api.Lifecycle{PostStart: execHook("sh", "-c", "echo no; exit 1")}
	p := newPod("poststart-fail", api.RestartPolicyAlways, c)
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	e.run(manifest(p))
	e.waitFor(t, "default", "poststart-fail", restartsAtLeast("c", 1), 30*time.Second)
	evs := e.events(t, "default", "poststart-fail")
	if ev := eventsWith(evs, "c", "FailedPostStartHook", "PostStartHook failed"); len(ev) == 0 || ev[0].Type != api.EventWarning {
		t.Errorf("no FailedPostStartHook warning:\n%s", eventSummary(evs))
	}
	if ev := eventsWith(evs, "c", "Killing", "FailedPostStartHook"); len(ev) == 0 {
		t.Errorf("no Killing event for the failed hook:\n%s", eventSummary(evs))
	}
}

// preStop runs before the stop signal, within the grace period; a sleep hook delays it.
func TestPreStopHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir, vol := hostDir(t, e)
	c := withWork(sh("c", "trap 'echo term >> /work/log; exit 0' TERM; while true; do sleep 0.1; done"))
	c.Lifecycle = &api.Lifecycle{PreStop: execHook("sh", "-c", "echo prestop >> /work/log")}
	s := withWork(sh("s", "trap 'echo s-term $(date +%s%N) >> /work/sleep; exit 0' TERM; while true; do sleep 0.1; done"))
	s.Lifecycle = &api.Lifecycle{PreStop: &api.LifecycleHandler{Sleep: &api.SleepAction{Seconds: 1}}}
	p := newPod("prestop", api.RestartPolicyAlways, c, s)
	p.Spec.Volumes = []api.Volume{vol}
	e.run(manifest(p))
	e.waitFor(t, "default", "prestop", running("c", "s"), 30*time.Second)
	start := time.Now()
	if res := e.exec("delete", "pod", "prestop"); res.code != 0 {
		t.Fatalf("delete: %s", res.stderr)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("delete took %v: the 1 s preStop sleep did not delay the stop", took)
	}
	if got := lines(t, filepath.Join(dir, "log")); !slices.Equal(got, []string{"prestop", "term"}) {
		t.Errorf("log %q, want prestop before term", got)
	}
	if got := lines(t, filepath.Join(dir, "sleep")); len(got) != 2 {
		t.Errorf("sleep container never got its stop signal: %q", got)
	}
}

// The termination message comes from terminationMessagePath, or with FallbackToLogsOnError
// from the end of the log of a container that failed.
func TestTerminationMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	file := sh("file", "echo -n bye > /dev/termination-log; exit 1")
	custom := sh("custom", "echo -n custom > /tmp/msg")
	custom.TerminationMessagePath = "/tmp/msg"
	logs := sh("logs", "for i in $(seq 1 100); do echo line $i; done; exit 2")
	logs.TerminationMessagePolicy = api.TerminationMessageFallbackToLogsOnError
	okLogs := sh("oklogs", "echo all good")
	okLogs.TerminationMessagePolicy = api.TerminationMessageFallbackToLogsOnError
	p := newPod("termmsg", api.RestartPolicyNever, file, custom, logs, okLogs)
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 60*time.Second); code != 1 {
		t.Fatalf("run exit %d, want 1", code)
	}
	final := e.status("default", "termmsg")
	msg := func(name string) string { return ctrStatus(final, name).State.Terminated.Message }
	if got := msg("file"); got != "bye" {
		t.Errorf("file: message %q, want bye", got)
	}
	if got := msg("custom"); got != "custom" {
		t.Errorf("custom: message %q, want custom", got)
	}
	got := strings.Split(strings.TrimSuffix(msg("logs"), "\n"), "\n")
	if len(got) != 80 || got[0] != "line 21" || got[79] != "line 100" {
		t.Errorf("logs: message has %d lines (%q ... %q), want the last 80", len(got), got[0], got[len(got)-1])
	}
	if got := msg("oklogs"); got != "" {
		t.Errorf("oklogs exited 0: message %q, want none", got)
	}
}

// activeDeadlineSeconds fails the pod (reason DeadlineExceeded) and stops its containers.
func TestActiveDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("deadline", api.RestartPolicyAlways, sh("c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"))
	d := int64(2)
	p.Spec.ActiveDeadlineSeconds = &d
	start := time.Now()
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("run exit %d, want 1 (Failed)", code)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("pod ended after %v, before its 2 s deadline", took)
	}
	final := e.status("default", "deadline")
	st := final.Status
	if st.Phase != api.PodFailed || st.Reason != "DeadlineExceeded" || st.Message != "Pod was active on the node longer than the specified deadline" {
		t.Errorf("status phase %s reason %q message %q", st.Phase, st.Reason, st.Message)
	}
	if cs := ctrStatus(final, "c"); cs.State.Terminated == nil {
		t.Errorf("container %+v, want terminated", cs)
	}
	evs := e.events(t, "default", "deadline")
	found := false
	for _, ev := range evs {
		found = found || ev.Reason == "DeadlineExceeded" && ev.Type == api.EventNormal && ev.Container == ""
	}
	if !found {
		t.Errorf("no DeadlineExceeded event:\n%s", eventSummary(evs))
	}
}
