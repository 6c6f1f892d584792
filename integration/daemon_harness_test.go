//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The daemon's tests drive minipodd with the real kubectl, built here from k8s.io/kubectl at
// the version go.mod pins (integration/kubectl), and with client-go.

// kubectlVersion is k8s.io/kubectl's version in go.mod, stamped into the binary so that
// `kubectl version` reads as a release.
const kubectlVersion = "v1.37.2"

var (
	kubectlOnce sync.Once
	kubectlBin  string
	kubectlErr  error
)

// kubectl returns the path of the kubectl binary, built once per go.mod/go.sum into a cache
// directory shared by test runs (the Go build cache makes a rebuild cheap too).
func kubectl(t testing.TB) string {
	t.Helper()
	kubectlOnce.Do(func() {
		sum := sha256.New()
		for _, f := range []string{"../go.mod", "../go.sum", "kubectl/main.go"} {
			b, err := os.ReadFile(f)
			if err != nil {
				kubectlErr = err
				return
			}
			sum.Write(b)
		}
		dir := filepath.Join(os.TempDir(), "minipod-it-kubectl")
		kubectlBin = filepath.Join(dir, "kubectl-"+hex.EncodeToString(sum.Sum(nil))[:16])
		if _, err := os.Stat(kubectlBin); err == nil {
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			kubectlErr = err
			return
		}
		tmp := kubectlBin + ".tmp" + randHex(4)
		ld := fmt.Sprintf("-X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37", kubectlVersion)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ld, "-o", tmp, "./kubectl")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			kubectlErr = fmt.Errorf("building kubectl: %v\n%s", err, out.String())
			return
		}
		fmt.Fprintf(os.Stderr, "built kubectl in %v\n", time.Since(start).Round(time.Millisecond))
		kubectlErr = os.Rename(tmp, kubectlBin)
	})
	if kubectlErr != nil {
		t.Fatal(kubectlErr)
	}
	return kubectlBin
}

// daemon is a minipodd serving an env, started with `minipod daemon`.
type daemon struct {
	e          *env
	socket     string
	kubeconfig string
	pki        string
	logPath    string
	https      string // host:port, kept across restarts so that clients find it again

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
}

// startDaemon starts the daemon for the env; it is stopped when the test ends (before the
// env's clean-up, which deletes the pods and checks for leaks).
func (e *env) startDaemon(t testing.TB) *daemon {
	t.Helper()
	d := &daemon{
		e:          e,
		socket:     filepath.Join(e.dir, "minipod.sock"),
		kubeconfig: filepath.Join(e.dir, "admin.kubeconfig"),
		pki:        filepath.Join(e.dir, "pki"),
		logPath:    filepath.Join(e.dir, "daemon.log"),
	}
	d.https = daemonAddress(t)
	kubectl(t) // built before the daemon starts: the first build takes minutes
	d.start(t)
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(d.logPath)
			t.Logf("daemon log:\n%s", tail(string(b), 6000))
		}
	})
	return d
}

// daemonAddress picks a free loopback address below the kernel's ephemeral port range, so that
// while the daemon is down (the crash test kills it) no outgoing connection, and no client
// connecting to the port itself (a TCP self-connect), takes its port before it restarts.
func daemonAddress(t testing.TB) string {
	t.Helper()
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &lo)
	}
	if lo <= 10000 {
		t.Fatalf("the ephemeral port range starts at %d: no port below it to use", lo)
	}
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 10000+rand.IntN(lo-10000))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

func (d *daemon) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := append([]string{"daemon"}, d.e.globalFlags()...)
	args = append(args, "--socket="+d.socket, "--https-address="+d.https, "--pki-dir="+d.pki,
		"--kubeconfig="+d.kubeconfig, "--manifest-dir="+d.manifests(), "--log-level=debug")
	cmd := exec.Command(binPath, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	d.mu.Lock()
	d.starts++
	want := d.starts
	d.cmd = cmd
	d.done = make(chan struct{})
	done := d.done
	d.mu.Unlock()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting minipod daemon: %v", err)
	}
	go func() {
		cmd.Wait()
		close(done)
	}()
	// Up when its log says so for the want-th time.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(d.logPath)
		if strings.Count(string(b), `msg="minipodd up"`) >= want {
			return
		}
		select {
		case <-done:
			t.Fatalf("minipod daemon exited at start:\n%s", tail(string(b), 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minipod daemon not up within 30s:\n%s", tail(string(b), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// manifests is the daemon's static pod directory (made by the test that uses it).
func (d *daemon) manifests() string { return filepath.Join(d.e.dir, "manifests") }

func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd.Process.Pid
}

// stop ends the daemon with SIGTERM (SIGKILL after 10 s).
func (d *daemon) stop(t testing.TB) {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("daemon did not stop on SIGTERM within 10s")
		cmd.Process.Kill()
		<-done
	}
}

// kill9 kills the daemon with SIGKILL and waits for it.
func (d *daemon) kill9() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	cmd.Process.Kill()
	<-done
}

// kubectl runs kubectl against the daemon (bounded by 2 minutes).
func (d *daemon) kubectl(t testing.TB, args ...string) result {
	t.Helper()
	return d.kubectlIn(t, "", args...)
}

func (d *daemon) kubectlIn(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	bin := kubectl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig=" + d.kubeconfig}, args...)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: so.String(), stderr: se.String(), dur: time.Since(start), code: exitCode(cmd, err)}
	t.Logf("kubectl %s -> exit %d in %v", strings.Join(args, " "), res.code, res.dur.Round(time.Millisecond))
	return res
}

// mustKubectl runs kubectl and fails the test unless it exits 0.
func (d *daemon) mustKubectl(t testing.TB, args ...string) string {
	t.Helper()
	res := d.kubectl(t, args...)
	if res.code != 0 {
		t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res.stdout
}

// startKubectl starts kubectl in the background, its output to files.
func (d *daemon) startKubectl(t testing.TB, args ...string) *runProc {
	t.Helper()
	r := &runProc{e: d.e, args: args, done: make(chan struct{}),
		outPath: filepath.Join(d.e.dir, fmt.Sprintf("kubectl%d.out", runCounter.Add(1))),
		errPath: filepath.Join(d.e.dir, fmt.Sprintf("kubectl%d.err", runCounter.Add(1)))}
	outF, _ := os.Create(r.outPath)
	errF, _ := os.Create(r.errPath)
	r.cmd = exec.Command(kubectl(t), append([]string{"--kubeconfig=" + d.kubeconfig}, args...)...)
	r.cmd.Stdout, r.cmd.Stderr = outF, errF
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outF.Close()
	errF.Close()
	go func() {
		err := r.cmd.Wait()
		r.code = exitCode(r.cmd, err)
		r.finished = time.Now()
		close(r.done)
	}()
	t.Cleanup(func() {
		if !r.exited() {
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// client is a client-go clientset for the daemon (HTTPS, the admin kubeconfig).
func (d *daemon) client(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", d.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// unixClient is an HTTP client of the daemon's unix socket.
func (d *daemon) unixClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", d.socket)
	}}}
}

// waitOutput waits until a background command printed s.
func waitOutput(t testing.TB, r *runProc, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(r.stdout(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%v never printed %q; stdout:\n%s\nstderr:\n%s", r.args, s, tail(r.stdout(), 3000), tail(r.stderr(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
