//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// statusWatch reads status.json in the background every few milliseconds. Every read of an
// existing file must parse (the file is replaced atomically).
type statusWatch struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	reads int
	errs  []string
	// phases observed, consecutive duplicates collapsed
	phases []api.PodPhase
	last   *api.Pod
}

func watchStatus(e *env, ns, name string, every time.Duration, onRead func(*api.Pod)) *statusWatch {
	w := &statusWatch{stop: make(chan struct{}), done: make(chan struct{})}
	read := func() {
		p, err := e.readStatus(ns, name)
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			w.errs = append(w.errs, err.Error())
			return
		}
		if p == nil {
			return
		}
		w.reads++
		w.last = p
		if n := len(w.phases); n == 0 || w.phases[n-1] != p.Status.Phase {
			w.phases = append(w.phases, p.Status.Phase)
		}
		if onRead != nil {
			onRead(p)
		}
	}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				read()
				return
			default:
			}
			read()
			time.Sleep(every)
		}
	}()
	return w
}

// finish stops the watcher after one final read.
func (w *statusWatch) finish() {
	close(w.stop)
	<-w.done
}

func (w *statusWatch) check(t *testing.T, order ...api.PodPhase) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, err := range w.errs {
		if i == 5 {
			t.Errorf("... %d more unparsable reads", len(w.errs)-5)
			break
		}
		t.Errorf("status read failed: %s", err)
	}
	if w.reads == 0 {
		t.Errorf("the status file was never observed")
		return
	}
	at := -1
	for _, ph := range w.phases {
		i := indexOf(order, ph)
		if i < 0 || i <= at {
			t.Errorf("observed phases %v are not a subsequence of %v", w.phases, order)
			return
		}
		at = i
	}
}

func indexOf(order []api.PodPhase, ph api.PodPhase) int {
	for i, o := range order {
		if o == ph {
			return i
		}
	}
	return -1
}

// 6. Restart policy x exit code.
func TestRestartMatrix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		policy    api.RestartPolicy
		exit      int32
		phase     api.PodPhase
		restarts  bool
		reason    string
		runExit   int
		phaseSeen []api.PodPhase
	}{
		{api.RestartPolicyNever, 0, api.PodSucceeded, false, "Completed", 0, nil},
		{api.RestartPolicyNever, 1, api.PodFailed, false, "Error", 1, nil},
		{api.RestartPolicyOnFailure, 0, api.PodSucceeded, false, "Completed", 0, nil},
		{api.RestartPolicyOnFailure, 1, api.PodRunning, true, "Error", 130, nil},
		{api.RestartPolicyAlways, 0, api.PodRunning, true, "Completed", 130, nil},
		{api.RestartPolicyAlways, 1, api.PodRunning, true, "Error", 130, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_exit%d", c.policy, c.exit), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			name := strings.ToLower(fmt.Sprintf("rm-%s-%d", c.policy, c.exit))
			p := newPod(name, c.policy, sh("c", fmt.Sprintf("echo started; exit %d", c.exit)))
			p.Spec.TerminationGracePeriodSeconds = int64p(1)

			var mu sync.Mutex
			sawCrashLoop := false
			waitingReasons := map[string]bool{}
			var lastRestarts int32
			var regress []string
			w := watchStatus(e, "default", name, 5*time.Millisecond, func(p *api.Pod) {
				cs := ctrStatus(p, "c")
				if cs == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if cs.RestartCount < lastRestarts {
					regress = append(regress, fmt.Sprintf("%d->%d", lastRestarts, cs.RestartCount))
				}
				lastRestarts = cs.RestartCount
				if cs.State.Waiting != nil {
					waitingReasons[cs.State.Waiting.Reason] = true
					if cs.RestartCount > 0 && cs.State.Waiting.Reason == "CrashLoopBackOff" {
						sawCrashLoop = true
					}
				}
			})
			r := e.run(manifest(p), "--rm=false")

			if !c.restarts {
				code := r.wait(t, 30*time.Second)
				w.finish()
				if code != c.runExit {
					t.Errorf("run exit %d, want %d", code, c.runExit)
				}
				w.check(t, api.PodPending, api.PodRunning, c.phase)
				st := e.status("default", name)
				if st == nil {
					t.Fatalf("no status file after run with --rm=false")
				}
				if st.Status.Phase != c.phase {
					t.Errorf("phase %q, want %q", st.Status.Phase, c.phase)
				}
				cs := ctrStatus(st, "c")
				if cs == nil || cs.State.Terminated == nil {
					t.Fatalf("container not terminated: %s", describe(st))
				}
				if cs.State.Terminated.ExitCode != c.exit || cs.State.Terminated.Reason != c.reason {
					t.Errorf("terminated exit %d reason %q, want %d %q", cs.State.Terminated.ExitCode, cs.State.Terminated.Reason, c.exit, c.reason)
				}
				if cs.RestartCount != 0 || cs.LastState.Terminated != nil {
					t.Errorf("container restarted: restartCount %d lastState %+v", cs.RestartCount, cs.LastState)
				}
				assertReleased(t, e)
				return
			}

			st := e.waitFor(t, "default", name, restartsAtLeast("c", 3), 30*time.Second)
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				saw := sawCrashLoop
				mu.Unlock()
				if saw || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			st = e.status("default", name)
			w.finish()
			w.check(t, api.PodPending, api.PodRunning)
			if st == nil {
				t.Fatalf("status file vanished while the pod restarts")
			}
			if st.Status.Phase != api.PodRunning {
				t.Errorf("phase %q, want Running", st.Status.Phase)
			}
			cs := ctrStatus(st, "c")
			if lt := cs.LastState.Terminated; lt == nil || lt.ExitCode != c.exit || lt.Reason != c.reason {
				t.Errorf("lastState %+v, want terminated exit %d reason %q", cs.LastState, c.exit, c.reason)
			}
			mu.Lock()
			if !sawCrashLoop {
				t.Errorf("never saw state waiting reason CrashLoopBackOff between restarts (waiting reasons seen: %v)", waitingReasons)
			}
			if len(regress) > 0 {
				t.Errorf("restartCount went backwards: %v", regress)
			}
			mu.Unlock()
			if r.exited() {
				t.Fatalf("run exited (%d) although the pod keeps restarting", r.code)
			}
			r.signal(syscall.SIGTERM)
			if code := r.wait(t, 30*time.Second); code != c.runExit {
				t.Errorf("run exit %d after SIGTERM, want %d", code, c.runExit)
			}
			assertReleased(t, e)
		})
	}
}

// 6b. Crash-loop back-off with --backoff-initial=1s --backoff-max=4s: the first restart is
// immediate (like the kubelet, kubernetes/kubernetes#133472), then 1, 2, 4, 4 s. Measured from
// the first record of each <restartCount>.log, so each gap also holds one exit and one start,
// which take from 0.15 to 0.6 s each on a loaded 2-core VM: the back-offs are seconds so that
// this noise stays well inside the tolerances. Not parallel: timing.
func TestRestartBackoff(t *testing.T) {
	e := newEnv(t)
	e.backoffInitial, e.backoffMax = "1s", "4s"
	p := newPod("backoff", api.RestartPolicyOnFailure, sh("c", "echo started; exit 1"))
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	r := e.run(manifest(p), "--rm=false")

	const n = 5
	st := e.waitFor(t, "default", "backoff", restartsAtLeast("c", n), 60*time.Second)
	var starts []time.Time
	for i := 0; i <= n; i++ {
		path := e.logPath(st, "c", i)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
				break
			}
			if time.Now().After(deadline) {
				ents, _ := os.ReadDir(filepath.Dir(path))
				t.Fatalf("log %s missing or empty (dir has %v)", path, ents)
			}
			time.Sleep(20 * time.Millisecond)
		}
		recs := readCRILog(t, path)
		if !logContains(recs, "started") || recs[0].stream != "stdout" || recs[0].tag != "F" {
			t.Errorf("%s: want a full stdout record \"started\", got %+v", path, recs)
		}
		starts = append(starts, recs[0].ts)
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(t, 30*time.Second); code != 130 {
		t.Errorf("run exit %d after SIGTERM, want 130", code)
	}

	gaps := make([]time.Duration, n)
	for i := 0; i < n; i++ {
		gaps[i] = starts[i+1].Sub(starts[i])
	}
	t.Logf("gaps between starts: %v (expected ≈ overhead + [0 1s 2s 4s 4s])", gaps)
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	ms := time.Millisecond
	for i, g := range gaps {
		if g < want[i]-30*ms {
			t.Errorf("restart %d came %v after the previous start, before its back-off of %v", i+1, g, want[i])
		}
		if g > want[i]+1500*ms {
			t.Errorf("restart %d came %v after the previous start, far beyond its back-off of %v", i+1, g, want[i])
		}
	}
	// Differences cancel the per-start overhead: ≈ +1 s (immediate -> 1 s), +1 s (doubling),
	// +2 s (doubling), 0 (capped at 4 s); each within the ±0.45 s one start's noise can add.
	within := func(what string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			t.Errorf("%s: %v, want within [%v, %v] (gaps %v)", what, d, lo, hi, gaps)
		}
	}
	within("gap2-gap1 (first restart immediate, then 1s)", gaps[1]-gaps[0], 550*ms, 1450*ms)
	within("gap3-gap2 (doubling 1s->2s)", gaps[2]-gaps[1], 550*ms, 1450*ms)
	within("gap4-gap3 (doubling 2s->4s)", gaps[3]-gaps[2], 1550*ms, 2450*ms)
	within("gap5-gap4 (capped at 4s)", gaps[4]-gaps[3], -450*ms, 450*ms)
	assertReleased(t, e)
}

// 7. Phase sequence Pending -> Running -> Failed/Succeeded, seen by a reader polling every 5 ms.
func TestPhaseSequence(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		exit2   int32
		phase   api.PodPhase
		runExit int
	}{
		{"failed", 3, api.PodFailed, 1},
		{"succeeded", 0, api.PodSucceeded, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			name := "phases-" + c.name
			p := newPod(name, api.RestartPolicyNever,
				sh("one", "sleep 1; echo one-done; exit 0"),
				sh("two", fmt.Sprintf("sleep 2; echo two-done; exit %d", c.exit2)),
				sh("three", "echo three-done; exit 0"),
			)
			w := watchStatus(e, "default", name, 5*time.Millisecond, nil)
			r := e.run(manifest(p), "--rm=false")
			code := r.wait(t, 60*time.Second)
			w.finish()
			if code != c.runExit {
				t.Errorf("run exit %d, want %d", code, c.runExit)
			}
			w.check(t, api.PodPending, api.PodRunning, c.phase)
			if indexOf(w.phases, api.PodRunning) < 0 {
				t.Errorf("phase Running never observed (phases %v)", w.phases)
			}
			st := e.status("default", name)
			if st == nil {
				t.Fatalf("no status file after run with --rm=false")
			}
			if st.Status.Phase != c.phase {
				t.Errorf("final phase %q, want %q", st.Status.Phase, c.phase)
			}
			if st.Status.StartTime == nil || st.Status.StartTime.IsZero() {
				t.Errorf("startTime not set")
			}
			for _, want := range []struct {
				name   string
				exit   int32
				reason string
			}{{"one", 0, "Completed"}, {"two", c.exit2, map[bool]string{true: "Completed", false: "Error"}[c.exit2 == 0]}, {"three", 0, "Completed"}} {
				cs := ctrStatus(st, want.name)
				if cs == nil || cs.State.Terminated == nil {
					t.Errorf("container %s not terminated: %s", want.name, describe(st))
					continue
				}
				term := cs.State.Terminated
				if term.ExitCode != want.exit || term.Reason != want.reason {
					t.Errorf("container %s: exit %d reason %q, want %d %q", want.name, term.ExitCode, term.Reason, want.exit, want.reason)
				}
				if cs.RestartCount != 0 || cs.Ready {
					t.Errorf("container %s: restartCount %d ready %v, want 0 false", want.name, cs.RestartCount, cs.Ready)
				}
				if term.StartedAt.IsZero() || term.FinishedAt.Before(term.StartedAt.Time) {
					t.Errorf("container %s: startedAt %v finishedAt %v", want.name, term.StartedAt, term.FinishedAt)
				}
				recs := readCRILog(t, e.logPath(st, want.name, 0))
				if !logContains(recs, want.name+"-done") {
					t.Errorf("container %s: log kept by --rm=false lacks %q: %+v", want.name, want.name+"-done", recs)
				}
			}
			if two := ctrStatus(st, "two"); two != nil && two.State.Terminated != nil {
				if d := two.State.Terminated.FinishedAt.Sub(two.State.Terminated.StartedAt.Time); d < time.Second {
					t.Errorf("container two ran %v by its timestamps, want about 2s", d)
				}
			}
			for _, cond := range st.Status.Conditions {
				if cond.Type == api.PodReady && cond.Status != api.ConditionFalse {
					t.Errorf("terminal pod has condition Ready=%s", cond.Status)
				}
			}
			assertReleased(t, e)
		})
	}
}

// 8. Graceful stop: SIGTERM first, SIGKILL after terminationGracePeriodSeconds; via SIGINT to
// run and via `minipod delete pod`.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	const grace = 3
	mk := func(name string) *api.Pod {
		p := newPod(name, "",
			sh("trapper", `trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.1; done`),
			api.Container{Name: "sleeper", Image: rootfsImage(), Command: []string{"sleep", "1000"}},
		)
		p.Spec.TerminationGracePeriodSeconds = int64p(grace)
		return p
	}

	t.Run("sigint", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		r := e.run(manifest(mk("graceful")), "--rm=false")
		e.waitFor(t, "default", "graceful", running("trapper", "sleeper"), 30*time.Second)
		r.waitLine(t, "trapper", "ready", 10*time.Second)
		// Once the pod is created, run goes on as a fresh process of its own (same pid) that
		// only follows it: what follows (the trapper's output, SIGINT, exit 130, --rm=false)
		// is that process's doing.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", r.pid())); err != nil || !slices.Contains(strings.Split(string(b), "\x00"), "follow-run") {
			t.Errorf("run (pid %d) did not re-execute itself as its pod's follower: cmdline %q, %v", r.pid(), b, err)
		}
		t0 := time.Now()
		r.signal(syscall.SIGINT)
		code := r.wait(t, 30*time.Second)
		took := r.finished.Sub(t0)
		t.Logf("stop took %v", took)
		if code != 130 {
			t.Errorf("run exit %d after SIGINT, want 130", code)
		}
		if took < grace*time.Second-300*time.Millisecond {
			t.Errorf("stop took %v: the sleeper (ignores SIGTERM as PID 1) should have kept it for the %ds grace period", took, grace)
		}
		if took > grace*time.Second+10*time.Second {
			t.Errorf("stop took %v, far beyond the %ds grace period", took, grace)
		}
		if !r.hasLine("trapper", "got-term") {
			t.Errorf("run did not stream the trapper's got-term: %q", r.lines("trapper"))
		}
		st := e.status("default", "graceful")
		if st == nil {
			t.Fatalf("no status file after run with --rm=false")
		}
		checkStopped(t, e, st)
		if st.Status.Phase != api.PodFailed {
			t.Errorf("phase %q after stop with a SIGKILLed container, want Failed", st.Status.Phase)
		}
		assertReleased(t, e)
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		r := e.run(manifest(mk("graceful-del")), "--rm=false")
		e.waitFor(t, "default", "graceful-del", running("trapper", "sleeper"), 30*time.Second)
		r.waitLine(t, "trapper", "ready", 10*time.Second)
		res := e.exec("delete", "pod", "graceful-del", "-n", "default")
		if res.code != 0 {
			t.Errorf("delete pod: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
		}
		if res.dur < grace*time.Second-300*time.Millisecond || res.dur > grace*time.Second+10*time.Second {
			t.Errorf("delete took %v, want about the %ds grace period", res.dur, grace)
		}
		code := r.wait(t, 15*time.Second)
		t.Logf("run exited %d after delete", code)
		if !r.hasLine("trapper", "got-term") {
			t.Errorf("run did not stream the trapper's got-term: %q", r.lines("trapper"))
		}
		if _, err := os.Stat(e.podDir("default", "graceful-del")); !os.IsNotExist(err) {
			t.Errorf("pod dir still there after delete (even with --rm=false, delete removes the pod): %v", err)
		}
		assertNoLeaks(t, e)
	})
}

func checkStopped(t *testing.T, e *env, st *api.Pod) {
	t.Helper()
	tr := ctrStatus(st, "trapper")
	sl := ctrStatus(st, "sleeper")
	if tr == nil || tr.State.Terminated == nil || sl == nil || sl.State.Terminated == nil {
		t.Fatalf("containers not terminated after stop: %s", describe(st))
	}
	if tr.State.Terminated.ExitCode != 0 {
		t.Errorf("trapper exit %d (signal %d), want 0 from its TERM trap", tr.State.Terminated.ExitCode, tr.State.Terminated.Signal)
	}
	if s := sl.State.Terminated; s.Signal != 9 && s.ExitCode != 137 {
		t.Errorf("sleeper exit %d signal %d, want SIGKILL (signal 9 / exit 137)", s.ExitCode, s.Signal)
	}
	// Second-precision timestamps: the trapper got SIGTERM ~3 s before the sleeper's SIGKILL.
	if !tr.State.Terminated.FinishedAt.Before(sl.State.Terminated.FinishedAt.Time) {
		t.Errorf("trapper finished at %v, not before the sleeper (%v): SIGTERM not sent at the start of the grace period?", tr.State.Terminated.FinishedAt, sl.State.Terminated.FinishedAt)
	}
	recs := readCRILog(t, e.logPath(st, "trapper", 0))
	if !logContains(recs, "got-term") {
		t.Errorf("trapper's log lacks got-term: %+v", recs)
	}
}
