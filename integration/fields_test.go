//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// lifecycle.stopSignal: the container is asked to stop with its own signal, not SIGTERM
// (containerd's StopContainer with the CRI config's stop signal).
func TestFieldsStopSignal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sig := api.Signal("SIGUSR1")
	c := sh("trapper", `trap "echo got-usr1; exit 0" USR1; trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.1; done`)
	c.Lifecycle = &api.Lifecycle{StopSignal: &sig}
	p := newPod("stopsig", "", c)
	p.Spec.OS = &api.PodOS{Name: api.Linux}
	p.Spec.TerminationGracePeriodSeconds = int64p(20)
	r := e.run(manifest(p), "--rm=false")
	e.waitFor(t, "default", "stopsig", running("trapper"), 30*time.Second)
	r.waitLine(t, "trapper", "ready", 10*time.Second)
	res := e.exec("delete", "pod", "stopsig", "-n", "default")
	if res.code != 0 {
		t.Errorf("delete pod: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	r.wait(t, 30*time.Second)
	if !r.hasLine("trapper", "got-usr1") || r.hasLine("trapper", "got-term") {
		t.Errorf("the container's lines %q, want got-usr1 (its stopSignal) and no got-term", r.lines("trapper"))
	}
	assertNoLeaks(t, e)
}

// spec.os.name windows is valid but refused at admission like the kubelet on a Linux node.
func TestFieldsWindowsPodRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("win", "", api.Container{Name: "c", Image: rootfsImage(), Command: []string{"true"}})
	p.Spec.OS = &api.PodOS{Name: api.Windows}
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 30*time.Second); code != 1 {
		t.Errorf("run of a windows pod exited %d, want 1", code)
	}
	const msg = "Pod was rejected: Failed to admit pod as the OS field doesn't match node OS"
	if !strings.Contains(r.stderr(), "minipod: pod default/win Failed: "+msg) {
		t.Errorf("run printed\n%s\nwant the rejection", r.stderr())
	}
	if st := e.status("default", "win"); st == nil || st.Status.Phase != api.PodFailed || st.Status.Reason != "PodOSNotSupported" || st.Status.Message != msg {
		t.Errorf("status %s, want phase Failed, reason PodOSNotSupported", describe(st))
	}
	assertOnlyRecorded(t, e, "win")
}

// subPathExpr: the kubelet expands $(VAR) from the container's env (the downward API
// included) into the subPath; a variable without a value keeps the container waiting with
// CreateContainerConfigError.
func TestFieldsSubPathExpr(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := t.TempDir()
	r := e.run(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: spe}
spec:
  restartPolicy: Never
  volumes:
  - {name: logs, hostPath: {path: %q}}
  containers:
  - name: c
    image: %q
    command: [sh, -c, "echo hello > /logs/out && echo done"]
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: DIR, value: "d-$(POD_NAME)"}
    volumeMounts:
    - {name: logs, mountPath: /logs, subPathExpr: "$(DIR)/$(POD_NAME)"}
  - name: missing
    image: %q
    command: ["true"]
    volumeMounts:
    - {name: logs, mountPath: /logs, subPathExpr: "$(NOPE)"}
`, host, rootfsImage(), rootfsImage()), "--rm=false")
	e.waitFor(t, "default", "spe", waitingWith("missing", "CreateContainerConfigError", "missing value for NOPE"), 60*time.Second)
	r.waitLine(t, "c", "done", 30*time.Second)
	if b, err := os.ReadFile(filepath.Join(host, "d-spe", "spe", "out")); err != nil || string(b) != "hello\n" {
		t.Errorf("the file the container wrote through its subPathExpr: %q, %v", b, err)
	}
	e.mustExec(t, "delete", "pod", "spe")
	r.wait(t, 30*time.Second)
	assertNoLeaks(t, e)
}

// mountPropagation HostToContainer: a mount made on the host below the volume after the
// container started is seen in it (rslave). The host path must be on a shared mount, as
// containerd requires; on a private one the container waits with CreateContainerError.
func TestFieldsMountPropagation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := t.TempDir()
	mustRun(t, "mount", "--bind", host, host)
	t.Cleanup(func() { exec.Command("umount", "-R", host).Run() })
	mustRun(t, "mount", "--make-shared", host)
	private := t.TempDir()
	r := e.run(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: prop}
spec:
  volumes:
  - {name: shared, hostPath: {path: %q}}
  - {name: private, hostPath: {path: %q}}
  containers:
  - name: c
    image: %q
    command: [sh, -c, "echo ready; until [ -f /host/sub/marker ]; do sleep 0.2; done; echo seen; exec sleep 100000"]
    volumeMounts:
    - {name: shared, mountPath: /host, mountPropagation: HostToContainer}
  - name: p
    image: %q
    command: [sleep, "100000"]
    volumeMounts:
    - {name: private, mountPath: /private, mountPropagation: HostToContainer}
`, host, private, rootfsImage(), rootfsImage()), "--rm=false")
	r.waitLine(t, "c", "ready", 60*time.Second)
	sub := filepath.Join(host, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "mount", "-t", "tmpfs", "tmpfs", sub)
	if err := os.WriteFile(filepath.Join(sub, "marker"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.waitLine(t, "c", "seen", 30*time.Second)
	e.waitFor(t, "default", "prop", func(p *api.Pod) bool {
		cs := ctrStatus(p, "p")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerError" &&
			strings.HasPrefix(cs.State.Waiting.Message, fmt.Sprintf("path %q is mounted on ", private)) &&
			strings.HasSuffix(cs.State.Waiting.Message, "but it is not a shared or slave mount")
	}, 60*time.Second)
	e.mustExec(t, "delete", "pod", "prop")
	r.wait(t, 30*time.Second)
	if err := exec.Command("umount", sub).Run(); err != nil {
		t.Errorf("umount %s: %v", sub, err)
	}
	assertNoLeaks(t, e)
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

// generateName gives the pod the API server's kind of name (prefix + 5 random characters),
// and what `minipod get pod -o yaml` prints runs again once the pod is gone.
func TestFieldsGenerateNameAndRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  generateName: gen-
  labels: {app: gen}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: gen-rs, uid: 11111111-2222-3333-4444-555555555555, controller: true}
spec:
  os: {name: linux}
  containers:
  - name: c
    image: %q
    command: [sh, -c, "echo up; exec sleep 100000"]
    lifecycle: {stopSignal: SIGINT}
`, rootfsImage()), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exited %d: %s", code, r.stderr())
	}
	var name string
	for _, l := range strings.Split(e.mustExec(t, "get", "pods").stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "gen-") {
			name = f[0]
		}
	}
	if len(name) != len("gen-")+5 {
		t.Fatalf("no pod named gen-XXXXX in get pods:\n%s", e.mustExec(t, "get", "pods").stdout)
	}
	e.trackManifest("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\n")
	e.waitFor(t, "default", name, running("c"), 60*time.Second)
	out := e.mustExec(t, "get", "pod", name, "-o", "yaml").stdout
	for _, want := range []string{"name: " + name, "generateName: gen-", "uid:", "ownerReferences:", "stopSignal: SIGINT"} {
		if !strings.Contains(out, want) {
			t.Errorf("get -o yaml lacks %q:\n%s", want, out)
		}
	}
	e.mustExec(t, "delete", "pod", name)
	// The same output (status, uid, creationTimestamp included) runs again, with its name.
	r2 := e.run(out, "-d")
	if code := r2.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run of get -o yaml exited %d: %s", code, r2.stderr())
	}
	p := e.waitFor(t, "default", name, running("c"), 60*time.Second)
	if p.Metadata.Name != name || len(p.Metadata.OwnerReferences) != 1 || strings.Contains(out, "uid: "+p.Metadata.UID) {
		t.Errorf("re-run pod metadata %+v: want the same name and owner, a new uid", p.Metadata)
	}
	e.mustExec(t, "delete", "pod", name)
	assertNoLeaks(t, e)
}

// recursiveReadOnly Enabled: a read-only volume is read-only in its submounts too (runc's
// rro); without it only the top mount is.
func TestFieldsRecursiveReadOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := t.TempDir()
	sub := filepath.Join(host, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "mount", "-t", "tmpfs", "tmpfs", sub)
	t.Cleanup(func() { exec.Command("umount", sub).Run() })
	r := e.run(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: rro}
spec:
  restartPolicy: Never
  volumes:
  - {name: v, hostPath: {path: %q}}
  containers:
  - name: rro
    image: %q
    command: [sh, -c, "touch /v/sub/f 2>/dev/null && echo writable || echo read-only"]
    volumeMounts:
    - {name: v, mountPath: /v, readOnly: true, recursiveReadOnly: Enabled}
  - name: ro
    image: %q
    command: [sh, -c, "touch /v/sub/g 2>/dev/null && echo writable || echo read-only"]
    volumeMounts:
    - {name: v, mountPath: /v, readOnly: true}
`, host, rootfsImage(), rootfsImage()), "--rm=false")
	r.waitLine(t, "rro", "read-only", 60*time.Second)
	r.waitLine(t, "ro", "writable", 60*time.Second)
	r.wait(t, 60*time.Second)
	e.mustExec(t, "delete", "pod", "rro")
	assertNoLeaks(t, e)
}
