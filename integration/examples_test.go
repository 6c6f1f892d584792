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

// exampleImage is a stand-in, built from the busybox root filesystem, for an image a
// Kubernetes documentation example names: same name, behaving as the example needs.
type exampleImage struct {
	names   []string
	files   map[string]string // path in the image -> content (executable when it starts with #! or is an ELF binary)
	changes []string          // image config, as `minipod image import --change`
}

// nginxScript stands in for nginx: it serves /usr/share/nginx/html on port 80, quits on
// `nginx -s quit`, and its process is named nginx (killall finds it).
const nginxScript = `#!/bin/sh
case "$1" in -s) killall httpd; exit 0;; esac
httpd -f -p 80 -h /usr/share/nginx/html &
trap 'kill $!' TERM INT QUIT
wait
`

var exampleImages = []exampleImage{
	{names: []string{"registry.k8s.io/busybox:1.27.2", "busybox:1.28"}, changes: []string{`CMD ["sh"]`}},
	{names: []string{"nginx", "nginx:1.29"},
		files: map[string]string{
			"/usr/sbin/nginx":                  nginxScript,
			"/usr/share/nginx/html/index.html": "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body><h1>Welcome to nginx!</h1></body>\n</html>\n",
		},
		changes: []string{`CMD ["nginx", "-g", "daemon off;"]`, "STOPSIGNAL SIGQUIT", "EXPOSE 80/tcp"}},
	// agnhost liveness: /healthz answers 200 for 10 s, then fails (here: 404, the file goes).
	{names: []string{"registry.k8s.io/e2e-test-images/agnhost:2.40"},
		files: map[string]string{"/agnhost": `#!/bin/sh
[ "$1" = liveness ] || { echo "agnhost stand-in: only liveness" >&2; exit 1; }
mkdir -p /tmp/www && echo ok > /tmp/www/healthz
(sleep 10; rm -f /tmp/www/healthz) &
exec httpd -f -p 8080 -h /tmp/www
`},
		changes: []string{`ENTRYPOINT ["/agnhost"]`}},
	{names: []string{"registry.k8s.io/goproxy:0.1"},
		files:   map[string]string{"/goproxy": "#!/bin/sh\nexec httpd -f -p 8080 -h /\n"},
		changes: []string{`CMD ["/goproxy"]`}},
	// socat tcp-listen:PORT,fork tcp-connect:...: listens on PORT.
	{names: []string{"docker.io/alpine/socat:1.8.0.3"},
		files: map[string]string{"/usr/bin/socat": `#!/bin/sh
port=${1#tcp-listen:}; port=${port%%,*}
exec nc -ll -p "$port" -e cat
`},
		changes: []string{`ENTRYPOINT ["socat"]`}},
	// Debian's printenv (coreutils): busybox-static has none.
	{names: []string{"debian"},
		files: map[string]string{"/usr/bin/printenv": `#!/bin/sh
[ $# -eq 0 ] && exec env
rc=0
for v; do if eval "[ -n \"\${$v+x}\" ]"; then eval "printf '%s\n' \"\$$v\""; else rc=1; fi; done
exit $rc
`},
		changes: []string{`CMD ["bash"]`}},
}

// buildExampleImages imports the stand-in images into the env's image store.
func buildExampleImages(t *testing.T, e *env) { buildImages(t, e, "image", exampleImages) }

// buildImages imports stand-in images, each built in <env>/<prefix><index>.
func buildImages(t *testing.T, e *env, prefix string, images []exampleImage) {
	t.Helper()
	for i, img := range images {
		dir := filepath.Join(e.dir, fmt.Sprintf("%s%d", prefix, i))
		if out, err := exec.Command("cp", "-a", rootfsDir, dir).CombinedOutput(); err != nil {
			t.Fatalf("copy rootfs: %v %s", err, out)
		}
		for p, content := range img.files {
			mode := os.FileMode(0o644)
			if strings.HasPrefix(content, "#!") || strings.HasPrefix(content, "\x7fELF") {
				mode = 0o755
			}
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), mode); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range img.names {
			args := []string{"image", "import", dir, name}
			for _, c := range img.changes {
				args = append(args, "--change", c)
			}
			e.mustExec(t, args...)
		}
	}
}

func readExample(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "k8s-examples", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logOf returns a container's log, as `minipod logs` prints it; empty while it has none.
func (e *env) logOf(t *testing.T, pod, container string) string {
	return e.exec("logs", pod, "-c", container).stdout
}

// The pod examples of the Kubernetes documentation run unmodified, with local images of
// the names they use.
func TestDocsExamples(t *testing.T) {
	e := newEnv(t)
	buildExampleImages(t, e)
	start := func(t *testing.T, path string) (*runProc, string) {
		m := readExample(t, path)
		return e.run(m, "--rm=false"), m
	}
	deleteWhenDone := func(t *testing.T, name string) {
		t.Cleanup(func() { e.exec("delete", "pod", name, "--grace-period", "0") })
	}
	t.Run("group", func(t *testing.T) {
		t.Run("init-containers", func(t *testing.T) {
			t.Parallel()
			// The init container downloads http://info.cern.ch: with no way out of this
			// machine it fails, is retried with back-off, and nginx never starts.
			start(t, "pods/init-containers.yaml")
			deleteWhenDone(t, "init-demo")
			p := e.waitFor(t, "default", "init-demo", func(p *api.Pod) bool {
				cs := p.Status.InitContainerStatuses
				return len(cs) == 1 && cs[0].RestartCount >= 1
			}, 60*time.Second)
			if p.Status.Phase != api.PodPending {
				t.Errorf("phase %s, want Pending", p.Status.Phase)
			}
			if cs := ctrStatus(p, "nginx"); cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
				t.Errorf("nginx %+v, want waiting PodInitializing", cs)
			}
			install := p.Status.InitContainerStatuses[0]
			if lt := install.LastState.Terminated; lt == nil || lt.ExitCode == 0 {
				t.Errorf("install %+v, want a failed last run", install)
			}
			if recs := readCRILog(t, e.logPath(p, "install", 0)); !logContains(recs, "wget: bad address 'info.cern.ch'") {
				t.Errorf("install's first log %+v, want wget's failure on info.cern.ch", recs)
			}
			if row := podRow(e.mustExec(t, "get", "pods").stdout, "init-demo"); len(row) < 3 || !strings.HasPrefix(row[2], "Init:") {
				t.Errorf("get pods row %q, want an Init: status; status %s", row, describe(e.status("default", "init-demo")))
			}
		})
		t.Run("exec-liveness", func(t *testing.T) {
			t.Parallel()
			// /tmp/healthy goes after 30 s; the probe (every 5 s, 3 failures) kills it about
			// 45 s in, and the container, which ignores SIGTERM as PID 1, dies at the end of
			// the 30 s grace period: restarted about 75 s in, later on a loaded machine.
			start(t, "pods/probe/exec-liveness.yaml")
			deleteWhenDone(t, "liveness-exec")
			p := e.waitFor(t, "default", "liveness-exec", restartsAtLeast("liveness", 1), 180*time.Second)
			if age := time.Since(p.Metadata.CreationTimestamp.Time); age < 30*time.Second {
				t.Errorf("restarted %v after creation, before /tmp/healthy went", age)
			}
			if ev := eventsWith(e.events(t, "default", "liveness-exec"), "liveness", "Killing", "Container liveness failed liveness probe, will be restarted"); len(ev) == 0 {
				t.Error("no liveness kill event")
			}
		})
		t.Run("http-liveness", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/probe/http-liveness.yaml")
			deleteWhenDone(t, "liveness-http")
			e.waitFor(t, "default", "liveness-http", restartsAtLeast("liveness", 1), 60*time.Second)
			if ev := eventsWith(e.events(t, "default", "liveness-http"), "liveness", "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404"); len(ev) < 3 {
				t.Errorf("%d HTTP liveness failures, want 3 before the restart", len(ev))
			}
		})
		t.Run("tcp-liveness-readiness", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/probe/tcp-liveness-readiness.yaml")
			deleteWhenDone(t, "goproxy")
			p := e.waitFor(t, "default", "goproxy", func(p *api.Pod) bool { cs := ctrStatus(p, "goproxy"); return cs != nil && cs.Ready }, 60*time.Second)
			if age := time.Since(p.Status.StartTime.Time); age < 14*time.Second {
				t.Errorf("ready %v after the start, before initialDelaySeconds (15)", age)
			}
		})
		t.Run("lifecycle-events", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/lifecycle-events.yaml")
			p := e.waitFor(t, "default", "lifecycle-demo", running("lifecycle-demo-container"), 60*time.Second)
			id := strings.TrimPrefix(ctrStatus(p, "lifecycle-demo-container").ContainerID, "minipod://")
			msg, err := os.ReadFile(e.inMonitor(t, "lifecycle-demo", filepath.Join(e.rootDir, "pods", p.Metadata.UID, "containers", id, "rootfs", "usr", "share", "message")))
			if err != nil || string(msg) != "Hello from the postStart handler\n" {
				t.Errorf("/usr/share/message = %q, %v", msg, err)
			}
			// preStop quits nginx, which then exits well before the 30 s grace period.
			begin := time.Now()
			if res := e.exec("delete", "pod", "lifecycle-demo"); res.code != 0 {
				t.Fatalf("delete: %s", res.stderr)
			}
			if took := time.Since(begin); took > 15*time.Second {
				t.Errorf("delete took %v: preStop did not stop nginx", took)
			}
		})
		t.Run("commands", func(t *testing.T) {
			t.Parallel()
			// printenv prints HOSTNAME, then fails: there is no Kubernetes service, so no
			// KUBERNETES_PORT; restartPolicy OnFailure restarts it.
			start(t, "pods/commands.yaml")
			deleteWhenDone(t, "command-demo")
			p := e.waitFor(t, "default", "command-demo", restartsAtLeast("command-demo-container", 1), 60*time.Second)
			recs := readCRILog(t, e.logPath(p, "command-demo-container", 0))
			if len(recs) == 0 || recs[0].content != "command-demo" {
				t.Errorf("first run's log %+v, want the pod's hostname first", recs)
			}
		})
		t.Run("multi-container/adapter", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/multi-container/adapter.yaml")
			deleteWhenDone(t, "adapter-pattern-example")
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(e.logOf(t, "adapter-pattern-example", "adapter"), "adapted: ") {
				if time.Now().After(deadline) {
					t.Fatal("the adapter sidecar never adapted a line")
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
		t.Run("multi-container/ambassador", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/multi-container/ambassador.yaml")
			deleteWhenDone(t, "ambassador-sidecar-example")
			e.waitFor(t, "default", "ambassador-sidecar-example", running("main-app"), 60*time.Second)
			if row := podRow(e.mustExec(t, "get", "pods").stdout, "ambassador-sidecar-example"); len(row) < 3 || row[1] != "2/2" || row[2] != "Running" {
				t.Errorf("get pods row %q, want READY 2/2 and Running", row)
			}
		})
		t.Run("multi-container/localhost", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/multi-container/localhost.yaml")
			deleteWhenDone(t, "localhost-example")
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(e.logOf(t, "localhost-example", "client"), "<title>Welcome to nginx!</title>") {
				if time.Now().After(deadline) {
					t.Fatal("the client sidecar never fetched nginx's page over localhost")
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
		t.Run("multi-container/shared-volume", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/multi-container/shared-volume.yaml")
			deleteWhenDone(t, "shared-volume-example")
			e.waitFor(t, "default", "shared-volume-example", running("web"), 60*time.Second)
			ip := e.podIP(t, "default", "shared-volume-example")
			if got := httpGet(t, "http://"+ip+"/", 10*time.Second); got != "Hello from the init container\n" {
				t.Errorf("GET / = %q", got)
			}
		})
		t.Run("multi-container/startup-coordination", func(t *testing.T) {
			t.Parallel()
			start(t, "pods/multi-container/startup-coordination.yaml")
			deleteWhenDone(t, "startup-coordination-example")
			p := e.waitFor(t, "default", "startup-coordination-example", running("main-app"), 60*time.Second)
			deadline := time.Now().Add(10 * time.Second)
			for !logContains(readCRILog(t, e.logPath(p, "main-app", 0)), "greeting=hello") {
				if time.Now().After(deadline) {
					t.Fatalf("main-app log %+v: it started before the config sidecar wrote its file", readCRILog(t, e.logPath(p, "main-app", 0)))
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	})
}

// podRow returns the fields of a pod's row in `get pods` output.
func podRow(out, name string) []string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}
