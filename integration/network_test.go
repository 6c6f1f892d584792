//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/portmap"
	"github.com/minipod/minipod/state"
)

// natLeaks is the leak check of the env's NAT table (see assertNoLeaks): a pod's host port
// rules go with the pod. The table itself, like the bridge, belongs to the installation.
func natLeaks(e *env) []string {
	tagged, err := portmap.Tagged(portmap.Config{Bridge: e.bridge})
	if err != nil {
		return []string{"nft table " + portmap.TableName(e.bridge) + ": " + err.Error()}
	}
	var out []string
	for id := range tagged {
		out = append(out, fmt.Sprintf("host port rules of sandbox %s in nft table %s", id, portmap.TableName(e.bridge)))
	}
	return out
}

// removeNAT deletes the env's NAT table, with the bridge (env.reboot).
func removeNAT(t testing.TB, e *env) {
	if err := portmap.RemoveTable(e.bridge); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// freePort returns a TCP port nothing on the host listens on, for a hostPort: traffic to a
// published port no longer reaches the host's own listener.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(20000)
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// gateway is the host's address on the env's bridge.
func (e *env) gateway() string {
	ip := e.subnetNet.IP.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1).String()
}

// execIn runs a command in a container of a running pod (the monitor's exec) and returns
// its output and exit code.
func (e *env) execIn(t testing.TB, pod, container string, cmd ...string) (string, int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	code, err := monitorapi.NewClient(e.podDir("default", pod)).Exec(ctx, monitorapi.Request{Container: container, Command: cmd}, monitorapi.Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v in %s/%s: %v", cmd, pod, container, err)
	}
	return out.String(), code
}

// sandboxID is the pod's sandbox, which tags its host port rules.
func sandboxID(p *api.Pod) string { return state.SandboxID(p.Metadata.UID) }

// A hostPort reaches the pod from the host's loopback and from the host's address on the
// bridge, and from the pod itself (hairpin); one on a hostIP only there; its rules go with
// the pod; another pod asking for a taken host port is refused at create.
func TestHostPort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port, local := freePort(t), freePort(t)
	web := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: %[1]s
    command: [sh, -c, 'mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www']
    ports:
    - {containerPort: 80, hostPort: %[2]d}
    - {containerPort: 80, hostPort: %[3]d, hostIP: 127.0.0.1, name: local}
  - name: client
    image: %[1]s
    command: [sleep, "3600"]
`, rootfsImage(), port, local)
	r := e.run(web, "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exit %d: %s", code, r.stderr())
	}
	p := e.waitRunning(t, "web", "httpd", "client")
	gw := e.gateway()
	if p.Status.HostIP != gw {
		t.Errorf("hostIP %s, want the bridge's %s", p.Status.HostIP, gw)
	}
	for _, url := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/", port),
		fmt.Sprintf("http://%s:%d/", gw, port),
		fmt.Sprintf("http://127.0.0.1:%d/", local),
	} {
		if got := httpGet(t, url, 20*time.Second); got != "hello from web\n" {
			t.Errorf("GET %s = %q", url, got)
		}
	}
	// hostIP 127.0.0.1 publishes there only.
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", gw, local), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d, published on 127.0.0.1 only, answers on %s", local, gw)
	}
	// The pod reaches itself through its host port (hairpin).
	if out, code := e.execIn(t, "web", "client", "sh", "-c", fmt.Sprintf("timeout 5 wget -qO- http://%s:%d/", gw, port)); code != 0 || out != "hello from web\n" {
		t.Errorf("hairpin: wget exit %d: %q", code, out)
	}
	tagged, err := portmap.Tagged(portmap.Config{Bridge: e.bridge})
	if _, ok := tagged[sandboxID(p)]; err != nil || !ok || len(tagged) != 1 {
		t.Errorf("rules tagged %v (%v), want the pod's sandbox %s", tagged, err, sandboxID(p))
	}

	// A second pod asking for a taken port is refused, naming the port and the pod.
	other := strings.Replace(strings.Replace(web, "name: web", "name: other", 1), fmt.Sprintf("hostPort: %d, hostIP", local), fmt.Sprintf("hostPort: %d, hostIP", freePort(t)), 1)
	r = e.run(other)
	if code := r.wait(t, 30*time.Second); code != 1 {
		t.Errorf("conflicting pod: run exit %d, want 1", code)
	}
	want := fmt.Sprintf("error: pod default/other: spec.containers[0].ports[0]: host port %d/TCP on 0.0.0.0 is already taken by pod default/web (spec.containers[0].ports[0])", port)
	if !strings.Contains(r.stderr(), want) {
		t.Errorf("stderr %q, want %q", r.stderr(), want)
	}
	if _, err := os.Stat(e.podDir("default", "other")); !os.IsNotExist(err) {
		t.Errorf("the refused pod was created: %v", err)
	}

	e.deletePod(t, "web")
	assertNoLeaks(t, e)
	// The port is free again, for another pod.
	r = e.run(strings.Replace(web, "name: web", "name: again", 1), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d of a pod on the released port: exit %d: %s", code, r.stderr())
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 20*time.Second); got != "hello from web\n" {
		t.Errorf("GET after the port came back = %q", got)
	}
}

// A dead monitor's host port rules go with the pod when it is deleted.
func TestHostPortDeadMonitor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	p := newPod("orphan", api.RestartPolicyAlways, sh("c", "exec sleep 3600"))
	p.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 80, HostPort: int32(port)}}
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	r := e.run(manifest(p), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exit %d: %s", code, r.stderr())
	}
	e.waitRunning(t, "orphan", "c")
	pid := monitorPID(t, e, "orphan")
	if err := exec.Command("kill", "-KILL", strconv.Itoa(pid)).Run(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for state.MonitorAlive(e.podDir("default", "orphan")) {
		if time.Now().After(deadline) {
			t.Fatal("monitor still alive")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(natLeaks(e)) != 1 {
		t.Fatalf("rules %v, want the dead pod's", natLeaks(e))
	}
	e.deletePod(t, "orphan")
	assertNoLeaks(t, e)
}

// Pods reach what the host reaches: their traffic leaves with the host's address. Checked
// against a network namespace of the test's own, behind a veth on a private /30: a
// listener there sees the host's end of the veth as the source.
func TestMasquerade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 10.252.X.0/30 with X the env's own 10.251.X.0/24: no other test uses it.
	x := e.subnetNet.IP.To4()[2]
	hostAddr, peerAddr := fmt.Sprintf("10.252.%d.1", x), fmt.Sprintf("10.252.%d.2", x)
	nsName, hostVeth := "mpt-"+randHex(4), "mpv"+randHex(4)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	run("netns", "add", nsName)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", hostVeth).Run()
		exec.Command("ip", "netns", "del", nsName).Run()
	})
	run("link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", nsName)
	run("addr", "add", hostAddr+"/30", "dev", hostVeth)
	run("link", "set", hostVeth, "up")
	run("-n", nsName, "addr", "add", peerAddr+"/30", "dev", "eth0")
	run("-n", nsName, "link", "set", "eth0", "up")
	run("-n", nsName, "link", "set", "lo", "up")

	l := listenIn(t, nsName, peerAddr+":9999")
	defer l.Close()
	var mu sync.Mutex
	var sources []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			sources = append(sources, c.RemoteAddr().(*net.TCPAddr).IP.String())
			mu.Unlock()
			fmt.Fprintln(c, "hello from outside")
			c.Close()
		}
	}()

	p := newPod("out", api.RestartPolicyNever, sh("c", fmt.Sprintf("timeout 10 nc %s 9999 </dev/null", peerAddr)))
	r := e.run(manifest(p))
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d: %s%s", code, r.stdout(), r.stderr())
	}
	if !r.hasLine("c", "hello from outside") {
		t.Errorf("the pod did not reach %s: %q", peerAddr, r.stdout())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sources) != 1 || sources[0] != hostAddr {
		t.Errorf("the listener saw connections from %v, want one from the host's %s (masqueraded)", sources, hostAddr)
	}
}

// listenIn opens a TCP listener in the named network namespace.
func listenIn(t *testing.T, name, addr string) net.Listener {
	t.Helper()
	type result struct {
		l   net.Listener
		err error
	}
	res := make(chan result, 1)
	go func() {
		// The thread enters the namespace and is never given back: Go ends it with the
		// goroutine. The socket stays in the namespace it was made in.
		runtime.LockOSThread()
		h, err := netns.GetFromName(name)
		if err == nil {
			defer h.Close()
			err = netns.Set(h)
		}
		if err != nil {
			res <- result{err: err}
			return
		}
		l, err := net.Listen("tcp", addr)
		res <- result{l, err}
	}()
	r := <-res
	if r.err != nil {
		t.Fatalf("listen in %s: %v", name, r.err)
	}
	return r.l
}

// hostNetwork: the pod sees the host's interfaces, hostname and hosts file, and reports the
// host's address as its own.
func TestHostNetwork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("hostnet", api.RestartPolicyNever, sh("c", "cat /proc/net/dev; echo hostname=$(hostname); echo env=$HOSTNAME; head -1 /etc/hosts"))
	p.Spec.HostNetwork = true
	p.Spec.HostAliases = []api.HostAlias{{IP: "10.9.9.9", Hostnames: []string{"alias.example"}}}
	r := e.run(manifest(p), "--rm=false")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d: %s", code, r.stderr())
	}
	out := r.stdout()
	host, _ := os.Hostname()
	for _, want := range []string{e.bridge + ":", "hostname=" + host, "env=" + host, "# Kubernetes-managed hosts file (host network)."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q (the host's interfaces, hostname, hosts file):\n%s", want, out)
		}
	}
	st := e.status("default", "hostnet")
	if st.Status.PodIP != e.gateway() || st.Status.HostIP != e.gateway() {
		t.Errorf("podIP %q hostIP %q, want both the host's %s", st.Status.PodIP, st.Status.HostIP, e.gateway())
	}
	e.mustExec(t, "delete", "pod", "hostnet")
}

// hostPID: the container sees the host's processes (this test's among them).
func TestHostPID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := os.Getpid()
	p := newPod("hostpid", api.RestartPolicyNever, sh("c", fmt.Sprintf("cat /proc/%d/cmdline | tr '\\0' ' '; echo; set -- /proc/[0-9]*; echo $#", pid)))
	p.Spec.HostPID = true
	r := e.run(manifest(p))
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d: %s", code, r.stderr())
	}
	lines := r.lines("c")
	if len(lines) != 2 || !strings.Contains(lines[0], "integration.test") {
		t.Fatalf("output %q, want this test's command line (pid %d)", lines, pid)
	}
	if n, _ := strconv.Atoi(lines[1]); n < 10 {
		t.Errorf("%d processes seen, want the host's", n)
	}
}

// shareProcessNamespace: one PID namespace for the pod, with the reaper as PID 1; a
// container sees the other's processes, and orphans are reaped.
func TestShareProcessNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("shared", api.RestartPolicyAlways,
		sh("a", "exec sleep 3600"),
		// The subshell exits at once: its sleep is orphaned to PID 1, which must reap it.
		sh("b", "(sleep 0.2 &); exec sleep 3600"))
	yes := true
	p.Spec.ShareProcessNamespace = &yes
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	r := e.run(manifest(p), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exit %d: %s", code, r.stderr())
	}
	e.waitRunning(t, "shared", "a", "b")
	time.Sleep(500 * time.Millisecond) // the orphan's sleep ends
	out, code := e.execIn(t, "shared", "b", "ps", "-o", "pid,stat,args")
	if code != 0 {
		t.Fatalf("ps exit %d: %s", code, out)
	}
	procs := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if f := strings.Fields(l); len(f) >= 3 {
			procs[f[0]] = strings.Join(f[1:], " ")
		}
	}
	if !strings.Contains(procs["1"], "minipod pause "+filepath.Join(e.stateDir, "ns")) {
		t.Errorf("PID 1 is %q, want the pod's reaper; ps:\n%s", procs["1"], out)
	}
	sleeps := 0
	for _, p := range procs {
		if strings.HasSuffix(p, "sleep 3600") {
			sleeps++
		}
		if strings.HasPrefix(p, "Z") {
			t.Errorf("zombie %q: the reaper does not reap", p)
		}
	}
	if sleeps != 2 {
		t.Errorf("%d `sleep 3600` seen, want both containers'; ps:\n%s", sleeps, out)
	}
	// The reaper is the sandbox's: it goes with the pod even when the monitor died first.
	if err := exec.Command("kill", "-KILL", strconv.Itoa(monitorPID(t, e, "shared"))).Run(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); state.MonitorAlive(e.podDir("default", "shared")); {
		if time.Now().After(deadline) {
			t.Fatal("monitor still alive")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.deletePod(t, "shared")
	assertNoLeaks(t, e) // the reaper included: its command line names the env's state dir
}

// hostAliases, subdomain and setHostnameAsFQDN, and dnsPolicy None with its dnsConfig, as the
// kubelet writes them.
func TestHostsAndDNS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	script := "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname; hostname -f; echo env=$HOSTNAME"
	m := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: names, namespace: team}
spec:
  restartPolicy: Never
  hostname: busybox-1
  subdomain: busybox-subdomain
  setHostnameAsFQDN: true
  hostAliases:
  - ip: "127.0.0.1"
    hostnames: [foo.local, bar.local]
  - ip: "10.1.2.3"
    hostnames: [foo.remote, bar.remote]
  dnsPolicy: "None"
  dnsConfig:
    nameservers: [192.0.2.1]
    searches: [ns1.svc.cluster-domain.example, my.dns.search.suffix]
    options:
    - {name: ndots, value: "2"}
    - {name: edns0}
  containers:
  - {name: c, image: "%s", command: [sh, -c, %q]}
`, rootfsImage(), script)
	r := e.run(m, "--rm=false")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d: %s", code, r.stderr())
	}
	st := e.status("team", "names")
	fqdn := "busybox-1.busybox-subdomain.team.svc.cluster.local"
	want := []string{
		"# Kubernetes-managed hosts file.",
		"127.0.0.1\tlocalhost",
		"::1\tlocalhost ip6-localhost ip6-loopback",
		"fe00::0\tip6-localnet",
		"fe00::0\tip6-mcastprefix",
		"fe00::1\tip6-allnodes",
		"fe00::2\tip6-allrouters",
		st.Status.PodIP + "\t" + fqdn + "\tbusybox-1",
		"",
		"# Entries added by HostAliases.",
		"127.0.0.1\tfoo.local\tbar.local",
		"10.1.2.3\tfoo.remote\tbar.remote",
		"---",
		"search ns1.svc.cluster-domain.example my.dns.search.suffix",
		"nameserver 192.0.2.1",
		"options ndots:2 edns0",
		"---",
		fqdn,
		fqdn,
		"env=" + fqdn,
	}
	got := r.lines("c")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.mustExec(t, "delete", "pod", "names", "-n", "team")
}

// Fields that only steer a scheduler are named once in a warning and ignored: the pod runs.
func TestSchedulingFieldsWarned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: sched}
spec:
  restartPolicy: Never
  nodeSelector: {disktype: ssd}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [antarctica-east1]}]}]
  tolerations: [{key: example-key, operator: Exists, effect: NoSchedule}]
  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]
  priorityClassName: high
  schedulerName: my-scheduler
  serviceAccountName: build-robot
  containers:
  - {name: c, image: "%s", command: ["true"]}
`, rootfsImage())
	r := e.run(m)
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run exit %d: %s", code, r.stderr())
	}
	var warnings []string
	for _, l := range strings.Split(r.stderr(), "\n") {
		if strings.HasPrefix(l, "minipod: warning: ") {
			warnings = append(warnings, l)
		}
	}
	want := []string{
		"minipod: warning: ignored on one host: spec.nodeSelector, spec.affinity, spec.tolerations, spec.topologySpreadConstraints, spec.schedulerName, spec.priorityClassName",
		`minipod: warning: spec.serviceAccountName: no token of service account "build-robot" is mounted: that needs a Kubernetes API server`,
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
}

// schedulingGates keep the pod Pending, not scheduled, with nothing of it created, until it
// is deleted.
func TestSchedulingGates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("gated", api.RestartPolicyAlways, sh("c", "exec sleep 3600"))
	p.Spec.SchedulingGates = []api.PodSchedulingGate{{Name: "example.com/foo"}}
	r := e.run(manifest(p), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exit %d: %s", code, r.stderr())
	}
	if want := "pod/gated created, not scheduled: SchedulingGated: Scheduling is blocked due to non-empty scheduling gates\n"; r.stdout() != want {
		t.Errorf("run -d said %q, want %q", r.stdout(), want)
	}
	st := e.status("default", "gated")
	conds := st.Status.Conditions
	if st.Status.Phase != api.PodPending || len(conds) != 1 || conds[0].Type != api.PodScheduled || conds[0].Status != api.ConditionFalse ||
		conds[0].Reason != "SchedulingGated" || len(st.Status.ContainerStatuses) != 0 || st.Status.StartTime != nil {
		t.Errorf("status %s, want Pending with only PodScheduled False (SchedulingGated)", describe(st))
	}
	if row := podRow(e.mustExec(t, "get", "pods").stdout, "gated"); len(row) < 3 || row[2] != "SchedulingGated" {
		t.Errorf("get pods row %q, want SchedulingGated", row)
	}
	// Nothing but the record and the monitor exists.
	for _, dir := range []string{filepath.Join(e.stateDir, "netns"), filepath.Join(e.stateDir, "ns"), filepath.Join(e.rootDir, "pods")} {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s holds %d entries for a gated pod", dir, len(ents))
		}
	}
	e.deletePod(t, "gated")
	assertNoLeaks(t, e)
}

// readinessGates: with no condition for its gate the pod is never Ready, though its
// containers are (the kubelet's rule).
func TestReadinessGates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("gates", api.RestartPolicyAlways, sh("c", "exec sleep 3600"))
	p.Spec.ReadinessGates = []api.PodReadinessGate{{ConditionType: "www.example.com/feature-1"}}
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	r := e.run(manifest(p), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d exit %d: %s", code, r.stderr())
	}
	st := e.waitFor(t, "default", "gates", func(p *api.Pod) bool { cs := ctrStatus(p, "c"); return cs != nil && cs.Ready }, 30*time.Second)
	for _, c := range st.Status.Conditions {
		switch c.Type {
		case api.ContainersReady:
			if c.Status != api.ConditionTrue {
				t.Errorf("ContainersReady %+v", c)
			}
		case api.PodReady:
			if c.Status != api.ConditionFalse || c.Reason != "ReadinessGatesNotReady" || c.Message != `corresponding condition of pod readiness gate "www.example.com/feature-1" does not exist.` {
				t.Errorf("Ready %+v", c)
			}
		}
	}
	if !strings.Contains(r.stderr(), "minipod: warning: spec.readinessGates: nothing sets the condition www.example.com/feature-1 on one host, so the pod will not become Ready") {
		t.Errorf("no readiness gate warning: %q", r.stderr())
	}
	e.deletePod(t, "gates")
}

// TestPodNetworkIPv4Only: the pod network is IPv4-only, and neither end of a pod's veth takes
// an IPv6 link-local address (no duplicate address detection, router solicitations or MLD
// reports for the bridge to flood to every pod), while lo keeps ::1.
func TestPodNetworkIPv4Only(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newPod("v4", api.RestartPolicyAlways, sh("c", "exec sleep 100000"))
	p.Spec.TerminationGracePeriodSeconds = int64p(0)
	if code := e.run(manifest(p), "-d").wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d: exit %d", code)
	}
	e.waitRunning(t, "v4", "c")
	if out, code := e.execIn(t, "v4", "c", "ip", "-6", "addr", "show", "dev", "eth0"); code != 0 || strings.Contains(out, "inet6") {
		t.Errorf("eth0's IPv6 addresses (exit %d):\n%s", code, out)
	}
	if out, code := e.execIn(t, "v4", "c", "ip", "-6", "addr", "show", "dev", "lo"); code != 0 || !strings.Contains(out, "::1/128") {
		t.Errorf("lo without ::1 (exit %d):\n%s", code, out)
	}
	ports := bridgePorts(e.bridge)
	if len(ports) != 1 {
		t.Fatalf("bridge ports %q, want the pod's veth", ports)
	}
	b, err := os.ReadFile("/proc/net/if_inet6")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[5] == ports[0] {
			t.Errorf("the host's veth %s has an IPv6 address: %s", ports[0], line)
		}
	}
	e.deletePod(t, "v4")
	assertNoLeaks(t, e)
}
