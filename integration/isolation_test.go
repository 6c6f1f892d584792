//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// 1. Containers of a pod share the network namespace: B reaches A's server on 127.0.0.1.
func TestLocalhostSharing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("localhost", api.RestartPolicyNever,
		sh("server", "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"),
		sh("client", `for i in $(seq 1 300); do
  if [ "$(wget -qO- http://127.0.0.1:8080/ 2>/dev/null)" = hi ]; then echo got-hi; exit 0; fi
  sleep 0.1
done
echo gave-up; exit 1`),
	)
	p.Metadata.Namespace = "" // defaulted to "default"
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	r := e.run(manifest(p))

	st := e.waitFor(t, "default", "localhost", terminated("client"), 45*time.Second)
	cs := ctrStatus(st, "client")
	if term := cs.State.Terminated; term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("client terminated with exit %d reason %q, want 0 Completed; status %s", term.ExitCode, term.Reason, describe(st))
	}
	if srv := ctrStatus(st, "server"); srv == nil || srv.State.Running == nil {
		t.Errorf("server not running while the client finished: %s", describe(st))
	}
	if st.Status.Phase != api.PodRunning {
		t.Errorf("phase %q with one container still running, want Running", st.Status.Phase)
	}
	r.waitLine(t, "client", "got-hi", 10*time.Second)

	r.signal(syscall.SIGTERM)
	if code := r.wait(t, 30*time.Second); code != 130 {
		t.Errorf("run exit %d after SIGTERM, want 130", code)
	}
	// Default --rm: status file and logs are gone once run returns.
	if _, err := os.Stat(e.podDir("default", "localhost")); !os.IsNotExist(err) {
		t.Errorf("pod dir still present after run (default --rm): %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.logDir, "pods")); len(ents) != 0 {
		t.Errorf("pod logs still present after run (default --rm): %v", ents)
	}
	assertNoLeaks(t, e)
}

// httpClient never uses a proxy: test traffic only goes to pod IPs the test created.
var httpClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}

func httpGet(t *testing.T, url string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		resp, err := httpClient.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == 200 {
				return string(b)
			}
			lastErr = fmt.Errorf("status %d, read err %v", resp.StatusCode, rerr)
		} else {
			lastErr = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: no 200 within %v: %v", url, timeout, lastErr)
	return ""
}

// 2. Pods get distinct IPs from --subnet; the host reaches them and they reach each other.
func TestPodIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	web := func(name string) *api.Pod {
		p := newPod(name, api.RestartPolicyAlways,
			sh("web", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 0.0.0.0:80 -h /www"))
		p.Spec.TerminationGracePeriodSeconds = int64p(1)
		return p
	}
	r2 := e.run(manifest(web("ip-two")))
	ip2 := e.podIP(t, "default", "ip-two")

	p1 := web("ip-one")
	p1.Spec.Containers = append(p1.Spec.Containers, sh("fetcher", fmt.Sprintf(
		`while true; do if out=$(wget -qO- http://%s/ 2>&1); then echo "fetched=$out"; fi; sleep 0.3; done`, ip2)))
	r1 := e.run(manifest(p1))
	ip1 := e.podIP(t, "default", "ip-one")

	if ip1 == ip2 {
		t.Errorf("both pods got IP %s", ip1)
	}
	for _, ip := range []string{ip1, ip2} {
		parsed := net.ParseIP(ip)
		if parsed == nil || !e.subnetNet.Contains(parsed) {
			t.Errorf("pod IP %q not inside %s", ip, e.subnet)
			continue
		}
		if last := parsed.To4()[3]; last == 0 || last == 1 || last == 255 {
			t.Errorf("pod IP %s is the network, gateway or broadcast address", ip)
		}
	}
	for _, name := range []string{"ip-one", "ip-two"} {
		st := e.waitFor(t, "default", name, func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning && running("web")(p) }, 30*time.Second)
		if st.Status.HostIP == "" || net.ParseIP(st.Status.HostIP) == nil {
			t.Errorf("%s: hostIP %q not set to an IP", name, st.Status.HostIP)
		}
		if len(st.Status.PodIPs) == 0 || st.Status.PodIPs[0].IP != st.Status.PodIP {
			t.Errorf("%s: podIPs %v do not start with podIP %s", name, st.Status.PodIPs, st.Status.PodIP)
		}
		if cs := ctrStatus(st, "web"); !cs.Ready {
			t.Errorf("%s: running container without probes not ready: %s", name, describe(st))
		}
	}

	// host -> pod, and the served file shows the hostname is the pod name.
	for name, ip := range map[string]string{"ip-one": ip1, "ip-two": ip2} {
		body := strings.TrimSpace(httpGet(t, "http://"+ip+"/", 20*time.Second))
		if body != name {
			t.Errorf("http://%s/ served %q, want hostname %q", ip, body, name)
		}
	}
	// pod 1 -> pod 2
	r1.waitLine(t, "fetcher", "fetched=ip-two", 20*time.Second)

	// get pods: table and JSON.
	res := e.exec("get", "pods")
	if res.code != 0 {
		t.Errorf("get pods: exit %d: %s", res.code, res.stderr)
	}
	checkGetPodsTable(t, res.stdout, map[string]string{"ip-one": ip1, "ip-two": ip2}, map[string]string{"ip-one": "2/2", "ip-two": "1/1"})
	res = e.exec("get", "pods", "-o", "json")
	if res.code != 0 {
		t.Errorf("get pods -o json: exit %d: %s", res.code, res.stderr)
	}
	checkGetPodsJSON(t, res.stdout, map[string]string{"ip-one": ip1, "ip-two": ip2})

	for _, r := range []*runProc{r1, r2} {
		r.signal(syscall.SIGTERM)
	}
	for _, r := range []*runProc{r1, r2} {
		if code := r.wait(t, 30*time.Second); code != 130 {
			t.Errorf("run exit %d after SIGTERM, want 130", code)
		}
	}
	assertNoLeaks(t, e)
}

func checkGetPodsTable(t *testing.T, out string, ips, ready map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 1+len(ips) {
		t.Errorf("get pods printed %d lines, want header + %d pods:\n%s", len(lines), len(ips), out)
		return
	}
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "NAME READY STATUS RESTARTS AGE IP" {
		t.Errorf("get pods header %q, want NAME READY STATUS RESTARTS AGE IP", lines[0])
	}
	for name, ip := range ips {
		found := false
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) < 6 || f[0] != name {
				continue
			}
			found = true
			if f[1] != ready[name] || f[2] != "Running" || f[len(f)-1] != ip {
				t.Errorf("get pods row %q: want READY %s, STATUS Running, IP %s", l, ready[name], ip)
			}
		}
		if !found {
			t.Errorf("get pods lists no row for %s:\n%s", name, out)
		}
	}
}

func checkGetPodsJSON(t *testing.T, out string, ips map[string]string) {
	t.Helper()
	var list struct {
		Items []api.Pod `json:"items"`
	}
	var pods []api.Pod
	if err := json.Unmarshal([]byte(out), &list); err == nil && len(list.Items) > 0 {
		pods = list.Items
	} else if err := json.Unmarshal([]byte(out), &pods); err != nil {
		t.Errorf("get pods -o json is neither a List nor an array of Pods: %v\n%s", err, tail(out, 2000))
		return
	}
	for name, ip := range ips {
		found := false
		for _, p := range pods {
			if p.Metadata.Name == name {
				found = true
				if p.Status.PodIP != ip || p.Status.Phase != api.PodRunning {
					t.Errorf("get pods -o json: %s has podIP %q phase %q, want %s Running", name, p.Status.PodIP, p.Status.Phase, ip)
				}
			}
		}
		if !found {
			t.Errorf("get pods -o json lacks %s", name)
		}
	}
}

// psScript (note $$$$: Kubernetes expands $$ in command to $): print own PID, start a marker sleep, wait until the peer started its marker, list
// processes, and wait for the peer to have listed too (flag files on a shared emptyDir).
func psScript(me, peer string, marker int) string {
	return fmt.Sprintf(`echo pid=$$$$
sleep %d &
touch /sync/%s
i=0; while [ ! -e /sync/%s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
[ -e /sync/%s ] || echo peer-never-started
sleep 0.3
echo ps-begin; ps -o pid,args; echo ps-end
touch /sync/%s-done
i=0; while [ ! -e /sync/%s-done ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
kill $!
exit 0`, marker, me, peer, peer, me, peer)
}

// 3. Each container has its own PID namespace: its process is PID 1 and it sees no other
// container's processes.
func TestPIDIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := sh("a", psScript("a", "b", 1001))
	b := sh("b", psScript("b", "a", 1002))
	for _, c := range []*api.Container{&a, &b} {
		c.VolumeMounts = []api.VolumeMount{{Name: "sync", MountPath: "/sync"}}
	}
	p := newPod("pids", api.RestartPolicyNever, a, b)
	p.Spec.Volumes = []api.Volume{{Name: "sync", EmptyDir: &api.EmptyDirVolumeSource{}}}
	r := e.run(manifest(p))
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d, want 0 (pod Succeeded); stderr:\n%s", code, tail(r.stderr(), 3000))
	}
	for _, c := range []struct {
		name        string
		own, others string
	}{{"a", "sleep 1001", "sleep 1002"}, {"b", "sleep 1002", "sleep 1001"}} {
		lines := r.lines(c.name)
		if !r.hasLine(c.name, "pid=1") {
			t.Errorf("container %s: its process is not PID 1: %q", c.name, lines)
		}
		if r.hasLine(c.name, "peer-never-started") {
			t.Errorf("container %s: the other container never started (shared emptyDir flag missing)", c.name)
		}
		var ps []string
		in := false
		for _, l := range lines {
			switch {
			case l == "ps-begin":
				in = true
			case l == "ps-end":
				in = false
			case in:
				ps = append(ps, l)
			}
		}
		all := strings.Join(ps, "\n")
		if !strings.Contains(all, c.own) {
			t.Errorf("container %s: ps does not show its own %q:\n%s", c.name, c.own, all)
		}
		if strings.Contains(all, c.others) {
			t.Errorf("container %s: ps shows the other container's %q:\n%s", c.name, c.others, all)
		}
		if strings.Contains(all, "minipod") || len(ps) > 6 {
			t.Errorf("container %s: ps shows processes outside the container:\n%s", c.name, all)
		}
	}
	assertNoLeaks(t, e)
}

// 4. Each container has its own writable layer: a file A writes outside volumes is invisible to
// B, gone after A restarts, and never reaches the image dir.
func TestMountIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	img := filepath.Join(e.dir, "img")
	if err := buildRootfs(img); err != nil {
		t.Fatal(err)
	}
	before := hashTree(t, img)

	writer := api.Container{Name: "writer", Image: "rootfs:" + img, Command: []string{"sh", "-c", `if [ -e /flags/ran ]; then
  if [ -e /marker ]; then echo marker-present; else echo marker-absent; fi
  exec sleep 1000
fi
echo data > /marker && echo wrote-marker
touch /flags/ran
i=0; while [ ! -e /flags/checked ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
exit 0`}}
	reader := api.Container{Name: "reader", Image: "rootfs:" + img, Command: []string{"sh", "-c", `i=0; while [ ! -e /flags/ran ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
if [ ! -e /flags/ran ]; then echo reader-timeout
elif [ -e /marker ]; then echo reader-sees-marker
else echo reader-no-marker; fi
touch /flags/checked
exec sleep 1000`}}
	for _, c := range []*api.Container{&writer, &reader} {
		c.VolumeMounts = []api.VolumeMount{{Name: "flags", MountPath: "/flags"}}
	}
	p := newPod("mounts", api.RestartPolicyAlways, writer, reader)
	p.Spec.Volumes = []api.Volume{{Name: "flags", EmptyDir: &api.EmptyDirVolumeSource{}}}
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	r := e.run(manifest(p))

	e.waitFor(t, "default", "mounts", and(restartsAtLeast("writer", 1), running("writer", "reader")), 45*time.Second)
	r.waitLine(t, "writer", "marker-absent", 10*time.Second)
	if !r.hasLine("writer", "wrote-marker") {
		t.Errorf("writer never wrote /marker: %q", r.lines("writer"))
	}
	if r.hasLine("writer", "marker-present") {
		t.Errorf("/marker survived the writer's restart")
	}
	r.waitLine(t, "reader", "reader-no-marker", 10*time.Second)

	r.signal(syscall.SIGTERM)
	if code := r.wait(t, 30*time.Second); code != 130 {
		t.Errorf("run exit %d after SIGTERM, want 130", code)
	}
	if _, err := os.Lstat(filepath.Join(img, "marker")); err == nil {
		t.Errorf("the container's /marker was written into the image dir")
	}
	if after := hashTree(t, img); after != before {
		t.Errorf("image dir changed while used as a container rootfs")
	}
	assertNoLeaks(t, e)
}

// 5. Volumes: emptyDir shared and surviving restarts, hostPath, readOnly, subPath, Memory medium.
func TestVolumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hostDir := filepath.Join(e.dir, "hostvol")
	if err := os.MkdirAll(filepath.Join(hostDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(hostDir, "hello.txt"), []byte("from-host\n"), 0o644)
	os.WriteFile(filepath.Join(hostDir, "sub", "inner.txt"), []byte("inner\n"), 0o644)

	writer := sh("writer", `if [ -e /data/first ]; then echo "restarted data=$(cat /data/first)"; exec sleep 1000; fi
echo payload > /data/first && echo written
exit 0`)
	writer.VolumeMounts = []api.VolumeMount{{Name: "data", MountPath: "/data"}}
	reader := sh("reader", `i=0; while [ ! -e /data/first ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
echo "data=$(cat /data/first)"
echo "host=$(cat /host/hello.txt)"
if touch /host/newfile; then echo ro-touch=ok; else echo ro-touch=refused; fi
echo "sub=$(cat /sub/inner.txt)"
if [ -e /sub/hello.txt ]; then echo sub-is-whole-dir; fi
echo from-pod > /sub/written-by-pod && echo sub-write=ok
echo "mem=$(grep ' /mem ' /proc/mounts)"
echo "datafs=$(grep ' /data ' /proc/mounts)"
echo reader-done
exec sleep 1000`)
	reader.VolumeMounts = []api.VolumeMount{
		{Name: "data", MountPath: "/data"},
		{Name: "host", MountPath: "/host", ReadOnly: true},
		{Name: "host", MountPath: "/sub", SubPath: "sub"},
		{Name: "mem", MountPath: "/mem"},
	}
	p := newPod("volumes", api.RestartPolicyAlways, writer, reader)
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	p.Spec.Volumes = []api.Volume{
		{Name: "data", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory}},
		{Name: "host", HostPath: &api.HostPathVolumeSource{Path: hostDir}},
	}
	r := e.run(manifest(p))

	r.waitLine(t, "reader", "reader-done", 45*time.Second)
	e.waitFor(t, "default", "volumes", and(restartsAtLeast("writer", 1), running("writer")), 30*time.Second)
	r.waitLine(t, "writer", "restarted data=payload", 10*time.Second)

	for _, want := range []string{"data=payload", "host=from-host", "ro-touch=refused", "sub=inner", "sub-write=ok"} {
		if !r.hasLine("reader", want) {
			t.Errorf("reader did not print %q; its output: %q", want, r.lines("reader"))
		}
	}
	if r.hasLine("reader", "sub-is-whole-dir") {
		t.Errorf("subPath mounted the whole volume, not its subdirectory")
	}
	if _, err := os.Stat(filepath.Join(hostDir, "newfile")); err == nil {
		t.Errorf("a write through a readOnly hostPath mount reached the host")
	}
	if b, err := os.ReadFile(filepath.Join(hostDir, "sub", "written-by-pod")); err != nil || string(b) != "from-pod\n" {
		t.Errorf("write through the subPath mount not visible on the host: %q %v", b, err)
	}
	var memFS, dataFS string
	for _, l := range r.lines("reader") {
		if v, ok := strings.CutPrefix(l, "mem="); ok {
			if f := strings.Fields(v); len(f) >= 3 {
				memFS = f[2]
			}
		}
		if v, ok := strings.CutPrefix(l, "datafs="); ok {
			if f := strings.Fields(v); len(f) >= 3 {
				dataFS = f[2]
			}
		}
	}
	if memFS != "tmpfs" {
		t.Errorf("emptyDir medium Memory mounted as %q, want tmpfs", memFS)
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(e.dir, &sfs); err == nil && sfs.Type != 0x01021994 /* TMPFS_MAGIC */ && dataFS == "tmpfs" {
		t.Errorf("default-medium emptyDir is a tmpfs, want it on the disk under --root")
	}
	// The emptyDir lives under <root>/pods.
	found := false
	filepath.WalkDir(filepath.Join(e.rootDir, "pods"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "first" {
			if b, _ := os.ReadFile(p); string(b) == "payload\n" {
				found = true
			}
		}
		return nil
	})
	if !found {
		t.Errorf("emptyDir contents not found under %s/pods", e.rootDir)
	}

	r.signal(syscall.SIGTERM)
	if code := r.wait(t, 30*time.Second); code != 130 {
		t.Errorf("run exit %d after SIGTERM, want 130", code)
	}
	if b, err := os.ReadFile(filepath.Join(hostDir, "hello.txt")); err != nil || string(b) != "from-host\n" {
		t.Errorf("hostPath contents changed or removed by teardown: %q %v", b, err)
	}
	assertNoLeaks(t, e)
}
