//go:build integration

// Package integration runs the minipod binary end to end: real namespaces, overlayfs, veths and
// cgroups. Every test gets its own state dir, root, log dir, bridge, /24 inside 10.251.0.0/16 and
// cgroup parent, so tests (and parallel test processes) never share resources and never touch the
// defaults (/run/minipod, /var/lib/minipod, /var/log/minipod, minipod0, 10.66.0.0/16).
//
// Run: go test -tags integration ./integration/ -v   (as root; add -timeout 15m for a cold build)
// MINIPOD_BIN=/path/to/minipod skips building the binary; MINIPOD_BUILD_TAGS adds -tags to the build.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"sigs.k8s.io/yaml"
)

var (
	baseDir    string // per test process temp dir: binary, rootfs, env dirs
	binPath    string // the minipod binary under test
	rootfsDir  string // shared busybox root filesystem (never written by tests)
	envCounter atomic.Int64
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("SKIP: minipod integration tests need root")
		os.Exit(0)
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	baseDir, err = os.MkdirTemp("", "mpit")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer removeBaseDir()

	binPath = os.Getenv("MINIPOD_BIN")
	if binPath == "" {
		binPath = filepath.Join(baseDir, "bin", "minipod")
		// The project's one build recipe (MINIPOD_BUILD_TAGS adds tags).
		cmd := exec.Command("../scripts/build.sh", binPath)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: building minipod (scripts/build.sh): %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "built %s in %v\n", binPath, time.Since(start).Round(time.Millisecond))
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: /bin/busybox missing (apt-get install -y busybox-static)")
		return 1
	}
	rootfsDir = filepath.Join(baseDir, "rootfs")
	if err := buildRootfs(rootfsDir); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: building busybox rootfs: %v\n", err)
		return 1
	}
	return m.Run()
}

// removeBaseDir removes the process temp dir, after detaching any mount a broken runtime left
// below it (RemoveAll through a leaked bind mount could otherwise delete files outside).
func removeBaseDir() {
	for i := 0; i < 5; i++ {
		mps := mountPointsUnder(baseDir)
		if len(mps) == 0 {
			os.RemoveAll(baseDir)
			return
		}
		for _, mp := range mps {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	fmt.Fprintf(os.Stderr, "leaving %s in place: mounts remain below it\n", baseDir)
}

// buildRootfs makes a busybox root filesystem: bin/busybox, one symlink per applet (skipping the
// name "busybox" itself) and empty proc, sys, dev, tmp, etc dirs.
func buildRootfs(dir string) error {
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o777|fs.ModeSticky); err != nil {
		return err
	}
	src, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), src, 0o755); err != nil {
		return err
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %v", err)
	}
	for _, name := range strings.Fields(string(out)) {
		if name == "busybox" || strings.Contains(name, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", name)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	return nil
}

// hashTree hashes a directory tree: names, types, modes, sizes, mtimes, symlink targets, contents.
func hashTree(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %v %d %d", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, " -> %s", target)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " %x", sha256.Sum256(b))
		}
		h.Write([]byte{'\n'})
		return nil
	})
	if err != nil {
		t.Fatalf("hashing %s: %v", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------------------------------------
// env: one isolated minipod installation per test.

type podKey struct{ ns, name string }

type env struct {
	t              testing.TB
	dir            string // everything below here belongs to this env
	stateDir       string
	rootDir        string
	logDir         string
	bridge         string
	subnet         string // 10.251.X.0/24
	subnetNet      *net.IPNet
	cgroupParent   string
	backoffInitial string
	backoffMax     string
	resolvConf     string // pods resolve names through 127.0.0.1 of their own: nothing leaves the host

	mu   sync.Mutex
	runs []*runProc
	pods map[podKey]bool
}

// newEnv gives the test its own state dir, root, log dir, bridge, subnet and cgroup parent, and
// registers a cleanup that kills leftovers, deletes every pod, asserts no leaks and then removes
// whatever is left (so one broken test does not poison the host for the next).
func newEnv(t testing.TB) *env {
	t.Helper()
	n := envCounter.Add(1)
	dir := filepath.Join(baseDir, fmt.Sprintf("e%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	idx, release, err := allocSubnet(n)
	if err != nil {
		t.Fatalf("allocating a test subnet: %v", err)
	}
	bridge := ""
	for {
		bridge = "mpt" + randHex(4) // 11 chars, within IFNAMSIZ-1
		if _, err := net.InterfaceByName(bridge); err != nil {
			break
		}
	}
	subnet := fmt.Sprintf("10.251.%d.0/24", idx)
	_, ipnet, _ := net.ParseCIDR(subnet)
	e := &env{
		t:              t,
		dir:            dir,
		stateDir:       filepath.Join(dir, "state"),
		rootDir:        filepath.Join(dir, "root"),
		logDir:         filepath.Join(dir, "log"),
		bridge:         bridge,
		subnet:         subnet,
		subnetNet:      ipnet,
		cgroupParent:   "minipod-it-" + randHex(4),
		backoffInitial: "200ms",
		backoffMax:     "800ms",
		resolvConf:     filepath.Join(dir, "resolv.conf"),
		pods:           map[podKey]bool{},
	}
	if err := os.WriteFile(e.resolvConf, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("env: dir=%s bridge=%s subnet=%s cgroup-parent=%s", dir, bridge, subnet, e.cgroupParent)
	t.Cleanup(func() {
		defer release()
		e.cleanup(t)
	})
	return e
}

// allocSubnet picks X for 10.251.X.0/24, starting from a value derived from the pid and a
// counter, and claims it with an O_EXCL lock file shared by all test processes on the host.
func allocSubnet(n int64) (int, func(), error) {
	lockDir := filepath.Join(os.TempDir(), "minipod-it-subnets")
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return 0, nil, err
	}
	start := int((int64(os.Getpid())*37 + n*13) % 254)
	for i := 0; i < 254*2; i++ {
		x := (start+i)%254 + 1
		if subnetInUse(x) {
			continue
		}
		p := filepath.Join(lockDir, strconv.Itoa(x))
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			if os.IsExist(err) {
				if b, rerr := os.ReadFile(p); rerr == nil {
					if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && !pidAlive(pid) {
						os.Remove(p) // stale lock of a dead test process; retried on the second lap
					}
				}
			}
			continue
		}
		fmt.Fprintf(f, "%d", os.Getpid())
		f.Close()
		return x, func() { os.Remove(p) }, nil
	}
	return 0, nil, errors.New("no free /24 in 10.251.0.0/16")
}

func subnetInUse(x int) bool {
	_, want, _ := net.ParseCIDR(fmt.Sprintf("10.251.%d.0/24", x))
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && want.Contains(ipn.IP) {
			return true
		}
	}
	return false
}

func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (e *env) globalFlags() []string {
	return []string{
		"--state-dir=" + e.stateDir,
		"--root=" + e.rootDir,
		"--log-dir=" + e.logDir,
		"--bridge=" + e.bridge,
		"--subnet=" + e.subnet,
		"--cgroup-parent=" + e.cgroupParent,
		"--backoff-initial=" + e.backoffInitial,
		"--backoff-max=" + e.backoffMax,
		"--resolv-conf=" + e.resolvConf,
	}
}

// argv inserts the global flags right after the subcommand words ("run", "get pods",
// "delete pod"), which both cobra-style and flag-per-subcommand parsers accept.
func (e *env) argv(args []string) []string {
	at := 0
	switch {
	case len(args) >= 1 && args[0] == "run":
		at = 1
	case len(args) >= 2 && (args[0] == "get" || args[0] == "delete"):
		at = 2
	}
	out := append([]string{}, args[:at]...)
	out = append(out, e.globalFlags()...)
	return append(out, args[at:]...)
}

// trackManifest remembers the pods a manifest (of one or more documents) names, so cleanup
// deletes them.
func (e *env) trackManifest(manifest string) {
	for _, doc := range strings.Split(manifest, "\n---") {
		var p api.Pod
		if err := yaml.Unmarshal([]byte(doc), &p); err != nil || p.Metadata.Name == "" || (p.Kind != "Pod" && p.Kind != "") {
			continue
		}
		ns := p.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		e.mu.Lock()
		e.pods[podKey{ns, p.Metadata.Name}] = true
		e.mu.Unlock()
	}
}

// ---------------------------------------------------------------------------------------------
// commands

type result struct {
	stdout, stderr string
	code           int
	dur            time.Duration
}

// exec runs a minipod subcommand to completion (bounded by 90 s) with the env's global flags.
func (e *env) exec(args ...string) result {
	return e.execTimeout(90*time.Second, args...)
}

func (e *env) execTimeout(timeout time.Duration, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := e.argv(args)
	cmd := exec.CommandContext(ctx, binPath, argv...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: so.String(), stderr: se.String(), dur: time.Since(start)}
	res.code = exitCode(cmd, err)
	if ctx.Err() != nil {
		res.stderr += fmt.Sprintf("\n[test harness: killed after %v]", timeout)
	}
	e.t.Logf("minipod %s -> exit %d in %v", strings.Join(args, " "), res.code, res.dur.Round(time.Millisecond))
	return res
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState != nil {
		return cmd.ProcessState.ExitCode() // -1 when killed by a signal
	}
	if err != nil {
		return -2
	}
	return 0
}

// runProc is a `minipod run` started in the background. Its stdout/stderr go to files (not
// pipes), so a monitor that inherits them can never block the harness.
type runProc struct {
	e        *env
	args     []string
	cmd      *exec.Cmd
	outPath  string
	errPath  string
	started  time.Time
	done     chan struct{}
	code     int
	finished time.Time
}

var runCounter atomic.Int64

// run starts `minipod run [extraArgs] -` with manifest on stdin.
func (e *env) run(manifest string, extraArgs ...string) *runProc {
	e.t.Helper()
	e.trackManifest(manifest)
	args := append([]string{"run"}, extraArgs...)
	args = append(args, "-")
	return e.start(manifest, args...)
}

// start starts any minipod command in the background with stdin from the given string.
func (e *env) start(stdin string, args ...string) *runProc {
	e.t.Helper()
	n := runCounter.Add(1)
	r := &runProc{
		e:       e,
		args:    args,
		outPath: filepath.Join(e.dir, fmt.Sprintf("run%d.out", n)),
		errPath: filepath.Join(e.dir, fmt.Sprintf("run%d.err", n)),
		done:    make(chan struct{}),
	}
	outF, err := os.Create(r.outPath)
	if err != nil {
		e.t.Fatal(err)
	}
	errF, err := os.Create(r.errPath)
	if err != nil {
		e.t.Fatal(err)
	}
	r.cmd = exec.Command(binPath, e.argv(args)...)
	r.cmd.Stdin = strings.NewReader(stdin)
	r.cmd.Stdout, r.cmd.Stderr = outF, errF
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		e.t.Fatalf("starting minipod %v: %v", args, err)
	}
	outF.Close()
	errF.Close()
	e.t.Logf("started minipod %s (pid %d)", strings.Join(args, " "), r.cmd.Process.Pid)
	go func() {
		err := r.cmd.Wait()
		r.code = exitCode(r.cmd, err)
		r.finished = time.Now()
		close(r.done)
	}()
	e.mu.Lock()
	e.runs = append(e.runs, r)
	e.mu.Unlock()
	return r
}

func (r *runProc) pid() int { return r.cmd.Process.Pid }

func (r *runProc) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait waits for the command to exit and returns its exit code (-1 if killed by a signal).
// On timeout it kills the process and fails the test.
func (r *runProc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
		t.Logf("minipod %s (pid %d) exited %d after %v", strings.Join(r.args, " "), r.pid(), r.code, r.finished.Sub(r.started).Round(time.Millisecond))
		return r.code
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("minipod %s did not exit within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), timeout, tail(r.stdout(), 3000), tail(r.stderr(), 3000))
		return -3
	}
}

func (r *runProc) signal(sig syscall.Signal) {
	if !r.exited() {
		r.cmd.Process.Signal(sig)
	}
}

func (r *runProc) stdout() string { b, _ := os.ReadFile(r.outPath); return string(b) }
func (r *runProc) stderr() string { b, _ := os.ReadFile(r.errPath); return string(b) }

// lines returns the output lines run printed for one container (prefix "[name] " stripped).
func (r *runProc) lines(container string) []string {
	prefix := "[" + container + "] "
	var out []string
	for _, l := range strings.Split(r.stdout(), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, strings.TrimPrefix(l, prefix))
		}
	}
	return out
}

func (r *runProc) hasLine(container, line string) bool {
	for _, l := range r.lines(container) {
		if l == line {
			return true
		}
	}
	return false
}

// waitLine waits until run printed the exact line for the container.
func (r *runProc) waitLine(t testing.TB, container, line string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !r.hasLine(container, line) {
		if time.Now().After(deadline) {
			t.Fatalf("run never printed %q for container %s within %v; stdout:\n%s\nstderr:\n%s", line, container, timeout, tail(r.stdout(), 3000), tail(r.stderr(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// ---------------------------------------------------------------------------------------------
// status and logs

func (e *env) podDir(ns, name string) string {
	return filepath.Join(e.stateDir, "pods", ns+"_"+name)
}

func (e *env) statusPath(ns, name string) string {
	return filepath.Join(e.podDir(ns, name), "status.json")
}

// readStatus returns (nil, nil) when the status file does not exist, an error when it does
// not parse.
func (e *env) readStatus(ns, name string) (*api.Pod, error) {
	b, err := os.ReadFile(e.statusPath(ns, name))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var p api.Pod
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("status.json does not parse: %v; content: %q", err, tail(string(b), 2000))
	}
	return &p, nil
}

// status reads and parses status.json; nil if absent. A file that does not parse fails the test.
func (e *env) status(ns, name string) *api.Pod {
	p, err := e.readStatus(ns, name)
	if err != nil {
		e.t.Errorf("pod %s/%s: %v", ns, name, err)
		return nil
	}
	return p
}

// waitFor polls status.json every 20 ms until cond holds.
func (e *env) waitFor(t testing.TB, ns, name string, cond func(*api.Pod) bool, timeout time.Duration) *api.Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *api.Pod
	for {
		p, err := e.readStatus(ns, name)
		if err != nil {
			t.Fatalf("pod %s/%s: %v", ns, name, err)
		}
		if p != nil {
			last = p
			if cond(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting on pod %s/%s; last status: %s", timeout, ns, name, describe(last))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// podIP waits for status.podIP and returns it.
func (e *env) podIP(t testing.TB, ns, name string) string {
	t.Helper()
	p := e.waitFor(t, ns, name, func(p *api.Pod) bool { return p.Status.PodIP != "" }, 30*time.Second)
	return p.Status.PodIP
}

func describe(p *api.Pod) string {
	if p == nil {
		return "<no status file>"
	}
	b, _ := json.Marshal(p.Status)
	return string(b)
}

func ctrStatus(p *api.Pod, name string) *api.ContainerStatus {
	if p == nil {
		return nil
	}
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// running: all named containers are in state running.
func running(names ...string) func(*api.Pod) bool {
	return func(p *api.Pod) bool {
		for _, n := range names {
			cs := ctrStatus(p, n)
			if cs == nil || cs.State.Running == nil {
				return false
			}
		}
		return true
	}
}

// terminated: all named containers are in state terminated.
func terminated(names ...string) func(*api.Pod) bool {
	return func(p *api.Pod) bool {
		for _, n := range names {
			cs := ctrStatus(p, n)
			if cs == nil || cs.State.Terminated == nil {
				return false
			}
		}
		return true
	}
}

func restartsAtLeast(name string, n int32) func(*api.Pod) bool {
	return func(p *api.Pod) bool {
		cs := ctrStatus(p, name)
		return cs != nil && cs.RestartCount >= n
	}
}

func and(conds ...func(*api.Pod) bool) func(*api.Pod) bool {
	return func(p *api.Pod) bool {
		for _, c := range conds {
			if !c(p) {
				return false
			}
		}
		return true
	}
}

// logPath is <log-dir>/pods/<ns>_<name>_<uid>/<container>/<restartCount>.log.
func (e *env) logPath(p *api.Pod, container string, restart int) string {
	ns := p.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return filepath.Join(e.logDir, "pods", fmt.Sprintf("%s_%s_%s", ns, p.Metadata.Name, p.Metadata.UID), container, fmt.Sprintf("%d.log", restart))
}

type criRecord struct {
	ts      time.Time
	stream  string
	tag     string
	content string
}

// readCRILog parses a CRI log file; malformed lines fail the test.
func readCRILog(t testing.TB, path string) []criRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading log: %v", err)
	}
	var recs []criRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		parts := strings.SplitN(line, " ", 4)
		if len(parts) < 3 {
			t.Fatalf("%s: malformed CRI log line %q", path, line)
		}
		ts, err := time.Parse(time.RFC3339Nano, parts[0])
		if err != nil {
			t.Fatalf("%s: bad timestamp in %q: %v", path, line, err)
		}
		if parts[1] != "stdout" && parts[1] != "stderr" {
			t.Fatalf("%s: bad stream in %q", path, line)
		}
		tag := strings.SplitN(parts[2], ":", 2)[0]
		if tag != "F" && tag != "P" {
			t.Fatalf("%s: bad tag in %q", path, line)
		}
		rec := criRecord{ts: ts, stream: parts[1], tag: tag}
		if len(parts) == 4 {
			rec.content = parts[3]
		}
		recs = append(recs, rec)
	}
	return recs
}

func logContains(recs []criRecord, content string) bool {
	for _, r := range recs {
		if r.content == content {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------------
// manifests

func rootfsImage() string { return "rootfs:" + rootfsDir }

func int64p(v int64) *int64 { return &v }

// newPod builds a pod in namespace "default" whose containers use the busybox rootfs.
func newPod(name string, policy api.RestartPolicy, ctrs ...api.Container) *api.Pod {
	return &api.Pod{
		APIVersion: "v1",
		Kind:       "Pod",
		Metadata:   api.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       api.PodSpec{Containers: ctrs, RestartPolicy: policy},
	}
}

// sh is a container running `sh -c script`.
func sh(name, script string) api.Container {
	return api.Container{Name: name, Image: rootfsImage(), Command: []string{"sh", "-c", script}}
}

// manifest renders a pod as JSON (valid YAML), without the status member.
func manifest(p *api.Pod) string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok && md["namespace"] == "" {
		delete(md, "namespace")
	}
	b, _ = json.MarshalIndent(m, "", "  ")
	return string(b)
}

// ---------------------------------------------------------------------------------------------
// cleanup and leak checks

func (e *env) cleanup(t testing.TB) {
	e.mu.Lock()
	runs := append([]*runProc{}, e.runs...)
	e.mu.Unlock()

	// 1. leftover `minipod run` processes: SIGKILL (their monitors must survive; delete handles them).
	for _, r := range runs {
		if !r.exited() {
			t.Logf("cleanup: killing leftover minipod %s (pid %d)", strings.Join(r.args, " "), r.pid())
			r.cmd.Process.Kill()
			select {
			case <-r.done:
			case <-time.After(10 * time.Second):
				t.Errorf("cleanup: pid %d did not die", r.pid())
			}
		}
	}
	if t.Failed() {
		for _, r := range runs {
			t.Logf("minipod %s (pid %d, exit %d)\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(r.args, " "), r.pid(), r.code, tail(r.stdout(), 4000), tail(r.stderr(), 4000))
		}
	}

	// 2. delete every pod we know of or that has a dir.
	pods := map[podKey]bool{}
	e.mu.Lock()
	for k := range e.pods {
		pods[k] = false
	}
	e.mu.Unlock()
	for _, k := range e.podDirs() {
		pods[k] = true
	}
	keys := make([]podKey, 0, len(pods))
	for k := range pods {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ns+"/"+keys[i].name < keys[j].ns+"/"+keys[j].name })
	for _, k := range keys {
		hadDir := pods[k]
		if !hadDir && !e.anyResources() {
			continue // nothing on disk and nothing left: no delete needed
		}
		res := e.exec("delete", "pod", k.name, "-n", k.ns)
		if res.code != 0 && hadDir {
			t.Errorf("cleanup: minipod delete pod %s -n %s: exit %d\nstdout: %s\nstderr: %s", k.name, k.ns, res.code, res.stdout, res.stderr)
		}
	}

	// 3. nothing may be left.
	assertNoLeaks(t, e)

	// 4. remove whatever a broken runtime left, so the host stays clean for the next test.
	e.forceCleanup(t)
}

// podDirs lists <state-dir>/pods/<ns>_<name>.
func (e *env) podDirs() []podKey {
	ents, _ := os.ReadDir(filepath.Join(e.stateDir, "pods"))
	var out []podKey
	for _, en := range ents {
		if ns, name, ok := strings.Cut(en.Name(), "_"); ok {
			out = append(out, podKey{ns, name})
		}
	}
	return out
}

func (e *env) anyResources() bool { return len(e.leaks(false)) > 0 }

// assertNoLeaks fails the test if anything of the env's pods is left: pod/state/log dirs,
// pinned netns, libcontainer state, overlay dirs and emptyDirs, IP allocations, veths on the
// bridge, mounts, cgroup dirs below the cgroup parent, processes. Things that vanish within a
// couple of seconds (a monitor finishing its exit) are not leaks.
func assertNoLeaks(t testing.TB, e *env) {
	t.Helper()
	assertLeakFree(t, e, false)
}

// assertReleased is assertNoLeaks for a pod kept with --rm=false: its status file and logs may
// stay, every other resource must be released.
func assertReleased(t testing.TB, e *env) {
	t.Helper()
	assertLeakFree(t, e, true)
}

func assertLeakFree(t testing.TB, e *env, keepPods bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		l := e.leaks(keepPods)
		if len(l) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("LEAKS (%d):\n  %s", len(l), strings.Join(l, "\n  "))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) leaks(keepPods bool) []string {
	var out []string
	entries := func(label, dir string, isLeak func(name string) bool) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			if !os.IsNotExist(err) {
				out = append(out, fmt.Sprintf("%s: %v", label, err))
			}
			return
		}
		for _, en := range ents {
			if isLeak == nil || isLeak(en.Name()) {
				out = append(out, fmt.Sprintf("%s: %s", label, filepath.Join(dir, en.Name())))
			}
		}
	}
	entries("pinned netns", filepath.Join(e.stateDir, "netns"), nil)
	entries("pinned namespaces", filepath.Join(e.stateDir, "ns"), nil)
	entries("libcontainer state", filepath.Join(e.stateDir, "containers"), nil)
	if !keepPods {
		entries("pod dir", filepath.Join(e.stateDir, "pods"), nil)
		entries("pod logs", filepath.Join(e.logDir, "pods"), nil)
	}
	entries("overlay/emptyDir dir", filepath.Join(e.rootDir, "pods"), nil)
	out = append(out, volumeLeaks(e)...)
	entries("IP allocation", filepath.Join(e.rootDir, "networks", e.bridge), func(n string) bool { return net.ParseIP(n) != nil || strings.HasPrefix(n, "by-id-") })
	for _, v := range bridgePorts(e.bridge) {
		out = append(out, fmt.Sprintf("host veth on %s: %s", e.bridge, v))
	}
	out = append(out, natLeaks(e)...)
	// The directories monitors mount under are private bind mounts of themselves
	// (sandbox.PrepareMountRoots): per-installation infrastructure, like the bridge, not
	// per-pod resources. One each is allowed; a pod's own mounts are never in the host's table.
	roots := map[string]int{}
	for _, d := range []string{filepath.Join(e.stateDir, "netns"), filepath.Join(e.stateDir, "ns"), filepath.Join(e.rootDir, "pods")} {
		roots[d] = 0
	}
	for _, l := range mountLinesUnder(e.dir) {
		if f := strings.Fields(l); len(f) > 4 && f[3] == f[4] {
			if n, ok := roots[f[4]]; ok && n == 0 {
				roots[f[4]]++
				continue
			}
		}
		out = append(out, "mount: "+l)
	}
	for _, d := range cgroupDirsBelow(e.cgroupParent) {
		out = append(out, "cgroup dir: "+d)
	}
	for _, p := range e.processes() {
		out = append(out, fmt.Sprintf("process %d: %s", p.pid, p.cmdline))
	}
	return out
}

// bridgePorts lists the links attached to bridge (`ip -o link show master BRIDGE`).
func bridgePorts(bridge string) []string {
	out, err := exec.Command("ip", "-o", "link", "show", "master", bridge).Output()
	if err != nil {
		return nil // no such bridge: nothing attached
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		names = append(names, name)
	}
	return names
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// mountLinesUnder returns the /proc/self/mountinfo lines that mention dir.
func mountLinesUnder(dir string) []string { return mountinfoLinesUnder("/proc/self/mountinfo", dir) }

// A pod's own mounts (root filesystems, tmpfs volumes, namespace pins) are in its monitor's
// mount namespace only: these see them there.

// monitorMountLinesUnder is mountLinesUnder in the mount namespace of pod name's monitor.
func (e *env) monitorMountLinesUnder(t testing.TB, name, dir string) []string {
	return mountinfoLinesUnder(fmt.Sprintf("/proc/%d/mountinfo", monitorPID(t, e, name)), dir)
}

// inMonitor is path as pod name's monitor sees it, to be opened from the test.
func (e *env) inMonitor(t testing.TB, name, path string) string {
	return fmt.Sprintf("/proc/%d/root%s", monitorPID(t, e, name), path)
}

func mountinfoLinesUnder(mountinfo, dir string) []string {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return []string{"cannot read mountinfo: " + err.Error()}
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, dir+"/") || strings.Contains(l, " "+dir+" ") {
			out = append(out, l)
		}
	}
	return out
}

// mountPointsUnder returns mount points at or below dir, deepest first.
func mountPointsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var mps []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		mp := strings.ReplaceAll(f[4], `\040`, " ")
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	return mps
}

// cgroupDirsBelow finds directories below any <parent> dir in any cgroup hierarchy
// (find /sys/fs/cgroup -path '*/<parent>/*' -type d), deepest first.
func cgroupDirsBelow(parent string) []string {
	var out []string
	walkCgroups(func(p string) {
		if strings.Contains(p, "/"+parent+"/") {
			out = append(out, p)
		}
	})
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// cgroupParentDirs finds the <parent> dirs themselves.
func cgroupParentDirs(parent string) []string {
	var out []string
	walkCgroups(func(p string) {
		if filepath.Base(p) == parent {
			out = append(out, p)
		}
	})
	return out
}

func walkCgroups(fn func(dir string)) {
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			fn(p)
		}
		return nil
	})
}

type procInfo struct {
	pid     int
	cmdline string
}

// processes finds live processes that belong to the env: their command line, cwd, root or an
// open file mentions the env dir (monitors hold the log files and the run's output files).
func (e *env) processes() []procInfo {
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var out []procInfo
	for _, en := range ents {
		pid, err := strconv.Atoi(en.Name())
		if err != nil || pid == self {
			continue
		}
		if pi, ok := e.ownsProcess(pid); ok {
			out = append(out, pi)
		}
	}
	return out
}

func (e *env) ownsProcess(pid int) (procInfo, bool) {
	base := fmt.Sprintf("/proc/%d", pid)
	if st, err := os.ReadFile(base + "/stat"); err == nil {
		if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return procInfo{}, false // zombie: gone except for its parent's wait
		}
	}
	cl, _ := os.ReadFile(base + "/cmdline")
	cmdline := strings.TrimSpace(strings.ReplaceAll(string(cl), "\x00", " "))
	pi := procInfo{pid, cmdline}
	under := func(p string) bool { return p == e.dir || strings.HasPrefix(p, e.dir+"/") }
	if strings.Contains(cmdline, e.dir+"/") {
		return pi, true
	}
	for _, l := range []string{"cwd", "root"} {
		if p, err := os.Readlink(base + "/" + l); err == nil && under(p) {
			return pi, true
		}
	}
	fds, _ := os.ReadDir(base + "/fd")
	for _, fd := range fds {
		if p, err := os.Readlink(base + "/fd/" + fd.Name()); err == nil && under(p) {
			return pi, true
		}
	}
	return procInfo{}, false
}

// forceCleanup removes whatever the runtime left behind (after the leak check reported it).
func (e *env) forceCleanup(t testing.TB) {
	e.reboot(t)
	if len(mountPointsUnder(e.dir)) == 0 {
		if err := os.RemoveAll(e.dir); err != nil {
			t.Logf("cleanup: removing %s: %v", e.dir, err)
		}
	} else {
		t.Errorf("cleanup: mounts remain below %s; leaving it", e.dir)
	}
}

// reboot removes what a reboot of the host would: the env's processes, mounts, links (the
// bridge too) and cgroups. Files stay.
func (e *env) reboot(t testing.TB) {
	for round := 0; round < 3; round++ {
		for _, p := range e.processes() {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		for _, d := range cgroupDirsBelow(e.cgroupParent) {
			if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
		}
		if len(e.processes()) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := 0; i < 5; i++ {
		mps := mountPointsUnder(e.dir)
		if len(mps) == 0 {
			break
		}
		for _, mp := range mps {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
				t.Logf("cleanup: umount %s: %v", mp, err)
			}
		}
	}
	for _, v := range bridgePorts(e.bridge) {
		exec.Command("ip", "link", "del", v).Run()
	}
	if linkExists(e.bridge) {
		if out, err := exec.Command("ip", "link", "del", e.bridge).CombinedOutput(); err != nil {
			t.Errorf("cleanup: deleting bridge %s: %v %s", e.bridge, err, out)
		}
	}
	removeNAT(t, e)
	dirs := cgroupDirsBelow(e.cgroupParent)
	dirs = append(dirs, cgroupParentDirs(e.cgroupParent)...)
	for _, d := range dirs {
		for i := 0; i < 20; i++ {
			if err := syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// assertNothingCreated: no file, mount, bridge, cgroup dir or process exists for the env (empty
// directories are tolerated).
func assertNothingCreated(t testing.TB, e *env) {
	t.Helper()
	for _, d := range []string{e.stateDir, e.rootDir, e.logDir} {
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if !de.IsDir() {
				t.Errorf("created %s", p)
			}
			return nil
		})
	}
	if linkExists(e.bridge) {
		t.Errorf("bridge %s was created", e.bridge)
	}
	for _, d := range cgroupParentDirs(e.cgroupParent) {
		t.Errorf("cgroup dir created: %s", d)
	}
	for _, l := range mountLinesUnder(e.dir) {
		t.Errorf("mount created: %s", l)
	}
	for _, p := range e.processes() {
		t.Errorf("process left: %d %s", p.pid, p.cmdline)
	}
}
