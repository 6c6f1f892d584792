//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
)

// The test image's users and groups: app is in extra through /etc/group.
const (
	secPasswd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
	secGroup  = "root:x:0:\nwheel:x:10:root\nappgrp:x:1001:\nextra:x:2000:app\nother:x:3000:\nnogroup:x:65534:\n"
)

var (
	goBuildMu sync.Mutex
	goBuilt   = map[string]string{}
)

// goBinary builds a static Go program of this directory (e.g. "./euid") once per test
// process and returns its path.
func goBinary(t testing.TB, pkg string) string {
	t.Helper()
	goBuildMu.Lock()
	defer goBuildMu.Unlock()
	if p, ok := goBuilt[pkg]; ok {
		return p
	}
	out := filepath.Join(baseDir, "gobin", filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	goBuilt[pkg] = out
	return out
}

// secImage builds a test image from the busybox root filesystem with the users above and
// /bin/euid installed setuid root, and imports it as each of names with its changes.
func secImage(t *testing.T, e *env, dir string, names map[string][]string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", rootfsDir, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v %s", err, out)
	}
	for p, content := range map[string]string{"etc/passwd": secPasswd, "etc/group": secGroup} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(goBinary(t, "./euid"))
	if err != nil {
		t.Fatal(err)
	}
	euid := filepath.Join(dir, "bin", "euid")
	if err := os.WriteFile(euid, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(euid, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(euid, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	for name, changes := range names {
		args := []string{"image", "import", dir, name}
		for _, c := range changes {
			args = append(args, "--change", c)
		}
		e.mustExec(t, args...)
	}
}

// execIn runs a command in a running container, as `kubectl exec` does, and returns its
// combined output and exit code.
func execIn(t testing.TB, e *env, pod, container string, cmd ...string) (string, int32) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := monitorapi.NewClient(e.podDir("default", pod)).Exec(ctx,
		monitorapi.Request{Container: container, Command: cmd}, monitorapi.Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %q in %s/%s: %v", cmd, pod, container, err)
	}
	return out.String(), code
}

// logLines returns a finished container's output lines (first attempt).
func logLines(t testing.TB, e *env, p *api.Pod, container string) []string {
	t.Helper()
	var lines []string
	for _, r := range readCRILog(t, e.logPath(p, container, 0)) {
		lines = append(lines, r.content)
	}
	return lines
}

func boolp(b bool) *bool { return &b }

// waiting returns the reason a container waits for, or "".
func waiting(p *api.Pod, name string) string {
	if cs := ctrStatus(p, name); cs != nil && cs.State.Waiting != nil {
		return cs.State.Waiting.Reason
	}
	return ""
}

// runToEnd runs a pod to completion and returns its final status; run must exit with want.
func runToEnd(t *testing.T, e *env, p *api.Pod, want int, args ...string) *api.Pod {
	t.Helper()
	r := e.run(manifest(p), append([]string{"--rm=false"}, args...)...)
	if code := r.wait(t, 90*time.Second); code != want {
		t.Fatalf("run exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, r.stdout(), r.stderr())
	}
	st := e.status("default", p.Metadata.Name)
	if st == nil {
		t.Fatal("no status")
	}
	return st
}

// Users and groups: the image's USER (a name, or uid:gid), runAsUser, runAsGroup, fsGroup,
// supplementalGroups with either policy, the container's settings over the pod's; `id` in
// the container says what it runs as, and status.containerStatuses[].user agrees.
func TestSecurityUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secImage(t, e, filepath.Join(e.dir, "secimg"), map[string][]string{
		"sec:root":   nil,
		"sec:app":    {"USER app"},
		"sec:uidgid": {"USER 1000:3000"},
	})
	img := func(c api.Container, image string) api.Container {
		c.Image, c.ImagePullPolicy = "localhost/"+image, api.PullIfNotPresent
		return c
	}
	withSC := func(c api.Container, sc *api.SecurityContext) api.Container { c.SecurityContext = sc; return c }
	want := map[string]string{}
	users := map[string]*api.LinuxContainerUser{}

	// No pod-level settings: each container's image or own settings decide.
	a := newPod("users-image", api.RestartPolicyNever,
		img(sh("root", "id"), "sec:root"),
		img(sh("name", "id"), "sec:app"),
		img(sh("uidgid", "id"), "sec:uidgid"),
		withSC(img(sh("runasuser", "id"), "sec:app"), &api.SecurityContext{RunAsUser: int64p(65534)}),
		withSC(img(sh("nopasswd", "id"), "sec:root"), &api.SecurityContext{RunAsUser: int64p(4242)}),
		withSC(img(sh("group-only", "id"), "sec:app"), &api.SecurityContext{RunAsGroup: int64p(3000)}),
	)
	want["users-image/root"] = "uid=0(root) gid=0(root) groups=0(root),10(wheel)"
	want["users-image/name"] = "uid=1000(app) gid=1001(appgrp) groups=1001(appgrp),2000(extra)"
	want["users-image/uidgid"] = "uid=1000(app) gid=3000(other) groups=2000(extra),3000(other)"
	want["users-image/runasuser"] = "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"
	want["users-image/nopasswd"] = "uid=4242 gid=0(root) groups=0(root)"
	want["users-image/group-only"] = "uid=1000(app) gid=3000(other) groups=2000(extra),3000(other)"
	users["users-image/name"] = &api.LinuxContainerUser{UID: 1000, GID: 1001, SupplementalGroups: []int64{1001, 2000}}

	// The docs' pod-level settings, and a container overriding them; an fsGroup emptyDir.
	b := newPod("users-pod", api.RestartPolicyNever,
		img(sh("merged", "id; ls -ld /data | cut -c1-10; touch /data/f && stat -c '%u %g %A' /data/f"), "sec:root"),
		withSC(img(sh("override", "id"), "sec:root"), &api.SecurityContext{RunAsUser: int64p(2000)}),
	)
	b.Spec.SecurityContext = &api.PodSecurityContext{RunAsUser: int64p(1000), RunAsGroup: int64p(3000), FSGroup: int64p(2000), SupplementalGroups: []int64{4000}}
	b.Spec.Volumes = []api.Volume{{Name: "data", EmptyDir: &api.EmptyDirVolumeSource{}}}
	b.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "data", MountPath: "/data"}}
	want["users-pod/merged"] = "uid=1000(app) gid=3000(other) groups=2000(extra),3000(other),4000\ndrwxrwsrwx\n1000 2000 -rw-r--r--"
	want["users-pod/override"] = "uid=2000 gid=3000(other) groups=2000(extra),3000(other),4000"
	users["users-pod/merged"] = &api.LinuxContainerUser{UID: 1000, GID: 3000, SupplementalGroups: []int64{2000, 3000, 4000}}

	// Strict: /etc/group adds nothing.
	strict := api.SupplementalGroupsPolicyStrict
	c := newPod("users-strict", api.RestartPolicyNever, img(sh("strict", "id"), "sec:root"))
	c.Spec.SecurityContext = &api.PodSecurityContext{RunAsUser: int64p(1000), RunAsGroup: int64p(3000), SupplementalGroups: []int64{4000}, SupplementalGroupsPolicy: &strict}
	want["users-strict/strict"] = "uid=1000(app) gid=3000(other) groups=3000(other),4000"

	t.Run("group", func(t *testing.T) {
		for _, p := range []*api.Pod{a, b, c} {
			t.Run(p.Metadata.Name, func(t *testing.T) {
				t.Parallel()
				st := runToEnd(t, e, p, 0)
				for _, cs := range st.Status.ContainerStatuses {
					key := p.Metadata.Name + "/" + cs.Name
					if got := strings.Join(logLines(t, e, st, cs.Name), "\n"); got != want[key] {
						t.Errorf("%s: output\n%s\nwant\n%s", key, got, want[key])
					}
					if u := users[key]; u != nil {
						if cs.User == nil || cs.User.Linux == nil || fmt.Sprint(*cs.User.Linux) != fmt.Sprint(*u) {
							t.Errorf("%s: status user %+v, want %+v", key, cs.User, u)
						}
					}
				}
			})
		}
	})
	assertReleased(t, e)
}

// runAsNonRoot: a root or non-numeric image user keeps the container waiting with
// CreateContainerConfigError and the kubelet's message, tried again after the back-off;
// a numeric non-root user runs.
func TestSecurityRunAsNonRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secImage(t, e, filepath.Join(e.dir, "secimg"), map[string][]string{
		"nonroot:root": nil,
		"nonroot:name": {"USER app"},
		"nonroot:uid":  {"USER 1000"},
	})
	ctr := func(name, image string) api.Container {
		c := sh(name, "id -u; sleep 100000")
		c.Image, c.ImagePullPolicy = "localhost/"+image, api.PullIfNotPresent
		return c
	}
	p := newPod("nonroot", api.RestartPolicyAlways, ctr("root", "nonroot:root"), ctr("name", "nonroot:name"), ctr("uid", "nonroot:uid"))
	p.Spec.SecurityContext = &api.PodSecurityContext{RunAsNonRoot: boolp(true)}
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	r := e.run(manifest(p), "--rm=false")
	st := e.waitFor(t, "default", "nonroot", func(p *api.Pod) bool {
		return len(eventsWith(e.events(t, "default", "nonroot"), "root", "Failed", "Error: container has runAsNonRoot")) >= 2 &&
			running("uid")(p) && waiting(p, "name") == "CreateContainerConfigError"
	}, 60*time.Second)
	ref := fmt.Sprintf(`(pod: "nonroot_default(%s)", container: %%s)`, st.Metadata.UID)
	for name, msg := range map[string]string{
		"root": "container has runAsNonRoot and image will run as root " + fmt.Sprintf(ref, "root"),
		"name": "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root " + fmt.Sprintf(ref, "name"),
	} {
		cs := ctrStatus(st, name)
		if w := cs.State.Waiting; w == nil || w.Reason != "CreateContainerConfigError" || w.Message != msg || cs.RestartCount != 0 || cs.LastState.Terminated != nil {
			t.Errorf("%s: %+v, want waiting CreateContainerConfigError %q with no restart", name, cs, msg)
		}
	}
	if st.Status.Phase != api.PodPending {
		t.Errorf("phase %s, want Pending", st.Status.Phase)
	}
	if row := podRow(e.mustExec(t, "get", "pods").stdout, "nonroot"); len(row) < 3 || row[2] != "CreateContainerConfigError" {
		t.Errorf("get pods row %q, want status CreateContainerConfigError", row)
	}
	r.waitLine(t, "uid", "1000", 10*time.Second)
	e.mustExec(t, "delete", "pod", "nonroot")
	r.wait(t, time.Minute)
	assertNoLeaks(t, e)
}

// A setuid-root program raises the effective uid of a non-root container unless
// allowPrivilegeEscalation is false (no_new_privs), as with the kubelet and containerd.
func TestSecurityPrivilegeEscalation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secImage(t, e, filepath.Join(e.dir, "secimg"), map[string][]string{"suid:1": nil})
	ctr := func(name string, sc *api.SecurityContext) api.Container {
		c := sh(name, "euid; grep NoNewPrivs /proc/self/status")
		c.Image, c.ImagePullPolicy, c.SecurityContext = "localhost/suid:1", api.PullIfNotPresent, sc
		return c
	}
	p := newPod("suid", api.RestartPolicyNever,
		ctr("default", nil),
		ctr("allowed", &api.SecurityContext{AllowPrivilegeEscalation: boolp(true)}),
		ctr("denied", &api.SecurityContext{AllowPrivilegeEscalation: boolp(false)}))
	p.Spec.SecurityContext = &api.PodSecurityContext{RunAsUser: int64p(1000)}
	st := runToEnd(t, e, p, 0)
	for name, want := range map[string]string{
		"default": "uid=1000 euid=0\nNoNewPrivs:\t0",
		"allowed": "uid=1000 euid=0\nNoNewPrivs:\t0",
		"denied":  "uid=1000 euid=1000\nNoNewPrivs:\t1",
	} {
		if got := strings.Join(logLines(t, e, st, name), "\n"); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	assertReleased(t, e)
}

// Capabilities: the default set, add and drop with or without CAP_, ALL; a non-root user
// has none effective; readOnlyRootFilesystem makes writes fail with EROFS; privileged has
// every capability, the host's devices, writable /sys and /proc/sys and nothing masked.
func TestSecurityCapabilitiesAndPrivileged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	caps := func(add, drop []api.Capability) *api.SecurityContext {
		return &api.SecurityContext{Capabilities: &api.Capabilities{Add: add, Drop: drop}}
	}
	capEff := "grep CapEff /proc/self/status"
	withSC := func(c api.Container, sc *api.SecurityContext) api.Container { c.SecurityContext = sc; return c }
	// A block device of the host, which only a privileged container sees.
	var hostBlock string
	ents, _ := os.ReadDir("/dev")
	for _, en := range ents {
		if fi, err := os.Stat("/dev/" + en.Name()); err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
			hostBlock = "/dev/" + en.Name()
			break
		}
	}
	if hostBlock == "" {
		t.Fatal("the host has no block device to look for")
	}
	hostCapEff := ""
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "CapEff:") {
				hostCapEff = l
			}
		}
	}
	privScript := fmt.Sprintf(`%s; grep Seccomp: /proc/self/status
test -b %s && echo host-device
grep -E '^sysfs /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1
grep -cE ' /proc/(keys|sys) ' /proc/mounts || true`, capEff, hostBlock)
	p := newPod("caps", api.RestartPolicyNever,
		sh("default", capEff),
		withSC(sh("added", capEff), caps([]api.Capability{"NET_ADMIN", "CAP_SYS_TIME"}, []api.Capability{"net_raw"})),
		withSC(sh("dropall", capEff), caps([]api.Capability{"NET_BIND_SERVICE"}, []api.Capability{"ALL"})),
		withSC(sh("nonroot", capEff), &api.SecurityContext{RunAsUser: int64p(1000)}),
		withSC(sh("readonly", "exec 2>&1; touch /x; echo rc=$?; touch /tmp/x; echo tmp=$?; echo ok > /data/x && cat /data/x"), &api.SecurityContext{ReadOnlyRootFilesystem: boolp(true)}),
		withSC(sh("unprivileged", privScript), nil),
		withSC(sh("privileged", privScript), &api.SecurityContext{Privileged: boolp(true)}),
	)
	p.Spec.Volumes = []api.Volume{{Name: "data", EmptyDir: &api.EmptyDirVolumeSource{}}}
	p.Spec.Containers[4].VolumeMounts = []api.VolumeMount{{Name: "data", MountPath: "/data"}}
	st := runToEnd(t, e, p, 0)
	for name, want := range map[string]string{
		"default":      "CapEff:\t00000000a80425fb",
		"added":        "CapEff:\t00000000aa0415fb", // + NET_ADMIN (12), SYS_TIME (25), - NET_RAW (13)
		"dropall":      "CapEff:\t0000000000000400",
		"nonroot":      "CapEff:\t0000000000000000",
		"readonly":     "touch: /x: Read-only file system\nrc=1\ntouch: /tmp/x: Read-only file system\ntmp=1\nok",
		"unprivileged": "CapEff:\t00000000a80425fb\nSeccomp:\t0\nro\n2",
		"privileged":   hostCapEff + "\nSeccomp:\t0\nhost-device\nrw\n0",
	} {
		if got := strings.Join(logLines(t, e, st, name), "\n"); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	assertReleased(t, e)
}

// Seccomp: RuntimeDefault (the moby profile) makes unshare(CLONE_NEWUSER) fail with EPERM,
// Unconfined lets it work, --seccomp-default makes RuntimeDefault the default; a Localhost
// profile from <root>/seccomp applies, and a missing one is CreateContainerError with
// containerd's message.
func TestSecuritySeccomp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	profiles := filepath.Join(e.rootDir, "seccomp", "profiles")
	if err := os.MkdirAll(profiles, 0o755); err != nil {
		t.Fatal(err)
	}
	// Everything but mkdir and mkdirat.
	const denyMkdir = `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`
	if err := os.WriteFile(filepath.Join(profiles, "deny-mkdir.json"), []byte(denyMkdir), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "exec 2>&1; grep Seccomp: /proc/self/status; unshare -U true && echo unshare-ok; mkdir /tmp/d && echo mkdir-ok; true"
	prof := func(typ api.SeccompProfileType, local string) *api.SecurityContext {
		sp := &api.SeccompProfile{Type: typ}
		if local != "" {
			sp.LocalhostProfile = &local
		}
		return &api.SecurityContext{SeccompProfile: sp}
	}
	withSC := func(c api.Container, sc *api.SecurityContext) api.Container { c.SecurityContext = sc; return c }
	p := newPod("seccomp", api.RestartPolicyNever,
		withSC(sh("runtimedefault", script), prof(api.SeccompProfileTypeRuntimeDefault, "")),
		withSC(sh("unconfined", script), prof(api.SeccompProfileTypeUnconfined, "")),
		withSC(sh("localhost", script), prof(api.SeccompProfileTypeLocalhost, "profiles/deny-mkdir.json")),
		sh("unset", script),
	)
	const (
		blocked    = "Seccomp:\t2\nunshare: unshare(0x10000000): Operation not permitted\nmkdir-ok"
		unconfined = "Seccomp:\t0\nunshare-ok\nmkdir-ok"
	)
	want := map[string]string{
		"runtimedefault": blocked,
		"unconfined":     unconfined,
		"localhost":      "Seccomp:\t2\nunshare-ok\nmkdir: can't create directory '/tmp/d': Operation not permitted",
		"unset":          unconfined,
	}
	check := func(st *api.Pod, want map[string]string) {
		for name, w := range want {
			if got := strings.Join(logLines(t, e, st, name), "\n"); got != w {
				t.Errorf("%s: %q, want %q", name, got, w)
			}
		}
	}
	check(runToEnd(t, e, p, 0), want)

	// --seccomp-default: RuntimeDefault unless the pod says otherwise.
	p.Metadata.Name = "seccomp-default"
	want["unset"] = blocked
	check(runToEnd(t, e, p, 0, "--seccomp-default"), want)

	// A Localhost profile that is not there.
	q := newPod("seccomp-missing", api.RestartPolicyNever, withSC(sh("c", "true"), prof(api.SeccompProfileTypeLocalhost, "profiles/none.json")))
	r := e.run(manifest(q), "--rm=false")
	path := filepath.Join(profiles, "none.json")
	msg := fmt.Sprintf("failed to create container: cannot load seccomp profile %q: open %s: no such file or directory", path, path)
	st := e.waitFor(t, "default", "seccomp-missing", func(p *api.Pod) bool { return waiting(p, "c") == "CreateContainerError" }, 30*time.Second)
	if w := ctrStatus(st, "c").State.Waiting; w.Message != msg {
		t.Errorf("message %q, want %q", w.Message, msg)
	}
	// Once the profile is there, the next attempt runs.
	if err := os.WriteFile(path, []byte(denyMkdir), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, time.Minute); code != 0 {
		t.Errorf("run exit %d after the profile appeared: %s", code, r.stderr())
	}
	assertReleased(t, e)
}

// Sysctls: a safe one is applied in the pod's namespaces; an unsafe one rejects the pod as
// the kubelet's admission does (phase Failed, reason SysctlForbidden, nothing created),
// unless --allowed-unsafe-sysctls allows it.
func TestSecuritySysctls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hostRange, _ := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	p := newPod("sysctls", api.RestartPolicyNever, sh("c", "cat /proc/sys/net/ipv4/ip_local_port_range /proc/sys/kernel/shm_rmid_forced"))
	p.Spec.SecurityContext = &api.PodSecurityContext{Sysctls: []api.Sysctl{
		{Name: "net.ipv4.ip_local_port_range", Value: "20000 30000"}, {Name: "kernel/shm_rmid_forced", Value: "1"}}}
	st := runToEnd(t, e, p, 0)
	if got := strings.Join(logLines(t, e, st, "c"), "\n"); got != "20000\t30000\n1" {
		t.Errorf("sysctls in the pod: %q", got)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); string(now) != string(hostRange) {
		t.Errorf("the host's ip_local_port_range changed: %q, was %q", now, hostRange)
	}

	u := newPod("unsafe", api.RestartPolicyNever, sh("c", "cat /proc/sys/net/core/somaxconn"))
	u.Spec.SecurityContext = &api.PodSecurityContext{Sysctls: []api.Sysctl{{Name: "net.core.somaxconn", Value: "1234"}}}
	r := e.run(manifest(u), "--rm=false")
	if code := r.wait(t, time.Minute); code != 1 {
		t.Fatalf("run exit %d, want 1: %s", code, r.stderr())
	}
	const msg = `forbidden sysctl: "net.core.somaxconn" not allowlisted`
	st = e.status("default", "unsafe")
	if st.Status.Phase != api.PodFailed || st.Status.Reason != "SysctlForbidden" || st.Status.Message != "Pod was rejected: "+msg || len(st.Status.ContainerStatuses) != 0 {
		t.Errorf("status %s, want Failed SysctlForbidden with no container", describe(st))
	}
	if ev := eventsWith(e.events(t, "default", "unsafe"), "", "SysctlForbidden", msg); len(ev) != 1 {
		t.Errorf("events %+v, want one SysctlForbidden", e.events(t, "default", "unsafe"))
	}
	if !strings.Contains(r.stderr(), "Pod was rejected: "+msg) {
		t.Errorf("run's stderr does not say why: %s", r.stderr())
	}
	assertReleased(t, e)

	u.Metadata.Name = "unsafe-allowed"
	st = runToEnd(t, e, u, 0, "--allowed-unsafe-sysctls=net.core.*")
	if got := strings.Join(logLines(t, e, st, "c"), "\n"); got != "1234" {
		t.Errorf("allowed unsafe sysctl: %q", got)
	}
	if res := e.exec("run", "--allowed-unsafe-sysctls=vm.swappiness", "-"); res.code != 2 || !strings.Contains(res.stderr, `"vm.swappiness" are not known to be namespaced`) {
		t.Errorf("a sysctl that is not namespaced allowed: exit %d %s", res.code, res.stderr)
	}
	assertReleased(t, e)
}

// AppArmor: on a host without it a pod that asks for a profile is rejected as the kubelet's
// AppArmor admission does; Unconfined runs.
func TestSecurityAppArmor(t *testing.T) {
	t.Parallel()
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.HasPrefix(string(b), "Y") {
		t.Skip("the host has AppArmor: the refusal cannot be shown here")
	}
	e := newEnv(t)
	p := newPod("apparmor", api.RestartPolicyNever, sh("c", "true"))
	p.Spec.SecurityContext = &api.PodSecurityContext{AppArmorProfile: &api.AppArmorProfile{Type: api.AppArmorProfileTypeRuntimeDefault}}
	st := runToEnd(t, e, p, 1)
	if st.Status.Phase != api.PodFailed || st.Status.Reason != "AppArmor" || st.Status.Message != "Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host" {
		t.Errorf("status %s, want Failed AppArmor", describe(st))
	}
	// The deprecated annotation asks too.
	q := newPod("apparmor-annotation", api.RestartPolicyNever, sh("c", "true"))
	q.Metadata.Annotations = map[string]string{"container.apparmor.security.beta.kubernetes.io/c": "localhost/k8s-deny-write"}
	if st := runToEnd(t, e, q, 1); st.Status.Reason != "AppArmor" {
		t.Errorf("annotation: status %s, want Failed AppArmor", describe(st))
	}
	u := newPod("apparmor-unconfined", api.RestartPolicyNever, sh("c", "true"))
	u.Spec.SecurityContext = &api.PodSecurityContext{AppArmorProfile: &api.AppArmorProfile{Type: api.AppArmorProfileTypeUnconfined}}
	runToEnd(t, e, u, 0)
	assertReleased(t, e)
}
