//go:build integration

package integration

// End-to-end tests of the kubectl-fluent commands: exec (stdin, a pseudo-terminal, exit
// codes, each container), get -w, wait, describe, get events, delete (right after create, a
// shorter second grace period) and what clients do when a pod's monitor is killed under them.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// idle is a container command that waits until stopped and stops at once on SIGTERM (as
// PID 1, a plain sleep would ignore it and wait for the grace period).
const idle = "trap 'exit 0' TERM; sleep 1000 & wait"

// cliPod runs a pod in the background (its foreground `run` left running) and waits until the
// named containers run.
func cliPod(t *testing.T, e *env, p *api.Pod, runArgs []string, runningNames ...string) *runProc {
	t.Helper()
	r := e.run(manifest(p), runArgs...)
	e.waitFor(t, "default", p.Metadata.Name, running(runningNames...), 30*time.Second)
	return r
}

// detach kills a pod's foreground `run`, leaving the pod to its monitor, as `run -d` would.
func detach(t *testing.T, r *runProc) {
	t.Helper()
	r.cmd.Process.Kill()
	r.wait(t, 10*time.Second)
}

// monitorPID reads the pod's monitor pid.
func (e *env) monitorPID(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.podDir("default", name), "monitor.pid"))
	if err != nil {
		t.Fatalf("monitor pid of %s: %v", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("monitor pid of %s: %v", name, err)
	}
	return pid
}

// waitOutput waits until the background command printed s on stdout.
func (r *runProc) waitOutput(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(r.stdout(), s) {
		if time.Now().After(deadline) || r.exited() && !strings.Contains(r.stdout(), s) {
			t.Fatalf("minipod %s never printed %q (exited: %v)\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), s, r.exited(), tail(r.stdout(), 3000), tail(r.stderr(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCLIExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("ex", api.RestartPolicyNever,
		sh("a", "echo a > /who; "+idle),
		sh("b", "echo b > /who; "+idle),
		sh("quick", "true"))
	cliPod(t, e, p, nil, "a", "b")
	e.waitFor(t, "default", "ex", terminated("quick"), 30*time.Second)

	t.Run("each container", func(t *testing.T) {
		for _, c := range []string{"a", "b"} {
			res := e.exec("exec", "ex", "-c", c, "--", "cat", "/who")
			if res.code != 0 || res.stdout != c+"\n" {
				t.Errorf("exec -c %s: exit %d, stdout %q, stderr %q", c, res.code, res.stdout, res.stderr)
			}
		}
		res := e.exec("exec", "pod/ex", "--", "cat", "/who")
		if res.code != 0 || res.stdout != "a\n" || !strings.Contains(res.stderr, `Defaulted container "a" out of: a, b, quick`) {
			t.Errorf("exec without -c: exit %d, stdout %q, stderr %q; want the first container, named", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		r := e.start("hello\nworld\n", "exec", "-i", "ex", "-c", "b", "--", "tr", "a-z", "A-Z")
		if code := r.wait(t, 20*time.Second); code != 0 || r.stdout() != "HELLO\nWORLD\n" {
			t.Errorf("exec -i: exit %d, stdout %q, stderr %q", code, r.stdout(), r.stderr())
		}
		big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB, many frames
		r = e.start(big, "exec", "-i", "ex", "-c", "b", "--", "wc", "-c")
		if code := r.wait(t, 20*time.Second); code != 0 || strings.TrimSpace(r.stdout()) != strconv.Itoa(len(big)) {
			t.Errorf("exec -i of 1 MiB: exit %d, stdout %q, stderr %q", code, r.stdout(), r.stderr())
		}
		// Without -i the process's stdin is empty.
		r = e.start("ignored\n", "exec", "ex", "-c", "b", "--", "wc", "-c")
		if code := r.wait(t, 20*time.Second); code != 0 || strings.TrimSpace(r.stdout()) != "0" {
			t.Errorf("exec without -i read %q (exit %d)", r.stdout(), code)
		}
	})

	t.Run("exit codes and streams", func(t *testing.T) {
		res := e.exec("exec", "ex", "-c", "a", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
		if res.code != 7 || res.stdout != "out\n" || !strings.Contains(res.stderr, "err\n") || !strings.Contains(res.stderr, "command terminated with exit code 7") {
			t.Errorf("exit 7: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
		if res := e.exec("exec", "ex", "-c", "a", "--", "false"); res.code != 1 || !strings.Contains(res.stderr, "command terminated with exit code 1") {
			t.Errorf("false: exit %d, stderr %q", res.code, res.stderr)
		}
		if res := e.exec("exec", "ex", "-c", "a", "--", "true"); res.code != 0 || res.stderr != "" {
			t.Errorf("true: exit %d, stderr %q", res.code, res.stderr)
		}
		if res := e.exec("exec", "ex", "-c", "a", "--", "/no/such/command"); res.code != 1 || !strings.Contains(res.stderr, "/no/such/command") {
			t.Errorf("missing command: exit %d, stderr %q", res.code, res.stderr)
		}
		if res := e.exec("exec", "ex", "-c", "nope", "--", "true"); res.code != 1 || !strings.Contains(res.stderr, "container nope is not valid for pod ex") {
			t.Errorf("unknown container: exit %d, stderr %q", res.code, res.stderr)
		}
		if res := e.exec("exec", "ex", "-c", "quick", "--", "true"); res.code != 1 || !strings.Contains(res.stderr, "container quick is not running") {
			t.Errorf("exited container: exit %d, stderr %q", res.code, res.stderr)
		}
		if res := e.exec("exec", "nope", "--", "true"); res.code != 1 || !strings.Contains(res.stderr, `Error from server (NotFound): pods "nope" not found`) {
			t.Errorf("missing pod: exit %d, stderr %q", res.code, res.stderr)
		}
		if res := e.exec("exec", "ex", "true"); res.code != 2 {
			t.Errorf("exec without --: exit %d, want 2", res.code)
		}
	})

	t.Run("pty", func(t *testing.T) { testPTYShell(t, e, []string{"exec", "-it", "ex", "-c", "b", "--", "sh"}, "") })
}

// testPTYShell runs a minipod command that gives a shell a terminal (`exec -it`, `debug -it`)
// on a pseudo-terminal, as a person would in a terminal: the prompt and the echo come from the
// container's shell, `stty size` follows the window, and the shell's exit code is minipod's;
// the terminal is left as it was found. enter is typed until the prompt shows (an attach may
// come after the shell printed it), "" to type nothing.
func testPTYShell(t *testing.T, e *env, args []string, enter string) {
	master, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := master.Resize(console.WinSize{Height: 30, Width: 90}); err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, e.argv(args)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// Its own session with the terminal as controlling terminal, so that a window change
	// reaches it as SIGWINCH.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-waited
		slave.Close()
	}()

	var mu sync.Mutex
	var screen strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return screen.String()
	}
	expect := func(what string, timeout time.Duration, retype string) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for next := time.Now(); !strings.Contains(output(), what); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the terminal never showed %q; it shows:\n%q", what, output())
			}
			if retype != "" && time.Now().After(next) {
				io.WriteString(master, retype)
				next = time.Now().Add(500 * time.Millisecond)
			}
		}
	}
	expect("/ # ", 20*time.Second, enter)
	io.WriteString(master, "echo hel''lo-from-pty\r")
	// The shell echoes what is typed (a terminal in raw mode does not), then runs it.
	expect("echo hel''lo-from-pty\r\n", 10*time.Second, "")
	expect("\r\nhello-from-pty\r\n", 10*time.Second, "")
	expect("\r\n30 90\r\n", 10*time.Second, "stty size\r")
	if err := master.Resize(console.WinSize{Height: 40, Width: 100}); err != nil {
		t.Fatal(err)
	}
	expect("\r\n40 100\r\n", 10*time.Second, "stty size\r")
	io.WriteString(master, "exit 3\r")
	select {
	case <-waited:
		waited <- nil
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not end after the shell exited; terminal:\n%q", args[0], output())
	}
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("%s exit %d, want the shell's 3", args[0], code)
	}
	expect("command terminated with exit code 3", 5*time.Second, "")
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag != after.Lflag || before.Iflag != after.Iflag || before.Oflag != after.Oflag {
		t.Errorf("terminal not restored: lflag %#x -> %#x, iflag %#x -> %#x, oflag %#x -> %#x", before.Lflag, after.Lflag, before.Iflag, after.Iflag, before.Oflag, after.Oflag)
	}
}

// statusColumn returns the STATUS of each row the watch printed for the pod, in order.
func statusColumn(out, name string) []string {
	var col []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == name {
			col = append(col, f[2])
		}
	}
	return col
}

func TestCLIWatchWaitDescribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Watching before the pod exists: the pods directory is watched for it.
	watch := e.start("", "get", "pods", "-w")
	p := newPod("ph", api.RestartPolicyNever, sh("c", "sleep 2"))
	r := e.run(manifest(p), "--rm=false")
	e.waitFor(t, "default", "ph", func(*api.Pod) bool { return true }, 20*time.Second)
	res := e.exec("wait", "--for=condition=Ready", "pod/ph", "--timeout=30s")
	if res.code != 0 || res.stdout != "pod/ph condition met\n" {
		t.Errorf("wait for Ready: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	if st := e.status("default", "ph"); st == nil || st.Status.Phase != api.PodRunning {
		t.Errorf("wait returned Ready before the pod ran: %s", describe(st))
	}
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Errorf("run exit %d", code)
	}
	e.waitFor(t, "default", "ph", func(p *api.Pod) bool { return p.Status.Phase == api.PodSucceeded }, 10*time.Second)
	watch.waitOutput(t, "Completed", 10*time.Second)

	// Every phase, in order.
	got := statusColumn(watch.stdout(), "ph")
	var phases []string
	for _, s := range got {
		if len(phases) == 0 || phases[len(phases)-1] != s {
			phases = append(phases, s)
		}
	}
	iRun, iDone := indexOfString(phases, "Running"), indexOfString(phases, "Completed")
	if len(phases) < 3 || (phases[0] != "ContainerCreating" && phases[0] != "Pending") || iRun < 1 || iDone < iRun {
		t.Errorf("get -w printed the statuses %q, want ContainerCreating or Pending, then Running, then Completed\n%s", got, watch.stdout())
	}
	if !strings.HasPrefix(watch.stdout(), "NAME") {
		t.Errorf("get -w did not start with the header:\n%s", watch.stdout())
	}

	// describe shows the containers and the events.
	res = e.exec("describe", "pod", "ph")
	for _, want := range []string{"Name:", "Status:", "Succeeded", "Containers:\n  c:\n", "Reason:       Completed", "Events:\n  Type    Reason", "kubelet  Started container c", "kubelet  Created container"} {
		if res.code != 0 || !strings.Contains(res.stdout, want) {
			t.Errorf("describe pod ph (exit %d) lacks %q:\n%s%s", res.code, want, res.stdout, res.stderr)
		}
	}
	res = e.exec("get", "events")
	if res.code != 0 || !strings.Contains(res.stdout, "LAST SEEN") || !strings.Contains(res.stdout, "Started   pod/ph   Started container c") {
		t.Errorf("get events: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = e.exec("get", "pod", "ph", "-o", "wide")
	if f := podRowFields(res.stdout, "ph"); res.code != 0 || len(f) != 9 || f[2] != "Completed" {
		t.Errorf("get pod ph -o wide: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// A condition that does not come: kubectl's timeout.
	res = e.exec("wait", "--for=condition=Ready", "pod/ph", "--timeout=500ms")
	if res.code != 1 || !strings.Contains(res.stderr, "error: timed out waiting for the condition on pods/ph") {
		t.Errorf("wait that times out: exit %d, stderr %q", res.code, res.stderr)
	}

	// wait --for=delete returns once delete has removed everything.
	waitDel := e.start("", "wait", "--for=delete", "pod/ph", "--timeout=30s")
	time.Sleep(100 * time.Millisecond)
	if res := e.exec("delete", "pod", "ph"); res.code != 0 || res.stdout != "pod \"ph\" deleted\n" {
		t.Errorf("delete: exit %d, %q %q", res.code, res.stdout, res.stderr)
	}
	if code := waitDel.wait(t, 10*time.Second); code != 0 || waitDel.stdout() != "pod/ph condition met\n" {
		t.Errorf("wait --for=delete: exit %d, stdout %q, stderr %q", code, waitDel.stdout(), waitDel.stderr())
	}
	if _, err := os.Stat(e.podDir("default", "ph")); !os.IsNotExist(err) {
		t.Errorf("wait --for=delete returned with the pod still there")
	}
	// The deletion shows in the watch as one more row.
	deadline := time.Now().Add(5 * time.Second)
	for len(statusColumn(watch.stdout(), "ph")) <= len(got) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(statusColumn(watch.stdout(), "ph")); n != len(got)+1 {
		t.Errorf("get -w printed %d rows after the deletion, want 1:\n%s", n-len(got), watch.stdout())
	}
	if watch.exited() {
		t.Errorf("get -w exited by itself: %s", watch.stderr())
	}
	watch.signal(syscall.SIGTERM)
	watch.wait(t, 5*time.Second)
	assertNoLeaks(t, e)
}

func indexOfString(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func podRowFields(out, name string) []string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == name {
			// NOMINATED NODE and READINESS GATES are single cells of the table.
			return f
		}
	}
	return nil
}

// A delete right after `run` created the pod (its record is there, its monitor may not be
// up) never fails, whatever the moment, and leaves nothing behind.
func TestCLIDeleteRightAfterCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const cycles = 100
	start := time.Now()
	for i := range cycles {
		name := fmt.Sprintf("rc-%d", i)
		r := e.run(manifest(newPod(name, api.RestartPolicyNever, sh("c", idle))))
		record := filepath.Join(e.podDir("default", name), "record.json")
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := os.Stat(record); err == nil {
				break
			}
			if time.Now().After(deadline) || r.exited() {
				t.Fatalf("cycle %d: the pod's record never appeared (run exited: %v)\n%s", i, r.exited(), r.stderr())
			}
			time.Sleep(time.Millisecond)
		}
		res := e.exec("delete", "pod", name)
		if res.code != 0 || res.stdout != fmt.Sprintf("pod %q deleted\n", name) {
			t.Fatalf("cycle %d: delete right after create: exit %d, stdout %q, stderr %q", i, res.code, res.stdout, res.stderr)
		}
		if _, err := os.Stat(e.podDir("default", name)); !os.IsNotExist(err) {
			t.Fatalf("cycle %d: the pod remains after delete", i)
		}
		r.wait(t, 20*time.Second)
		if i%25 == 24 {
			if l := waitNoLeaks(e, 3*time.Second); len(l) > 0 {
				t.Fatalf("after cycle %d: LEAKS:\n  %s", i, strings.Join(l, "\n  "))
			}
		}
	}
	t.Logf("%d create+delete cycles in %v", cycles, time.Since(start).Round(time.Millisecond))
	assertNoLeaks(t, e)
}

// A second delete with a shorter grace period shortens a stop under way, as in Kubernetes.
func TestCLIDeleteShorterGraceWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("stubborn", api.RestartPolicyAlways, sh("c", `trap "" TERM; while :; do sleep 1; done`))
	p.Spec.TerminationGracePeriodSeconds = int64p(30)
	cliPod(t, e, p, nil, "c")
	first := e.start("", "delete", "pod", "stubborn", "--grace-period=30")
	e.waitFor(t, "default", "stubborn", func(p *api.Pod) bool { return p.Metadata.DeletionTimestamp != nil }, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // it ignores SIGTERM: still running
	if first.exited() {
		t.Fatalf("the first delete returned while the container ignores SIGTERM: %s", first.stderr())
	}
	begin := time.Now()
	res := e.exec("delete", "pod", "stubborn", "--grace-period=1")
	if res.code != 0 || res.stdout != "pod \"stubborn\" deleted\n" {
		t.Errorf("second delete: exit %d, %q %q", res.code, res.stdout, res.stderr)
	}
	if code := first.wait(t, 10*time.Second); code != 0 {
		t.Errorf("first delete: exit %d, %s", code, first.stderr())
	}
	if d := time.Since(begin); d > 6*time.Second {
		t.Errorf("the pod took %v to go after a grace period of 1s", d)
	}
	assertNoLeaks(t, e)
}

// Deleting a pod while a failed liveness probe is killing a container (with the pod's 60 s
// grace period) shortens that kill too: the delete's grace period wins.
func TestCLIDeleteDuringLivenessKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := sh("c", `trap "" TERM; while :; do sleep 1; done`)
	c.LivenessProbe = execProbe(1, 1, "false")
	p := newPod("doomed", api.RestartPolicyAlways, c)
	p.Spec.TerminationGracePeriodSeconds = int64p(60)
	cliPod(t, e, p, nil, "c")
	deadline := time.Now().Add(20 * time.Second)
	for len(eventsWith(e.events(t, "default", "doomed"), "c", "Killing", "Container c failed liveness probe")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no liveness kill")
		}
		time.Sleep(50 * time.Millisecond)
	}
	begin := time.Now()
	if res := e.exec("delete", "pod", "doomed", "--grace-period=1"); res.code != 0 {
		t.Errorf("delete: exit %d, %q %q", res.code, res.stdout, res.stderr)
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("the pod took %v to go after a grace period of 1s, during a liveness kill with 60s", d)
	}
	assertNoLeaks(t, e)
}

// Killing a pod's monitor under an exec and a logs -f: both end with an error that says so,
// and delete then releases everything.
func TestCLIMonitorKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("victim", api.RestartPolicyAlways, sh("c", "trap 'exit 0' TERM; while :; do echo tick; sleep 0.2; done"))
	detach(t, cliPod(t, e, p, nil, "c"))
	logs := e.start("", "logs", "-f", "victim")
	ex := e.start("", "exec", "victim", "--", "sh", "-c", "echo started; exec sleep 60")
	logs.waitOutput(t, "tick", 10*time.Second)
	ex.waitOutput(t, "started", 10*time.Second)
	pid := e.monitorPID(t, "victim")
	t.Logf("SIGKILL monitor pid %d", pid)
	syscall.Kill(pid, syscall.SIGKILL)
	for _, r := range []*runProc{logs, ex} {
		code := r.wait(t, 15*time.Second)
		if code == 0 || code == -1 || !strings.Contains(r.stderr(), "monitor") {
			t.Errorf("minipod %s after its pod's monitor died: exit %d, stderr %q; want an error about the monitor", strings.Join(r.args, " "), code, r.stderr())
		}
	}
	if res := e.exec("get", "pod", "victim"); !strings.Contains(res.stdout, "Unknown") && !strings.Contains(res.stdout, "MonitorLost") {
		t.Errorf("get pod of a pod whose monitor died:\n%s", res.stdout)
	}
	if res := e.exec("delete", "pod", "victim"); res.code != 0 {
		t.Errorf("delete after the monitor died: exit %d: %s", res.code, res.stderr)
	}
	assertNoLeaks(t, e)
}

// An attach to a container that writes, falls quiet for longer than a slow client is given
// to read (1 s), then exits: the exit code still arrives (the status frame is not written
// under the last output's stale deadline).
func TestCLIAttachQuietBeforeExit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := api.Container{Name: "c", Image: rootfsImage(), Stdin: true,
		Command: []string{"sh", "-c", "read l; echo got:$l; sleep 2; exit 4"}}
	p := newPod("quiet", api.RestartPolicyNever, c)
	cliPod(t, e, p, []string{"-d"}, "c").wait(t, 30*time.Second)
	res := e.execStdin("go\n", "attach", "quiet", "-c", "c", "-i")
	if res.code != 4 || !strings.Contains(res.stdout, "got:go\n") {
		t.Errorf("attach: exit %d, %q %q; want exit 4 after got:go", res.code, res.stdout, res.stderr)
	}
	e.exec("delete", "pod", "quiet")
	assertNoLeaks(t, e)
}

// A creator killed between making a pod's directory and writing its status (a daemon's
// SIGKILL) leaves a directory nobody holds: a later create of the same name replaces it
// instead of answering "already exists" for a pod that cannot be found. A pod that exists
// (here, one that ran to completion) still refuses the name.
func TestCreateOverAbandonedPod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := e.podDir("default", "left")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "monitor.lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPod("left", api.RestartPolicyNever, sh("c", "exit 0"))
	if r := e.run(manifest(p), "--rm=false"); r.wait(t, 30*time.Second) != 0 {
		t.Fatalf("run over an abandoned pod directory failed:\n%s", r.stderr())
	}
	if st := e.status("default", "left"); st == nil || st.Status.Phase != api.PodSucceeded {
		t.Fatalf("pod after run over an abandoned directory: %+v", st)
	}
	r := e.run(manifest(p))
	if code := r.wait(t, 30*time.Second); code == 0 || !strings.Contains(r.stderr(), "already exists") {
		t.Fatalf("run of an existing pod's name: exit %d, stderr %q", code, r.stderr())
	}
}
