//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
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

// demoPod serves a page on 127.0.0.1:8080 inside the pod (reachable only through the pod's
// network namespace, as port-forward reaches it) and writes a numbered line every 200 ms.
func demoPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    app: demo
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: %s
    command: ["sh", "-c", "mkdir -p /www && echo hello-through-port-forward > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"]
    readinessProbe:
      exec:
        command: ["sh", "-c", "wget -q -O- http://127.0.0.1:8080/ >/dev/null"]
      periodSeconds: 1
  - name: logger
    image: %s
    command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
`, name, rootfsImage(), rootfsImage())
}

// TestDaemonKubectl drives the daemon with the real kubectl as a person would: apply, get in
// its forms, describe, logs -f, exec (exit codes, a terminal), port-forward, wait, events,
// label, delete; and pods created by `minipod run` and through the API are one set.
func TestDaemonKubectl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(t)

	if out := d.mustKubectl(t, "version"); !strings.Contains(out, "Server Version: v1.37.2") {
		t.Errorf("kubectl version:\n%s", out)
	}
	if out := d.mustKubectl(t, "get", "namespaces"); !regexp.MustCompile(`(?m)^default\s+Active`).MatchString(out) {
		t.Errorf("get namespaces:\n%s", out)
	}

	demoFile := pathIn(e.dir, "demo.yaml")
	writeFile(t, demoFile, demoPod("demo"))
	if out := d.mustKubectl(t, "apply", "-f", demoFile); strings.TrimSpace(out) != "pod/demo created" {
		t.Errorf("apply: %q", out)
	}
	if out := d.mustKubectl(t, "wait", "--for=condition=Ready", "pod/demo", "--timeout=60s"); !strings.Contains(out, "pod/demo condition met") {
		t.Errorf("wait: %q", out)
	}
	// A second apply of the same manifest changes nothing.
	if out := d.mustKubectl(t, "apply", "-f", demoFile); strings.TrimSpace(out) != "pod/demo unchanged" {
		t.Errorf("second apply: %q", out)
	}

	t.Run("get", func(t *testing.T) {
		out := d.mustKubectl(t, "get", "pods")
		if !regexp.MustCompile(`(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s*$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^demo\s+2/2\s+Running\s+0\s+\d+s\s*$`).MatchString(out) {
			t.Errorf("get pods:\n%s", out)
		}
		out = d.mustKubectl(t, "get", "pods", "-o", "wide")
		if ip := e.podIP(t, "default", "demo"); !strings.Contains(out, ip) || !strings.Contains(out, "NOMINATED NODE") {
			t.Errorf("get pods -o wide (want IP %s):\n%s", ip, out)
		}
		out = d.mustKubectl(t, "get", "pod", "demo", "-o", "yaml")
		for _, want := range []string{"phase: Running", "resourceVersion: \"", "uid: ", "app: demo", "ready: true"} {
			if !strings.Contains(out, want) {
				t.Errorf("get -o yaml lacks %q:\n%s", want, out)
			}
		}
		if out := d.mustKubectl(t, "get", "pods", "-l", "app=demo", "-o", "name"); strings.TrimSpace(out) != "pod/demo" {
			t.Errorf("get -l app=demo: %q", out)
		}
		res := d.kubectl(t, "get", "pods", "-l", "app=other")
		if res.code != 0 || !strings.Contains(res.stderr, "No resources found in default namespace.") {
			t.Errorf("get -l app=other: exit %d, %q %q", res.code, res.stdout, res.stderr)
		}
		if out := d.mustKubectl(t, "get", "pods", "--field-selector=status.phase=Running", "-o", "name"); strings.TrimSpace(out) != "pod/demo" {
			t.Errorf("get --field-selector: %q", out)
		}
		res = d.kubectl(t, "get", "pod", "nope")
		if res.code != 1 || !strings.Contains(res.stderr, `Error from server (NotFound): pods "nope" not found`) {
			t.Errorf("get missing pod: exit %d, %q", res.code, res.stderr)
		}
	})

	t.Run("describe", func(t *testing.T) {
		out := d.mustKubectl(t, "describe", "pod", "demo")
		for _, want := range []string{`(?m)^Name:\s+demo$`, `(?m)^Status:\s+Running$`, `(?m)^Labels:\s+app=demo$`,
			`(?m)^Node:\s+\S+/`, `Readiness:\s+exec \[sh -c wget`, `(?m)^Events:`, `Normal\s+Started\s+\S+\s+kubelet\s+spec.containers\{logger\}: Started container logger`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("describe lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("events", func(t *testing.T) {
		out := d.mustKubectl(t, "get", "events")
		if !regexp.MustCompile(`(?m)Normal\s+Started\s+pod/demo\s+Started container logger`).MatchString(out) {
			t.Errorf("get events:\n%s", out)
		}
	})

	t.Run("logs", func(t *testing.T) {
		out := d.mustKubectl(t, "logs", "demo", "-c", "logger", "--tail=2")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "tick ") {
			t.Errorf("logs --tail=2: %q", out)
		}
		res := d.kubectl(t, "logs", "demo")
		if res.code == 0 || !strings.Contains(res.stderr, "Defaulted container") && !strings.Contains(res.stderr, "a container name must be specified") {
			// kubectl picks the first container itself.
			if !strings.Contains(res.stderr, `Defaulted container "web"`) {
				t.Logf("logs without -c: exit %d, %q", res.code, res.stderr)
			}
		}
		// -f follows while the container writes: lines arrive in order, without gaps.
		f := d.startKubectl(t, "logs", "-f", "demo", "-c", "logger", "--tail=1", "--timestamps")
		re := regexp.MustCompile(`(?m)^\S+ tick (\d+)$`)
		deadline := time.Now().Add(30 * time.Second)
		var got []int
		for len(got) < 10 && time.Now().Before(deadline) {
			got = got[:0]
			for _, m := range re.FindAllStringSubmatch(f.stdout(), -1) {
				n, _ := strconv.Atoi(m[1])
				got = append(got, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(got) < 10 {
			t.Fatalf("logs -f: %d lines in 30s:\n%s\n%s", len(got), f.stdout(), f.stderr())
		}
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]+1 {
				t.Fatalf("logs -f: lines out of order or missing: %v", got)
			}
		}
		if f.exited() {
			t.Errorf("logs -f ended while the container runs: %s", f.stderr())
		}
	})

	t.Run("exec", func(t *testing.T) {
		res := d.kubectl(t, "exec", "demo", "-c", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
		if res.code != 3 || res.stdout != "out\n" || !strings.Contains(res.stderr, "err\n") || !strings.Contains(res.stderr, "command terminated with exit code 3") {
			t.Errorf("exec exit 3: code %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
		res = d.kubectlIn(t, "piped input\n", "exec", "-i", "demo", "-c", "web", "--", "cat")
		if res.code != 0 || res.stdout != "piped input\n" {
			t.Errorf("exec -i cat: code %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
		res = d.kubectl(t, "exec", "demo", "-c", "nope", "--", "true")
		if res.code != 1 || !strings.Contains(res.stderr, "container nope is not valid for pod demo") {
			t.Errorf("exec into a missing container: code %d, stderr %q", res.code, res.stderr)
		}
		testKubectlExecPTY(t, d)
	})

	t.Run("port-forward", func(t *testing.T) {
		pf := d.startKubectl(t, "port-forward", "pod/demo", ":8080")
		waitOutput(t, pf, "Forwarding from 127.0.0.1:", 30*time.Second)
		m := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8080`).FindStringSubmatch(pf.stdout())
		if m == nil {
			t.Fatalf("port-forward: %q", pf.stdout())
		}
		for i := range 3 {
			resp, err := http.Get("http://127.0.0.1:" + m[1] + "/")
			if err != nil {
				t.Fatalf("GET through port-forward (%d): %v\n%s", i, err, pf.stderr())
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "hello-through-port-forward\n" {
				t.Errorf("GET through port-forward: %q", b)
			}
		}
	})

	t.Run("label and update", func(t *testing.T) {
		d.mustKubectl(t, "label", "pod", "demo", "tier=front")
		if out := d.mustKubectl(t, "get", "pods", "-l", "tier=front", "-o", "name"); strings.TrimSpace(out) != "pod/demo" {
			t.Errorf("get -l tier=front after label: %q", out)
		}
		// The monitor wrote it into the status file: the CLI sees it too.
		if p := e.status("default", "demo"); p.Metadata.Labels["tier"] != "front" {
			t.Errorf("status file labels: %v", p.Metadata.Labels)
		}
		d.mustKubectl(t, "annotate", "pod", "demo", "note=hi")
		res := d.kubectl(t, "set", "image", "pod/demo", "web=other")
		if res.code == 0 || !strings.Contains(res.stderr, "Forbidden") {
			t.Errorf("set image: exit %d, %q", res.code, res.stderr)
		}
		res = d.kubectl(t, "patch", "pod", "demo", "-p", `{"spec":{"restartPolicy":"Never"}}`)
		if res.code == 0 || !strings.Contains(res.stderr, "pod updates may not change fields other than") {
			t.Errorf("patch restartPolicy: exit %d, %q", res.code, res.stderr)
		}
	})

	t.Run("strict fields", func(t *testing.T) {
		bad := pathIn(e.dir, "bad.yaml")
		writeFile(t, bad, strings.Replace(demoPod("bad"), "  containers:", "  contaners: []\n  containers:", 1))
		res := d.kubectl(t, "apply", "-f", bad)
		if res.code == 0 || !strings.Contains(res.stderr, `unknown field "spec.contaners"`) {
			t.Errorf("apply with an unknown field: exit %d, %q", res.code, res.stderr)
		}
		invalid := pathIn(e.dir, "invalid.yaml")
		writeFile(t, invalid, strings.Replace(demoPod("invalid"), "name: logger", "name: web", 1))
		res = d.kubectl(t, "apply", "-f", invalid)
		if res.code == 0 || !strings.Contains(res.stderr, `The Pod "invalid" is invalid: spec.containers[1].name: Duplicate value: "web"`) {
			t.Errorf("apply of an invalid pod: exit %d, %q", res.code, res.stderr)
		}
		res = d.kubectl(t, "create", "-f", demoFile)
		if res.code == 0 || !strings.Contains(res.stderr, `Error from server (AlreadyExists): error when creating`) {
			t.Errorf("create of an existing pod: exit %d, %q", res.code, res.stderr)
		}
		assertNoDir(t, e.podDir("default", "bad"))
		assertNoDir(t, e.podDir("default", "invalid"))
	})

	t.Run("one set of pods", func(t *testing.T) {
		p := newPod("fromcli", api.RestartPolicyAlways, sh("c", "sleep 3600"))
		p.Spec.TerminationGracePeriodSeconds = int64p(0)
		r := e.run(manifest(p), "-d")
		if code := r.wait(t, time.Minute); code != 0 {
			t.Fatalf("run -d: exit %d: %s", code, r.stderr())
		}
		d.mustKubectl(t, "wait", "--for=condition=Ready", "pod/fromcli", "--timeout=60s")
		res := e.exec("get", "pods", "demo", "-o", "name")
		if res.code != 0 || strings.TrimSpace(res.stdout) != "pod/demo" {
			t.Errorf("minipod get of the API's pod: %d %q %q", res.code, res.stdout, res.stderr)
		}
		d.mustKubectl(t, "delete", "pod", "fromcli", "--grace-period=0", "--force")
		if res := e.exec("get", "pods", "fromcli"); res.code != 1 {
			t.Errorf("minipod get after kubectl delete: exit %d, %q", res.code, res.stdout)
		}
	})

	t.Run("debug", func(t *testing.T) {
		// kubectl debug adds an ephemeral container (a strategic merge patch of
		// pods/ephemeralcontainers), waits for it to run and attaches to it.
		// kubectl takes only a reference for an image: the busybox root filesystem, imported.
		e.mustExec(t, "image", "import", rootfsDir, "localhost/debug-tools:1")
		res := d.kubectlIn(t, "hello\n", "debug", "-i", "demo", "--image=localhost/debug-tools:1", "-c", "dbg", "--",
			"sh", "-c", "read x; echo got $x; wget -q -O- http://127.0.0.1:8080/")
		if res.code != 0 || !strings.Contains(res.stdout, "got hello") || !strings.Contains(res.stdout, "hello-through-port-forward") {
			t.Errorf("debug -i: exit %d, %q %q", res.code, res.stdout, res.stderr)
		}
		out := d.mustKubectl(t, "get", "pod", "demo", "-o", "jsonpath={.spec.ephemeralContainers[0].name} {.status.ephemeralContainerStatuses[0].state.terminated.exitCode}")
		if out != "dbg 0" {
			t.Errorf("the ephemeral container and its status: %q", out)
		}
		if out := d.mustKubectl(t, "logs", "demo", "-c", "dbg"); !strings.Contains(out, "got hello") {
			t.Errorf("logs of the ephemeral container: %q", out)
		}
		// debug -it: a shell on a terminal in a new ephemeral container.
		testKubectlPTY(t, d, "\r", 0, "debug", "-it", "demo", "--image=localhost/debug-tools:1", "-c", "dbg2", "--", "sh")
		// Existing ephemeral containers may not change.
		res = d.kubectl(t, "patch", "pod", "demo", "--subresource=ephemeralcontainers", "--type=json",
			"-p", `[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"other"}]`)
		if res.code == 0 || !strings.Contains(res.stderr, `spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed`) {
			t.Errorf("changing an ephemeral container: exit %d, %q", res.code, res.stderr)
		}
	})

	t.Run("health and metrics", func(t *testing.T) {
		if out := d.mustKubectl(t, "get", "--raw", "/readyz"); out != "ok" {
			t.Errorf("/readyz: %q", out)
		}
		if out := d.mustKubectl(t, "get", "--raw", "/healthz?verbose"); !strings.Contains(out, "[+]state-directory ok\n") || !strings.HasSuffix(out, "healthz check passed\n") {
			t.Errorf("/healthz?verbose: %q", out)
		}
		out := d.mustKubectl(t, "get", "--raw", "/metrics")
		for _, want := range []string{
			`(?m)^minipod_pods\{phase="Running"\} 1$`,
			`(?m)^minipod_pods\{phase="Failed"\} 0$`,
			`(?m)^minipod_container_restarts\{container="web",namespace="default",pod="demo"\} 0$`,
			`(?m)^minipod_monitor_resident_memory_bytes\{namespace="default",pod="demo"\} [1-9]`,
			// demo was created through the API and watched until it ran.
			`(?m)^minipod_pod_start_duration_seconds_count [1-9]`,
			`(?m)^apiserver_request_total\{code="201",resource="pods",subresource="",verb="POST"\} 1$`,
			// An upgraded connection counts as its 101, as in the API server.
			`(?m)^apiserver_request_total\{code="101",resource="pods",subresource="exec",verb="CONNECT"\} [1-9]`,
			`(?m)^apiserver_request_duration_seconds_bucket\{resource="pods",subresource="",verb="LIST",le="\+Inf"\} [1-9]`,
			`(?m)^process_resident_memory_bytes `,
		} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if t.Failed() {
			var own []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "minipod_") || strings.HasPrefix(l, "apiserver_request_total") {
					own = append(own, l)
				}
			}
			t.Logf("/metrics (minipod_*, apiserver_request_total):\n%s", strings.Join(own, "\n"))
		}
	})

	t.Run("delete", func(t *testing.T) {
		res := d.kubectl(t, "delete", "pod", "demo", "--grace-period=0", "--force")
		if res.code != 0 || !strings.Contains(res.stdout, `pod "demo" force deleted`) {
			t.Errorf("delete --force: exit %d, %q %q", res.code, res.stdout, res.stderr)
		}
		res = d.kubectl(t, "get", "pods")
		if res.code != 0 || !strings.Contains(res.stderr, "No resources found") {
			t.Errorf("get after delete: %q %q", res.stdout, res.stderr)
		}
		assertNoDir(t, e.podDir("default", "demo"))
	})

	// generateName: the API server names the pod (names.SimpleNameGenerator).
	t.Run("generateName", func(t *testing.T) {
		gen := pathIn(e.dir, "gen.yaml")
		m := strings.Replace(demoPod("x"), "  name: x\n", "  generateName: gen-\n", 1)
		writeFile(t, gen, strings.Replace(m, "app: demo", "app: gen", 1))
		res := d.kubectl(t, "create", "-f", gen, "-o", "name")
		name := strings.TrimSpace(res.stdout)
		if res.code != 0 || !regexp.MustCompile(`^pod/gen-[bcdfghjklmnpqrstvwxz2456789]{5}$`).MatchString(name) {
			t.Fatalf("create with generateName: exit %d, %q %q", res.code, res.stdout, res.stderr)
		}
		d.mustKubectl(t, "delete", name, "--grace-period=0", "--force")
	})
}

func pathIn(dir, name string) string { return dir + "/" + name }

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertNoDir(t testing.TB, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s exists", dir)
	}
}

// testKubectlExecPTY runs `kubectl exec -it` on a pseudo-terminal: the container's shell
// prompts and echoes, `stty size` is the window's, and the shell's exit code is kubectl's.
func testKubectlExecPTY(t *testing.T, d *daemon) {
	testKubectlPTY(t, d, "", 7, "exec", "-it", "demo", "-c", "web", "--", "sh")
}

// testKubectlPTY runs a kubectl command whose end is a shell on a pseudo-terminal (exec -it,
// debug -it): it prompts and echoes, `stty size` is the window's, and the shell's exit code is
// kubectl's for exec (want; an attach ends in success, as with the kubelet). enter is typed
// until the first prompt shows (an attach misses the prompt the shell printed before it).
func testKubectlPTY(t *testing.T, d *daemon, enter string, want int, args ...string) {
	master, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := master.Resize(console.WinSize{Height: 33, Width: 91}); err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubectl(t), append([]string{"--kubeconfig=" + d.kubeconfig}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
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
	expect("/ # ", 30*time.Second, enter)
	io.WriteString(master, "echo hel''lo-from-kubectl\r")
	expect("\r\nhello-from-kubectl\r\n", 10*time.Second, "")
	expect("\r\n33 91\r\n", 10*time.Second, "stty size\r")
	io.WriteString(master, "exit 7\r")
	select {
	case <-waited:
		waited <- nil
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not end after the shell exited; terminal:\n%q", args[0], output())
	}
	if code := cmd.ProcessState.ExitCode(); code != want || strings.Contains(output(), "falling back to streaming logs") {
		t.Errorf("%s -it exit %d, want %d; terminal:\n%q", args[0], code, want, output())
	}
}

// podPhase reads a pod's phase from the API with kubectl.
func podPhase(t testing.TB, d *daemon, name string) string {
	res := d.kubectl(t, "get", "pod", name, "-o", "json")
	var p api.Pod
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &p) != nil {
		return ""
	}
	return string(p.Status.Phase)
}
