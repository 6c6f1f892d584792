//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func staticManifest(version string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: static
  labels:
    version: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %s
    command: ["sh", "-c", "echo %s; exec sleep 1000"]
`, version, rootfsImage(), version)
}

// TestDaemonStaticPods: the manifests of --manifest-dir run as the kubelet runs static pods:
// a pod named <name>-<node> appears with its file (served as its mirror pod, with the
// kubelet's annotations, and listed by `minipod get pods` too), is replaced when the file
// changes, comes back when deleted through the API, and goes with its file; hidden files
// are not manifests.
func TestDaemonStaticPods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := filepath.Join(e.dir, "manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := e.startDaemon(t)
	if d.manifests() != dir {
		t.Fatalf("the daemon's manifest dir is %s", d.manifests())
	}
	c := d.client(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	name := "static-" + strings.ToLower(host)
	ctx := context.Background()

	// waitPod polls until the pod satisfies ok (nil: until it is gone).
	waitPod := func(what string, ok func(*corev1.Pod) bool) *corev1.Pod {
		t.Helper()
		start := time.Now()
		deadline := start.Add(60 * time.Second)
		for {
			p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			switch {
			case ok == nil && apierrors.IsNotFound(err):
				t.Logf("pod %s %s after %v", name, what, time.Since(start).Round(time.Millisecond))
				return nil
			case ok != nil && err == nil && ok(p):
				t.Logf("pod %s %s after %v", name, what, time.Since(start).Round(time.Millisecond))
				return p
			case err != nil && !apierrors.IsNotFound(err):
				t.Fatalf("get %s: %v", name, err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod %s: not %s within 60s (last: %v %+v)", name, what, err, p.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	running := func(version string) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			return p.Labels["version"] == version && p.Status.Phase == corev1.PodRunning
		}
	}

	writeFile(t, filepath.Join(dir, ".static.yaml.swp"), "not a manifest")
	file := filepath.Join(dir, "static.yaml")
	writeFile(t, file, staticManifest("one"))
	p1 := waitPod("running version one", running("one"))
	a := p1.Annotations
	if a["kubernetes.io/config.source"] != "file" || a["kubernetes.io/config.hash"] == "" || a["kubernetes.io/config.mirror"] != a["kubernetes.io/config.hash"] {
		t.Errorf("annotations of a static pod: %v", a)
	}
	if p1.Spec.NodeName != strings.ToLower(host) {
		t.Errorf("spec.nodeName %q", p1.Spec.NodeName)
	}
	if res := e.exec("get", "pods", name, "-o", "name"); res.code != 0 || strings.TrimSpace(res.stdout) != "pod/"+name {
		t.Errorf("minipod get pods %s: exit %d %q %q", name, res.code, res.stdout, res.stderr)
	}
	if all, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil || len(all.Items) != 1 {
		t.Errorf("pods: %v %v (the hidden file is no manifest)", all, err)
	}

	// Edited in place: the pod is replaced by one of the new content.
	writeFile(t, file, staticManifest("two"))
	p2 := waitPod("running version two", running("two"))
	if p2.UID == p1.UID {
		t.Errorf("the pod was not replaced: uid %s", p2.UID)
	}
	if out := d.mustKubectl(t, "logs", name); strings.TrimSpace(out) != "two" {
		t.Errorf("logs of the new pod: %q", out)
	}

	// Deleted through the API, it comes back: the file says it should run.
	d.mustKubectl(t, "delete", "pod", name, "--grace-period=0", "--force")
	waitPod("back after a delete", func(p *corev1.Pod) bool { return p.UID != p2.UID && running("two")(p) })

	// Its file goes: so does the pod, with everything it held.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	waitPod("gone", nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(e.podDir("default", name)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists", e.podDir("default", name))
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop(t) // the daemon's own process is no leak
	assertNoLeaks(t, e)
}
