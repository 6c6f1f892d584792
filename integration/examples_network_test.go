//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// pauseScript stands in for the pause image: it sleeps until told to stop.
const pauseScript = `#!/bin/sh
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
`

// buildPauseImages imports stand-ins for the pause images the scheduling examples name.
func buildPauseImages(t *testing.T, e *env) {
	t.Helper()
	dir := filepath.Join(e.dir, "pause-image")
	if out, err := exec.Command("cp", "-a", rootfsDir, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "pause"), []byte(pauseScript), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"2.0", "3.1", "3.6", "3.8"} {
		e.mustExec(t, "image", "import", dir, "registry.k8s.io/pause:"+tag, "--change", `ENTRYPOINT ["/pause"]`)
	}
}

// warningsOf returns the warning lines a command printed.
func warningsOf(stderr string) []string {
	var w []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "minipod: warning: ") {
			w = append(w, strings.TrimPrefix(l, "minipod: warning: "))
		}
	}
	return w
}

// The scheduling, toleration, nodeName and process-sharing examples of the Kubernetes
// documentation run unmodified with stand-in images: the scheduler's fields are named in
// one warning and ignored, a gated pod stays SchedulingGated, and the shell of the
// shareProcessNamespace example sees nginx's processes under the pod's reaper.
func TestDocsExamplesNetwork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	buildExampleImages(t, e)
	buildPauseImages(t, e)

	// Each runs detached, must get running with exactly the expected warning, and goes.
	scheduled := []struct {
		path, name, container, warning string
		nginx                          bool // serves nginx's page on the pod IP
	}{
		{"pods/pod-nginx.yaml", "nginx", "nginx", "spec.nodeSelector", true},
		{"pods/pod-nginx-required-affinity.yaml", "nginx", "nginx", "spec.affinity", true},
		{"pods/pod-nginx-preferred-affinity.yaml", "nginx", "nginx", "spec.affinity", true},
		{"pods/pod-nginx-specific-node.yaml", "nginx", "nginx", "spec.nodeName", true},
		{"pods/pod-with-toleration.yaml", "nginx", "nginx", "spec.tolerations", true},
		{"pods/pod-with-numeric-toleration.yaml", "nginx-numeric-toleration", "nginx", "spec.tolerations", true},
		{"pods/pod-with-affinity-anti-affinity.yaml", "with-affinity-anti-affinity", "with-node-affinity", "spec.affinity", false},
		{"pods/pod-with-affinity-preferred-weight.yaml", "with-affinity-preferred-weight", "with-node-affinity", "spec.affinity", false},
		{"pods/pod-with-node-affinity.yaml", "with-node-affinity", "with-node-affinity", "spec.affinity", false},
		{"pods/pod-with-node-affinity-1.yaml", "with-node-affinity-1", "with-node-affinity-1", "spec.affinity", false},
		{"pods/pod-with-node-affinity-2.yaml", "with-node-affinity-2", "with-node-affinity-2", "spec.affinity", false},
		{"pods/pod-with-pod-affinity.yaml", "with-pod-affinity", "with-pod-affinity", "spec.affinity", false},
		{"pods/topology-spread-constraints/one-constraint-with-nodeaffinity.yaml", "mypod", "pause", "spec.affinity, spec.topologySpreadConstraints", false},
	}
	for _, ex := range scheduled {
		t.Run(ex.path, func(t *testing.T) {
			r := e.run(readExample(t, ex.path), "-d")
			if code := r.wait(t, 90*time.Second); code != 0 {
				t.Fatalf("run -d exit %d: %s", code, r.stderr())
			}
			want := []string{"ignored on one host: " + ex.warning}
			if got := warningsOf(r.stderr()); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("warnings %q, want %q", got, want)
			}
			e.waitRunning(t, ex.name, ex.container)
			if ex.nginx {
				ip := e.podIP(t, "default", ex.name)
				if got := httpGet(t, "http://"+ip+"/", 20*time.Second); !strings.Contains(got, "<title>Welcome to nginx!</title>") {
					t.Errorf("GET / = %q", got)
				}
			}
			e.deletePod(t, ex.name)
		})
	}

	t.Run("pods/pod-with-scheduling-gates.yaml", func(t *testing.T) {
		r := e.run(readExample(t, "pods/pod-with-scheduling-gates.yaml"), "-d")
		if code := r.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("run -d exit %d: %s", code, r.stderr())
		}
		st := e.status("default", "test-pod")
		if st == nil || st.Status.Phase != api.PodPending || len(st.Status.Conditions) != 1 || st.Status.Conditions[0].Reason != "SchedulingGated" {
			t.Errorf("status %s, want Pending, SchedulingGated", describe(st))
		}
		if row := podRow(e.mustExec(t, "get", "pods").stdout, "test-pod"); len(row) < 3 || row[1] != "0/1" || row[2] != "SchedulingGated" {
			t.Errorf("get pods row %q, want 0/1 SchedulingGated", row)
		}
		e.deletePod(t, "test-pod")
	})

	t.Run("pods/share-process-namespace.yaml", func(t *testing.T) {
		r := e.run(readExample(t, "pods/share-process-namespace.yaml"), "-d")
		if code := r.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("run -d exit %d: %s", code, r.stderr())
		}
		e.waitRunning(t, "nginx", "nginx", "shell")
		// As the page does: `kubectl exec -it nginx -c shell -- sh`, then `ps ax`.
		out, code := e.execIn(t, "nginx", "shell", "ps", "ax")
		if code != 0 {
			t.Fatalf("ps ax: exit %d: %s", code, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 2 || !strings.HasPrefix(strings.TrimSpace(lines[1]), "1 ") || !strings.Contains(lines[1], "minipod pause") {
			t.Errorf("ps ax:\n%s\nwant the pod's reaper as PID 1", out)
		}
		if !strings.Contains(out, "nginx") || !strings.Contains(out, "httpd -f -p 80") || !strings.Contains(out, "sleep 3600") {
			t.Errorf("ps ax:\n%s\nwant nginx's processes and the shell's sleep", out)
		}
		// The shell can signal nginx: `pkill -HUP nginx` there; here the stand-in's httpd.
		if out, code := e.execIn(t, "nginx", "shell", "sh", "-c", "kill -0 $(pidof httpd) && echo can-signal"); code != 0 || !strings.Contains(out, "can-signal") {
			t.Errorf("signal nginx's process from the shell: exit %d: %s", code, out)
		}
		e.deletePod(t, "nginx")
	})
}
