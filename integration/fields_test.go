//go:build integration

package integration

import (
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
