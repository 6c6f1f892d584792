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

// helloApp stands in for gcr.io/google-samples/hello-app: it answers on port 8080 with its
// greeting, version and hostname.
const helloApp = `#!/bin/sh
mkdir -p /tmp/www && printf 'Hello, world!\nVersion: 2.0.0\nHostname: %s\n' "$(hostname)" > /tmp/www/index.html
exec httpd -f -p 8080 -h /tmp/www
`

// securityExampleImages are stand-ins for the images the security examples name. agnhost
// has the user and group the documentation shows in its /etc/passwd and /etc/group;
// http-echo is a small static Go program, as the real one is.
func securityExampleImages(t *testing.T) []exampleImage {
	echo, err := os.ReadFile(goBinary(t, "./httpecho"))
	if err != nil {
		t.Fatal(err)
	}
	return []exampleImage{
		{names: []string{"busybox:1.28"}, files: map[string]string{
			"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
			"/etc/group":  "root:x:0:\nnogroup:x:65534:\n",
		}, changes: []string{`CMD ["sh"]`}},
		{names: []string{"gcr.io/google-samples/hello-app:2.0"}, files: map[string]string{"/hello-app": helloApp},
			changes: []string{`ENTRYPOINT ["/hello-app"]`}},
		{names: []string{"registry.k8s.io/e2e-test-images/agnhost:2.45"}, files: map[string]string{
			"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n",
			"/etc/group":  "root:x:0:\nuser-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n",
		}},
		{names: []string{"hashicorp/http-echo:1.0"}, files: map[string]string{"/http-echo": string(echo)},
			changes: []string{`ENTRYPOINT ["/http-echo"]`}},
	}
}

// The security examples of the Kubernetes documentation (pods/security/security-context*.yaml
// and pods/security/seccomp/ga/*.yaml, with the tutorial's profiles in <root>/seccomp)
// run unmodified, and show what the documentation says they show.
func TestDocsSecurityExamples(t *testing.T) {
	e := newEnv(t)
	buildImages(t, e, "secimage", securityExampleImages(t))
	profiles := filepath.Join(e.rootDir, "seccomp", "profiles")
	if err := os.MkdirAll(profiles, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"audit.json", "violation.json", "fine-grained.json"} {
		if err := os.WriteFile(filepath.Join(profiles, f), []byte(readExample(t, "pods/security/seccomp/profiles/"+f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := func(t *testing.T, path, name string) *runProc {
		r := e.run(readExample(t, path), "--rm=false")
		t.Cleanup(func() { e.exec("delete", "pod", name, "--grace-period", "0") })
		return r
	}
	// runAndExec starts an example, waits until its container runs and runs a command in it.
	runAndExec := func(t *testing.T, path, name, container string, cmd ...string) (*api.Pod, string) {
		start(t, path, name)
		p := e.waitFor(t, "default", name, running(container), 60*time.Second)
		out, code := execIn(t, e, name, container, cmd...)
		if code != 0 {
			t.Fatalf("%q exited %d: %s", cmd, code, out)
		}
		return p, out
	}
	deleted := func(t *testing.T, name string) {
		if res := e.exec("delete", "pod", name, "--grace-period", "0"); res.code != 0 {
			t.Fatalf("delete %s: %s", name, res.stderr)
		}
	}
	userOf := func(p *api.Pod, container string) string {
		if cs := ctrStatus(p, container); cs != nil && cs.User != nil && cs.User.Linux != nil {
			return fmt.Sprint(*cs.User.Linux)
		}
		return "none"
	}
	t.Run("group", func(t *testing.T) {
		// security-context.yaml, -5 and -6 all name their pod security-context-demo.
		t.Run("security-context", func(t *testing.T) {
			t.Parallel()
			p, out := runAndExec(t, "pods/security/security-context.yaml", "security-context-demo", "sec-ctx-demo", "id")
			if out != "uid=1000 gid=3000 groups=2000,3000,4000\n" {
				t.Errorf("id: %q", out)
			}
			if u := userOf(p, "sec-ctx-demo"); u != "{1000 3000 [2000 3000 4000]}" {
				t.Errorf("status user %s", u)
			}
			// The fsGroup volume: group 2000, setgid, and new files get the group.
			out, _ = execIn(t, e, "security-context-demo", "sec-ctx-demo", "sh", "-c",
				"ls -ld /data/demo | awk '{print $1, $3, $4}'; echo hello > /data/demo/testfile; stat -c '%u %g' /data/demo/testfile; grep Uid /proc/1/status")
			if want := "drwxrwsrwx root 2000\n1000 2000\nUid:\t1000\t1000\t1000\t1000\n"; out != want {
				t.Errorf("volume and process: %q, want %q", out, want)
			}
			deleted(t, "security-context-demo")

			// The image's /etc/group adds group 50000 to the pod's groups...
			p, out = runAndExec(t, "pods/security/security-context-5.yaml", "security-context-demo", "sec-ctx-demo", "sh", "-c", "id -u; id -g; id -G")
			if out != "1000\n3000\n3000 4000 50000\n" {
				t.Errorf("security-context-5: %q, want uid 1000, gid 3000, groups 3000 4000 50000", out)
			}
			deleted(t, "security-context-demo")
			// ... unless supplementalGroupsPolicy is Strict.
			p, out = runAndExec(t, "pods/security/security-context-6.yaml", "security-context-demo", "sec-ctx-demo", "sh", "-c", "id -u; id -g; id -G")
			if out != "1000\n3000\n3000 4000\n" {
				t.Errorf("security-context-6: %q, want uid 1000, gid 3000, groups 3000 4000", out)
			}
			if u := userOf(p, "sec-ctx-demo"); u != "{1000 3000 [3000 4000]}" {
				t.Errorf("security-context-6: status user %s", u)
			}
		})
		t.Run("security-context-2", func(t *testing.T) {
			t.Parallel()
			// The container's runAsUser wins over the pod's.
			_, out := runAndExec(t, "pods/security/security-context-2.yaml", "security-context-demo-2", "sec-ctx-demo-2", "sh", "-c", "grep Uid /proc/1/status")
			if out != "Uid:\t2000\t2000\t2000\t2000\n" {
				t.Errorf("process user: %q", out)
			}
			ip := e.podIP(t, "default", "security-context-demo-2")
			if got := httpGet(t, "http://"+ip+":8080/", 10*time.Second); got != "Hello, world!\nVersion: 2.0.0\nHostname: security-context-demo-2\n" {
				t.Errorf("hello-app: %q", got)
			}
		})
		t.Run("security-context-3", func(t *testing.T) {
			t.Parallel()
			_, out := runAndExec(t, "pods/security/security-context-3.yaml", "security-context-demo-3", "sec-ctx-3", "grep", "-E", "Cap(Prm|Eff)", "/proc/1/status")
			if out != "CapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n" {
				t.Errorf("capabilities: %q", out)
			}
		})
		t.Run("security-context-4", func(t *testing.T) {
			t.Parallel()
			// NET_ADMIN (bit 12) and SYS_TIME (bit 25) on top of the defaults, as the
			// documentation shows.
			_, out := runAndExec(t, "pods/security/security-context-4.yaml", "security-context-demo-4", "sec-ctx-4", "grep", "-E", "Cap(Prm|Eff)", "/proc/1/status")
			if out != "CapPrm:\t00000000aa0435fb\nCapEff:\t00000000aa0435fb\n" {
				t.Errorf("capabilities: %q", out)
			}
		})
		t.Run("security-context-7", func(t *testing.T) {
			t.Parallel()
			// cgroupOptions is newer than the Kubernetes API minipod follows (k8s.io/api
			// v0.37): refused as a field Kubernetes does not have, naming it.
			r := e.run(readExample(t, "pods/security/security-context-7.yaml"))
			if code := r.wait(t, 30*time.Second); code != 2 || !strings.Contains(r.stderr(), "spec.containers[0].securityContext.cgroupOptions: unknown field") {
				t.Errorf("exit %d: %s", code, r.stderr())
			}
		})
		t.Run("seccomp/audit-pod", func(t *testing.T) {
			t.Parallel()
			// SCMP_ACT_LOG: every syscall is allowed (and logged by the kernel).
			_, out := runAndExec(t, "pods/security/seccomp/ga/audit-pod.yaml", "audit-pod", "test-container", "grep", "Seccomp:", "/proc/1/status")
			if out != "Seccomp:\t2\n" {
				t.Errorf("seccomp mode: %q", out)
			}
			if got := httpGet(t, "http://"+e.podIP(t, "default", "audit-pod")+":5678/", 10*time.Second); got != "just made some syscalls!\n" {
				t.Errorf("http-echo: %q", got)
			}
		})
		t.Run("seccomp/default-pod", func(t *testing.T) {
			t.Parallel()
			_, out := runAndExec(t, "pods/security/seccomp/ga/default-pod.yaml", "default-pod", "test-container", "sh", "-c", "grep Seccomp: /proc/1/status; unshare -U true 2>&1; true")
			if out != "Seccomp:\t2\nunshare: unshare(0x10000000): Operation not permitted\n" {
				t.Errorf("RuntimeDefault: %q", out)
			}
			if got := httpGet(t, "http://"+e.podIP(t, "default", "default-pod")+":5678/", 10*time.Second); got != "just made some more syscalls!\n" {
				t.Errorf("http-echo: %q", got)
			}
		})
		t.Run("seccomp/violation-pod", func(t *testing.T) {
			t.Parallel()
			// Every syscall fails: the container never starts, and crash-loops.
			start(t, "pods/security/seccomp/ga/violation-pod.yaml", "violation-pod")
			p := e.waitFor(t, "default", "violation-pod", restartsAtLeast("test-container", 1), 60*time.Second)
			cs := ctrStatus(p, "test-container")
			last := cs.LastState.Terminated
			if cs.State.Terminated != nil {
				last = cs.State.Terminated
			}
			if last == nil || last.Reason != "StartError" || last.ExitCode != 128 {
				t.Errorf("status %+v, want a StartError", cs)
			}
		})
		t.Run("seccomp/fine-pod", func(t *testing.T) {
			t.Parallel()
			// The tutorial's allowlist predates the runtime minipod uses: runc 1.5 now
			// needs fstat and friends between loading the filter and exec-ing the program
			// (to reopen its exec fifo safely through /proc), so, as with a current
			// containerd and runc, the container cannot start.
			start(t, "pods/security/seccomp/ga/fine-pod.yaml", "fine-pod")
			p := e.waitFor(t, "default", "fine-pod", restartsAtLeast("test-container", 1), 60*time.Second)
			recs := readCRILog(t, e.logPath(p, "test-container", 0))
			if len(recs) == 0 || !strings.HasSuffix(recs[0].content, ": operation not permitted") {
				t.Errorf("first attempt's log %+v, want runc's refused syscall", recs)
			}
		})
	})
}
