//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/state"
)

// ephStatus returns an ephemeral container's status.
func ephStatus(p *api.Pod, name string) *api.ContainerStatus {
	if p == nil {
		return nil
	}
	for i := range p.Status.EphemeralContainerStatuses {
		if p.Status.EphemeralContainerStatuses[i].Name == name {
			return &p.Status.EphemeralContainerStatuses[i]
		}
	}
	return nil
}

func ephTerminated(name string) func(*api.Pod) bool {
	return func(p *api.Pod) bool {
		cs := ephStatus(p, name)
		return cs != nil && cs.State.Terminated != nil
	}
}

func podReady(p *api.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// debugPod is a running pod to debug: a web server (app) and a second container (side) whose
// process is told apart by its arguments, with a completed init container.
func debugPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %[2]s}
spec:
  terminationGracePeriodSeconds: 2
  initContainers:
  - name: setup
    image: %[1]s
    command: [sh, -c, 'echo "hello from app" > /www/index.html']
    volumeMounts: [{name: www, mountPath: /www}]
  containers:
  - name: app
    image: %[1]s
    command: [httpd, -f, -p, "8080", -h, /www]
    volumeMounts: [{name: www, mountPath: /www}]
  - name: side
    image: %[1]s
    command: [sleep, "31337"]
  volumes:
  - name: www
    emptyDir: {}
`, rootfsImage(), name)
}

// kubectl debug's ephemeral containers: added to a running pod, in its network namespace and
// its target's PID namespace, never restarted, outside the pod's phase and readiness, with
// their statuses, logs and attach; duplicates refused; stopped and released with the pod.
func TestEphemeralDebug(t *testing.T) {
	e := newEnv(t)
	r := e.run(debugPod("web"), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exit %d: %s", code, r.stderr())
	}
	e.waitRunning(t, "web", "app", "side")
	img := "--image=" + rootfsImage()

	// A debug container targeting app sees app's processes (and only those: side's sleep is
	// in a PID namespace of its own) and reaches the pod's server on localhost.
	res := e.exec("debug", "web", img, "--target=app", "-c", "dbg", "--", "sh", "-c",
		"ps -o args; wget -qO- http://127.0.0.1:8080/; hostname; cat /www/index.html 2>&1 | head -1")
	if res.code != 0 {
		t.Fatalf("debug: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	if want := `Targeting container "app".`; !strings.Contains(res.stdout, want) {
		t.Errorf("debug printed %q, want %q", res.stdout, want)
	}
	p := e.waitFor(t, "default", "web", ephTerminated("dbg"), 60*time.Second)
	cs := ephStatus(p, "dbg")
	if term := cs.State.Terminated; term.ExitCode != 0 || term.Reason != "Completed" || cs.RestartCount != 0 || cs.Ready || cs.Started != nil ||
		!strings.HasSuffix(cs.ContainerID, "-dbg-0") || cs.Image == "" {
		t.Errorf("dbg status %+v", cs)
	}
	logs := e.exec("logs", "web", "-c", "dbg")
	for _, want := range []string{"httpd -f -p 8080 -h /www", "hello from app", "web\n", "No such file or directory"} {
		if !strings.Contains(logs.stdout, want) {
			t.Errorf("dbg's output %q lacks %q", logs.stdout, want)
		}
	}
	if strings.Contains(logs.stdout, "31337") {
		t.Errorf("dbg sees side's process, outside its target's PID namespace:\n%s", logs.stdout)
	}
	// A record and a status that a later reader sees.
	rec, err := state.ReadRecord(e.podDir("default", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if ec := rec.Pod.Spec.EphemeralContainers; len(ec) != 1 || ec[0].Name != "dbg" || ec[0].TargetContainerName != "app" ||
		ec[0].SecurityContext == nil || ec[0].SecurityContext.Capabilities.Add[0] != "SYS_PTRACE" {
		t.Errorf("record's ephemeral containers %+v", ec)
	}

	// A failing one is not restarted and changes nothing of the pod.
	if res := e.exec("debug", "web", img, "-c", "fail", "-q", "--", "sh", "-c", "echo failing; exit 3"); res.code != 0 || res.stdout != "" {
		t.Fatalf("debug fail: exit %d: %q %s", res.code, res.stdout, res.stderr)
	}
	p = e.waitFor(t, "default", "web", ephTerminated("fail"), 60*time.Second)
	time.Sleep(2 * time.Second) // ten crash-loop back-offs of this env
	p = e.status("default", "web")
	if cs := ephStatus(p, "fail"); cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 3 || cs.State.Terminated.Reason != "Error" ||
		cs.RestartCount != 0 || cs.LastState.Terminated != nil {
		t.Errorf("fail status %+v: want terminated with 3, never restarted", cs)
	}
	if _, err := os.Stat(e.logPath(p, "fail", 1)); err == nil {
		t.Error("fail was started a second time")
	}
	if p.Status.Phase != api.PodRunning || !podReady(p) || !running("app", "side")(p) {
		t.Errorf("pod after an ephemeral container failed: %s", describe(p))
	}
	if len(p.Status.ContainerStatuses) != 2 {
		t.Errorf("containerStatuses %s", describe(p))
	}
	get := e.exec("get", "pods", "web")
	if !strings.Contains(get.stdout, "2/2     Running") {
		t.Errorf("get pods:\n%s", get.stdout)
	}

	// Names are unique among all containers; nothing is added.
	for _, tc := range []struct{ name, want string }{
		{"dbg", `spec.ephemeralContainers[2].name: Duplicate value: "dbg"`},
		{"app", `The Pod "web" is invalid: spec.ephemeralContainers[2].name: Duplicate value: "app"`},
		{"setup", `The Pod "web" is invalid: spec.ephemeralContainers[2].name: Duplicate value: "setup"`},
	} {
		res := e.exec("debug", "web", img, "-c", tc.name, "--", "true")
		if res.code != 1 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("debug -c %s: exit %d, stderr %q, want 1 and %q", tc.name, res.code, res.stderr, tc.want)
		}
	}
	if res := e.exec("debug", "web", img, "--target=nope", "--", "true"); res.code != 1 ||
		!strings.Contains(res.stderr, `targetContainerName: Not found: "nope"`) {
		t.Errorf("debug --target=nope: exit %d, %s", res.code, res.stderr)
	}
	// The monitor's call refuses what the API server refuses, each cause with its field.
	_, err = monitorapi.NewClient(e.podDir("default", "web")).AddEphemeralContainer(context.Background(),
		json.RawMessage(`{"name":"x","image":"busybox","ports":[{"containerPort":80}],"volumeDevices":[{"name":"v","devicePath":"/dev/x"}]}`))
	if me, ok := err.(*monitorapi.Error); !ok || me.Kind != monitorapi.Invalid || len(me.Causes) != 1 ||
		me.Causes[0].Field != "spec.ephemeralContainers[2].volumeDevices" {
		t.Errorf("add with an unsupported field: %#v", err)
	}
	if n := len(e.status("default", "web").Spec.EphemeralContainers); n != 2 {
		t.Errorf("%d ephemeral containers after refusals, want 2", n)
	}
	// Through the call the daemon will make: a Kubernetes EphemeralContainer mounting a volume
	// of the pod, read-only.
	p, err = monitorapi.NewClient(e.podDir("default", "web")).AddEphemeralContainer(context.Background(), json.RawMessage(fmt.Sprintf(
		`{"name":"vol","image":%q,"command":["sh","-c","cat /www/index.html; touch /www/x || echo read-only"],
		  "volumeMounts":[{"name":"www","mountPath":"/www","readOnly":true}],"terminationMessagePolicy":"File"}`, rootfsImage())))
	if err != nil {
		t.Fatalf("add with a volume: %v", err)
	}
	// Not created yet: convertToAPIContainerStatuses' default waiting state, PodInitializing in
	// a pod with init containers (done long ago or not).
	if n := len(p.Spec.EphemeralContainers); n != 3 || ephStatus(p, "vol") == nil || ephStatus(p, "vol").State.Waiting == nil ||
		ephStatus(p, "vol").State.Waiting.Reason != "PodInitializing" {
		t.Errorf("the call's reply: %d ephemeral containers, status %+v", n, ephStatus(p, "vol"))
	}
	e.waitFor(t, "default", "web", ephTerminated("vol"), 60*time.Second)
	if out := e.exec("logs", "web", "-c", "vol").stdout; !strings.Contains(out, "hello from app\n") || !strings.Contains(out, "read-only\n") {
		t.Errorf("vol's output %q", out)
	}

	// -i attaches once it runs: input from here, output and exit code back.
	res = e.execStdin("echo interactive; ps -o args | grep -c '^httpd -f'; exit 4\n", "debug", "web", "-i", img, "--target=app", "--", "sh")
	if res.code != 4 || !strings.Contains(res.stdout, "Defaulting debug container name to debugger-") ||
		!strings.Contains(res.stdout, "interactive\n1\n") {
		t.Errorf("debug -i: exit %d\nstdout %q\nstderr %q", res.code, res.stdout, res.stderr)
	}

	// -it as a person types it: a shell on a terminal, its prompt, echo, window size and exit
	// code; then the container has ended with the shell's code, its terminal output logged.
	t.Run("pty", func(t *testing.T) {
		testPTYShell(t, e, []string{"debug", "-it", "web", img, "--target=app", "-c", "tty", "--", "sh"}, "\r")
		p := e.waitFor(t, "default", "web", ephTerminated("tty"), 60*time.Second)
		if cs := ephStatus(p, "tty"); cs.State.Terminated.ExitCode != 3 || cs.RestartCount != 0 {
			t.Errorf("tty status %+v", cs)
		}
		if out := e.exec("logs", "web", "-c", "tty").stdout; !strings.Contains(out, "hello-from-pty") {
			t.Errorf("tty's log %q", out)
		}
	})

	// minipod attach to an ephemeral container that keeps its stdin.
	if res := e.exec("debug", "web", img, "-c", "echo", "-i", "--attach=false", "--", "sh", "-c", `while read l; do echo "got:$l"; [ "$l" = bye ] && exit 5; done`); res.code != 0 {
		t.Fatalf("debug --attach=false: exit %d: %s", res.code, res.stderr)
	}
	e.waitFor(t, "default", "web", func(p *api.Pod) bool {
		cs := ephStatus(p, "echo")
		return cs != nil && cs.State.Running != nil
	}, 60*time.Second)
	if out, code := e.execIn(t, "web", "echo", "echo", "exec'd"); code != 0 || out != "exec'd\n" {
		t.Errorf("exec in an ephemeral container: %d %q", code, out)
	}
	// Its stdin stays open when a client leaves (no stdinOnce): it ends on "bye".
	res = e.execStdin("hello\nbye\n", "attach", "web", "-c", "echo", "-i")
	if res.code != 5 || !strings.Contains(res.stdout, "got:hello\ngot:bye\n") {
		t.Errorf("attach to an ephemeral container: exit %d, %q %q", res.code, res.stdout, res.stderr)
	}

	// A target that does not run: containerd's CreateContainerError, tried again.
	if res := e.exec("debug", "web", img, "-c", "late", "--target=setup", "--", "true"); res.code != 0 {
		t.Fatalf("debug --target=setup: exit %d: %s", res.code, res.stderr)
	}
	p = e.waitFor(t, "default", "web", func(p *api.Pod) bool {
		cs := ephStatus(p, "late")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerError"
	}, 60*time.Second)
	if msg := ephStatus(p, "late").State.Waiting.Message; !strings.Contains(msg, "is not running - in state CONTAINER_EXITED") {
		t.Errorf("late: waiting message %q", msg)
	}

	// Statuses sorted by name (SortedContainerStatuses), whatever order they were added in.
	var names []string
	for _, cs := range p.Status.EphemeralContainerStatuses {
		names = append(names, cs.Name)
	}
	if got, want := strings.Join(names, ","), "dbg,debugger-,echo,fail,late,tty,vol"; len(names) != 7 || !slices.IsSorted(names) ||
		!strings.HasPrefix(names[1], "debugger-") || names[0] != "dbg" || names[6] != "vol" {
		t.Errorf("ephemeralContainerStatuses names %s, want sorted like %s", got, want)
	}

	desc := e.exec("describe", "pod", "web")
	for _, want := range []string{"Ephemeral Containers:\n  dbg:\n", "  fail:\n", "      Exit Code:    3\n", "  late:\n"} {
		if !strings.Contains(desc.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, desc.stdout)
		}
	}
	if ev := e.exec("get", "events"); !strings.Contains(ev.stdout, "Started container dbg") {
		t.Errorf("events:\n%s", ev.stdout)
	}

	// Deleting the pod stops a running ephemeral container (sleep as PID 1 ignores SIGTERM:
	// killed at the end of the grace period) and a waiting one, and releases everything.
	if res := e.exec("debug", "web", img, "-c", "long", "--", "sleep", "100000"); res.code != 0 {
		t.Fatalf("debug long: exit %d: %s", res.code, res.stderr)
	}
	e.waitFor(t, "default", "web", func(p *api.Pod) bool {
		cs := ephStatus(p, "long")
		return cs != nil && cs.State.Running != nil
	}, 60*time.Second)
	if res := e.exec("delete", "pod", "web"); res.code != 0 {
		t.Fatalf("delete: exit %d: %s", res.code, res.stderr)
	}
	if _, err := os.Stat(e.podDir("default", "web")); !os.IsNotExist(err) {
		t.Errorf("pod dir after delete: %v", err)
	}
	assertNoLeaks(t, e)
}

// An ephemeral container does not keep a pod alive: when its regular containers are done,
// the pod completes and the ephemeral container is stopped with it.
func TestEphemeralStoppedWithPod(t *testing.T) {
	e := newEnv(t)
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: short}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: %s
    command: [sh, -c, 'while [ ! -e /tmp/done ]; do sleep 0.1; done']
`, rootfsImage())
	r := e.run(pod, "--rm=false")
	e.waitRunning(t, "short", "app")
	if res := e.exec("debug", "short", "--image="+rootfsImage(), "--target=app", "-c", "dbg", "--", "sleep", "100000"); res.code != 0 {
		t.Fatalf("debug: exit %d: %s", res.code, res.stderr)
	}
	e.waitFor(t, "default", "short", func(p *api.Pod) bool {
		cs := ephStatus(p, "dbg")
		return cs != nil && cs.State.Running != nil
	}, 60*time.Second)
	// The ephemeral container shares app's PID namespace, and so its /proc/<pid>/root.
	if out, code := e.execIn(t, "short", "dbg", "sh", "-c", "touch /proc/1/root/tmp/done && echo ok"); code != 0 || out != "ok\n" {
		t.Fatalf("exec in dbg: %d %q", code, out)
	}
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Errorf("run exit %d, want 0 (Succeeded): %s", code, r.stderr())
	}
	p := e.status("default", "short")
	if p.Status.Phase != api.PodSucceeded {
		t.Errorf("phase %s: %s", p.Status.Phase, describe(p))
	}
	if cs := ephStatus(p, "dbg"); cs == nil || cs.State.Terminated == nil || cs.RestartCount != 0 {
		t.Errorf("dbg after the pod ended: %+v", cs)
	}
	if !strings.Contains(r.stderr(), "minipod: container dbg Running") {
		t.Errorf("run did not report the ephemeral container:\n%s", r.stderr())
	}
	// The pod has ended: its monitor is gone, so nothing more can be added.
	if res := e.exec("debug", "short", "--image="+rootfsImage(), "--", "true"); res.code != 1 || !strings.Contains(res.stderr, "the pod has ended") {
		t.Errorf("debug of an ended pod: exit %d, %s", res.code, res.stderr)
	}
	assertReleased(t, e)
}

// The API server refuses ephemeral containers on create; so does run, creating nothing.
func TestEphemeralRefusedOnCreate(t *testing.T) {
	e := newEnv(t)
	r := e.run(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: early}
spec:
  containers:
  - {name: app, image: %[1]s, command: [sleep, "1"]}
  ephemeralContainers:
  - {name: dbg, image: %[1]s}
`, rootfsImage()))
	if code := r.wait(t, 30*time.Second); code != 2 {
		t.Errorf("run exit %d, want 2", code)
	}
	if want := "spec.ephemeralContainers: Forbidden: cannot be set on create"; !strings.Contains(r.stderr(), want) {
		t.Errorf("stderr %q lacks %q", r.stderr(), want)
	}
	assertNothingCreated(t, e)
	if _, err := os.Stat(filepath.Join(e.stateDir, "pods")); err == nil {
		if ents, _ := os.ReadDir(filepath.Join(e.stateDir, "pods")); len(ents) > 0 {
			t.Errorf("pods created: %v", ents)
		}
	}
}

// execStdin runs a minipod command to completion with stdin from a string.
func (e *env) execStdin(stdin string, args ...string) result {
	e.t.Helper()
	r := e.start(stdin, args...)
	code := r.wait(e.t, 90*time.Second)
	return result{stdout: r.stdout(), stderr: r.stderr(), code: code}
}

// With shareProcessNamespace the pod's PID namespace wins over a target, as the kubelet
// decides: the debugging container sees every container's processes.
func TestEphemeralSharedPIDNamespace(t *testing.T) {
	e := newEnv(t)
	r := e.run(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  shareProcessNamespace: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: %[1]s, command: [sleep, "4141"]}
  - {name: b, image: %[1]s, command: [sleep, "4242"]}
`, rootfsImage()), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exit %d: %s", code, r.stderr())
	}
	e.waitRunning(t, "shared", "a", "b")
	if res := e.exec("debug", "shared", "--image="+rootfsImage(), "--target=a", "-c", "dbg", "--", "ps", "-o", "args"); res.code != 0 {
		t.Fatalf("debug: exit %d: %s", res.code, res.stderr)
	}
	e.waitFor(t, "default", "shared", ephTerminated("dbg"), 60*time.Second)
	out := e.exec("logs", "shared", "-c", "dbg").stdout
	if !strings.Contains(out, "sleep 4141") || !strings.Contains(out, "sleep 4242") {
		t.Errorf("ps in the pod's PID namespace:\n%s", out)
	}
	// kubectl's sysadmin profile: a privileged container added to a pod that had none runs,
	// with every capability this host has. Its /sys is read-only, as with containerd: the
	// pod's sysfs was mounted read-only first (the pod had no privileged container to pin a
	// writable one for, sandbox/sysfs.go).
	if res := e.exec("debug", "shared", "--image="+rootfsImage(), "--profile=sysadmin", "-c", "admin", "--", "sh", "-c",
		"grep CapEff /proc/self/status; grep ' /sys ' /proc/mounts"); res.code != 0 {
		t.Fatalf("debug --profile=sysadmin: exit %d: %s", res.code, res.stderr)
	}
	p := e.waitFor(t, "default", "shared", ephTerminated("admin"), 60*time.Second)
	out = e.exec("logs", "shared", "-c", "admin").stdout
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	_, bnd, _ := strings.Cut(string(self), "CapBnd:\t")
	bnd, _, _ = strings.Cut(bnd, "\n")
	if cs := ephStatus(p, "admin"); cs.State.Terminated.ExitCode != 0 || !strings.Contains(out, "CapEff:\t"+bnd+"\n") ||
		!strings.Contains(out, "sysfs /sys sysfs ro,") {
		t.Errorf("privileged ephemeral container: %+v, output %q", cs.State.Terminated, out)
	}
	if res := e.exec("delete", "pod", "shared"); res.code != 0 {
		t.Fatalf("delete: exit %d: %s", res.code, res.stderr)
	}
	assertNoLeaks(t, e)
}
