//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// TestDeleteAllPodsMaxPods: --max-pods refuses the pod past the limit as the kubelet does
// (Failed, OutOfpods, nothing started), `delete pods --all` deletes the pods of its namespace
// only, `-A` those of every namespace, and nothing is left.
func TestDeleteAllPodsMaxPods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	idle := func(name, ns string) string {
		p := newPod(name, api.RestartPolicyAlways, sh("c", "exec sleep 100000"))
		p.Metadata.Namespace = ns
		return manifest(p)
	}
	for _, p := range []struct{ name, ns string }{{"p1", "default"}, {"p2", "default"}, {"p3", "other"}} {
		r := e.start(idle(p.name, p.ns), "run", "-d", "--max-pods=3", "-")
		e.trackManifest(idle(p.name, p.ns))
		if code := r.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("run -d %s: exit %d: %s", p.name, code, r.stderr())
		}
	}

	// The fourth: the kubelet's --max-pods is the node's pod capacity (nodestatus
	// MachineInfo), which its admission (lifecycle predicateAdmitHandler) applies.
	r := e.run(idle("p4", "default"), "--rm=false", "--max-pods=3")
	if code := r.wait(t, 60*time.Second); code != 1 {
		t.Errorf("run p4 past --max-pods=3: exit %d, want 1", code)
	}
	msg := "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"
	if !strings.Contains(r.stderr(), "Pod was rejected: "+msg) {
		t.Errorf("run p4 printed\n%s\nwant %q", r.stderr(), msg)
	}
	if p := e.status("default", "p4"); p.Status.Phase != api.PodFailed || p.Status.Reason != "OutOfpods" {
		t.Errorf("p4: status %s, want Failed OutOfpods", describe(p))
	}

	// --all: the namespace's pods only (p4 among them), in order, as kubectl.
	res := e.mustExec(t, "delete", "pods", "--all", "--force", "--grace-period=0")
	for _, n := range []string{"p1", "p2", "p4"} {
		if !strings.Contains(res.stdout, `pod "`+n+`" force deleted`) {
			t.Errorf("delete pods --all: stdout\n%s\nwant pod %q force deleted", res.stdout, n)
		}
	}
	if strings.Contains(res.stdout, `"p3"`) {
		t.Errorf("delete pods --all (namespace default) deleted p3 of namespace other:\n%s", res.stdout)
	}
	if row := podRow(e.mustExec(t, "get", "pods", "-n", "other").stdout, "p3"); len(row) < 3 || row[2] != "Running" {
		t.Errorf("p3 after deleting default's pods: row %q, want Running", row)
	}
	if row := podRow(e.mustExec(t, "get", "pods").stdout, "p1"); row != nil {
		t.Errorf("p1 still listed after delete pods --all: %q", row)
	}

	// -A without --all is refused, as kubectl's "a resource cannot be retrieved by name
	// across all namespaces".
	if res := e.exec("delete", "pod", "p3", "-A"); res.code == 0 || !strings.Contains(res.stderr, "across all namespaces") {
		t.Errorf("delete pod p3 -A: exit %d, stderr %q, want refused", res.code, res.stderr)
	}

	res = e.mustExec(t, "delete", "pods", "--all", "-A", "--force", "--grace-period=0")
	if !strings.Contains(res.stdout, `pod "p3" force deleted`) {
		t.Errorf("delete pods --all -A: stdout\n%s\nwant p3", res.stdout)
	}
	res = e.mustExec(t, "delete", "pods", "--all", "-A")
	if !strings.Contains(res.stderr, "No resources found") {
		t.Errorf("delete pods --all -A with no pods: stderr %q, want No resources found", res.stderr)
	}
	assertNoLeaks(t, e)
}

// TestPodMountsStayInTheMonitor: a pod's mounts (root filesystems, /dev/shm, namespace pins,
// a memory emptyDir) are made in its monitor's own mount namespace, so the host's mount table,
// which every container start copies, does not grow with the number of pods; only the
// per-installation mount roots are there. Deleting the pod leaves nothing.
func TestPodMountsStayInTheMonitor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("mounts", api.RestartPolicyAlways, sh("a", "exec sleep 100000"), sh("b", "exec sleep 100000"))
	p.Spec.Volumes = []api.Volume{{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: "Memory"}}}
	p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "mem", MountPath: "/mem"}}
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	r := e.run(manifest(p), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, r.stderr())
	}
	e.waitFor(t, "default", "mounts", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning }, time.Minute)

	roots := map[string]bool{
		filepath.Join(e.stateDir, "netns"): true, filepath.Join(e.stateDir, "ns"): true, filepath.Join(e.rootDir, "pods"): true,
	}
	for _, l := range mountLinesUnder(e.dir) {
		if f := strings.Fields(l); len(f) > 4 && roots[f[4]] {
			continue
		}
		t.Errorf("a pod's mount in the host's mount table: %s", l)
	}
	host, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	pid := monitorPID(t, e, "mounts")
	mine, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		t.Fatal(err)
	}
	if mine == host {
		t.Fatalf("the monitor shares the host's mount namespace (%s)", host)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 8 && strings.HasPrefix(f[4], e.dir+"/") && !roots[f[4]] {
			kinds[f[len(f)-3]]++ // the filesystem type, after the " - " separator
		}
	}
	// Two overlays, /dev/shm and the memory emptyDir (tmpfs), the net, IPC and UTS pins (nsfs).
	if kinds["overlay"] != 2 || kinds["tmpfs"] != 2 || kinds["nsfs"] != 3 {
		t.Errorf("the monitor's mounts under the test's directory by type: %v, want 2 overlay, 2 tmpfs, 3 nsfs", kinds)
	}
	e.deletePod(t, "mounts")
	assertNoLeaks(t, e)
}
