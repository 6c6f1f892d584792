//go:build integration

package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/minipod/minipod/apiserver"
)

func apiPod(name string, policy corev1.RestartPolicy, script string) *corev1.Pod {
	zero := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"test": "daemon"}},
		Spec: corev1.PodSpec{RestartPolicy: policy, TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "c", Image: rootfsImage(), Command: []string{"sh", "-c", script}}}},
	}
}

// TestDaemonWatchPhases: a client-go watch from the version a create returned sees every
// phase of the pod in order, each change with a higher resourceVersion, then its deletion; a
// second watch from the same version replays the same changes; a version older than the
// daemon's start is 410 Gone.
func TestDaemonWatchPhases(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(t)
	cs := d.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pods := cs.CoreV1().Pods("default")
	created, err := pods.Create(ctx, apiPod("phases", corev1.RestartPolicyNever, "sleep 1; exit 0"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status.Phase != corev1.PodPending || created.UID == "" || created.ResourceVersion == "" {
		t.Fatalf("created: phase %q uid %q rv %q", created.Status.Phase, created.UID, created.ResourceVersion)
	}
	collect := func() ([]string, []watch.EventType) {
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=phases", ResourceVersion: created.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var phases []string
		var types []watch.EventType
		var lastRV uint64
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("watch event %s: %#v", ev.Type, ev.Object)
			}
			rv, _ := strconv.ParseUint(p.ResourceVersion, 10, 64)
			if rv <= lastRV {
				t.Errorf("resourceVersion %d after %d", rv, lastRV)
			}
			lastRV = rv
			types = append(types, ev.Type)
			if len(phases) == 0 || phases[len(phases)-1] != string(p.Status.Phase) {
				phases = append(phases, string(p.Status.Phase))
			}
			if p.Status.Phase == corev1.PodSucceeded && ev.Type == watch.Modified {
				if err := pods.Delete(ctx, "phases", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					t.Fatal(err)
				}
			}
			if ev.Type == watch.Deleted {
				break
			}
		}
		return phases, types
	}
	phases, types := collect()
	if strings.Join(phases, ",") != "Pending,Running,Succeeded" {
		t.Errorf("phases seen: %v", phases)
	}
	if types[0] != watch.Modified || types[len(types)-1] != watch.Deleted {
		t.Errorf("event types: %v", types)
	}
	// The same version again: the store still has every change since.
	phases2, _ := collect()
	if strings.Join(phases2, ",") != strings.Join(phases, ",") {
		t.Errorf("replayed phases %v, first %v", phases2, phases)
	}
	// A version from before the daemon's start cannot be served.
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	ev := <-w.ResultChan()
	w.Stop()
	if st, ok := ev.Object.(*metav1.Status); ev.Type != watch.Error || !ok || st.Code != 410 {
		t.Errorf("watch from version 1: %s %#v", ev.Type, ev.Object)
	}
}

// TestDaemonSecurity: the socket is root's (0600) and refuses a non-root peer even when its
// mode would let one connect (SO_PEERCRED); HTTPS refuses a client without a certificate and
// one whose certificate another CA signed.
// getPath makes one request over the connection c.
func getPath(t testing.TB, c net.Conn, path string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return c, nil }}}
	resp, err := hc.Get("http://localhost" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDaemonSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(t)
	fi, err := os.Stat(d.socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("socket mode %v uid %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
	}
	get := func(c net.Conn) (int, string) { return getPath(t, c, "/api") }
	c, err := net.Dial("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(c); code != 200 {
		t.Errorf("root on the socket: %d %s", code, body)
	}
	if _, err := dialAs(65534, d.socket); !errors.Is(err, unix.EACCES) {
		t.Errorf("nobody dialling the 0600 socket: %v, want EACCES", err)
	}
	// Open the way for anyone: the socket and the directories above it (traverse only).
	if err := os.Chmod(d.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	for dir := filepath.Dir(d.socket); dir != "/"; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 == 0 {
			os.Chmod(dir, fi.Mode().Perm()|0o011)
		}
	}
	c, err = dialAs(65534, d.socket)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(c); code != 403 || !strings.Contains(body, "serves root only") {
		t.Errorf("nobody on the socket: %d %s", code, body)
	}
	// Health and metrics too, as every path.
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		c, err := dialAs(65534, d.socket)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := getPath(t, c, path); code != 403 {
			t.Errorf("nobody on the socket, %s: %d %s", path, code, body)
		}
	}

	real, err := clientcmd.BuildConfigFromFlags("", d.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.NewForConfigOrDie(real).Discovery().ServerVersion(); err != nil {
		t.Fatalf("the admin kubeconfig: %v", err)
	}
	// No client certificate.
	anon := *real
	anon.TLSClientConfig.CertData, anon.TLSClientConfig.KeyData = nil, nil
	if _, err := kubernetes.NewForConfigOrDie(&anon).Discovery().ServerVersion(); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("no client certificate: %v", err)
	}
	// A client certificate of another CA.
	other, err := apiserver.EnsurePKI(filepath.Join(e.dir, "other-pki"))
	if err != nil {
		t.Fatal(err)
	}
	otherKC := filepath.Join(e.dir, "other.kubeconfig")
	if err := other.WriteAdminKubeconfig(otherKC, real.Host); err != nil {
		t.Fatal(err)
	}
	foreign, err := clientcmd.BuildConfigFromFlags("", otherKC)
	if err != nil {
		t.Fatal(err)
	}
	foreign.TLSClientConfig.CAData = real.TLSClientConfig.CAData
	if _, err := kubernetes.NewForConfigOrDie(foreign).Discovery().ServerVersion(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a certificate of another CA: %v", err)
	}
	// Plain TLS without any certificate at all fails the handshake too.
	conn, err := tls.Dial("tcp", d.https, &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, "GET /api HTTP/1.1\r\nHost: x\r\n\r\n")
		_, err = conn.Read(make([]byte, 100))
		conn.Close()
	}
	if err == nil {
		t.Errorf("a TLS client without a certificate was answered")
	}
}

// dialAs connects to a unix socket with the credentials of uid on this thread only (the raw
// setresuid changes the calling thread, unlike syscall.Setuid), then takes them back.
func dialAs(uid int, path string) (net.Conn, error) {
	runtime.LockOSThread()
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(uid), uintptr(uid), 0); errno != 0 {
		runtime.UnlockOSThread()
		return nil, errno
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), 0); errno != 0 {
		unix.RawSyscall(unix.SYS_SETRESGID, 0, 0, 0)
		runtime.UnlockOSThread()
		return nil, errno
	}
	c, err := net.Dial("unix", path)
	_, _, e1 := unix.RawSyscall(unix.SYS_SETRESUID, 0, 0, 0)
	_, _, e2 := unix.RawSyscall(unix.SYS_SETRESGID, 0, 0, 0)
	if e1 == 0 && e2 == 0 {
		runtime.UnlockOSThread()
	} // else this thread ends with the goroutine
	var oe *net.OpError
	if errors.As(err, &oe) {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			return nil, se.Err
		}
	}
	return c, err
}

// TestDaemonMonitorKilled: a pod whose monitor is killed is Unknown in the API, and deleting
// it through the API releases everything (the env's leak check).
func TestDaemonMonitorKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(t)
	writeFile(t, pathIn(e.dir, "p.yaml"), fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: orphan}
spec:
  containers:
  - {name: c, image: %s, command: ["sleep", "3600"]}
`, rootfsImage()))
	d.mustKubectl(t, "apply", "-f", pathIn(e.dir, "p.yaml"))
	d.mustKubectl(t, "wait", "--for=condition=Ready", "pod/orphan", "--timeout=60s")
	b, err := os.ReadFile(filepath.Join(e.podDir("default", "orphan"), "monitor.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for podPhase(t, d, "orphan") != "Unknown" {
		if time.Now().After(deadline) {
			t.Fatalf("the pod never became Unknown: %s", d.mustKubectl(t, "get", "pod", "orphan", "-o", "yaml"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := d.mustKubectl(t, "get", "pods"); !strings.Contains(out, "Unknown") {
		t.Errorf("get pods:\n%s", out)
	}
	d.mustKubectl(t, "delete", "pod", "orphan", "--grace-period=0", "--force")
	assertNoDir(t, e.podDir("default", "orphan"))
	// The env's clean-up checks that nothing of the pod is left, once the daemon stopped.
}

// TestDaemonCrashSafety: 20 loops create and delete pods through the API while the daemon is
// killed with SIGKILL at random moments, 10 times. After each restart every pod whose create
// was acknowledged and not deleted exists; at the end every pod whose delete was acknowledged
// is gone and stays gone, a pod that ran through the crashes has its exit code and every log
// line, and an informer that watched throughout agrees with a fresh list.
func TestDaemonCrashSafety(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(t)
	cs := d.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pods := cs.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, apiPod("finisher", corev1.RestartPolicyNever, "for i in $(seq 1 60); do echo line $i; sleep 0.1; done; exit 3"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// An informer across the crashes.
	inf := cache.NewSharedIndexInformer(cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "pods", "default", fields.Everything()), &corev1.Pod{}, 0, cache.Indexers{})
	go inf.Run(ctx.Done())

	var mu sync.Mutex
	acked := map[string]bool{}    // create acknowledged
	deleting := map[string]bool{} // delete sent (it may have happened, acknowledged or not)
	deleted := map[string]bool{}  // delete acknowledged
	retry := func(f func() error) error {
		for {
			err := f()
			if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || ctx.Err() != nil {
				return err
			}
			if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
				return err
			}
			time.Sleep(50 * time.Millisecond) // the daemon is down: try again
		}
	}
	stop := make(chan struct{})
	var loops sync.WaitGroup
	for i := range 20 {
		loops.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("l%d-%d", i, j)
				err := retry(func() error {
					_, err := pods.Create(ctx, apiPod(name, corev1.RestartPolicyAlways, "sleep 3600"), metav1.CreateOptions{})
					return err
				})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					t.Errorf("create %s: %v", name, err)
					return
				}
				mu.Lock()
				acked[name] = true
				mu.Unlock()
				time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
				mu.Lock()
				deleting[name] = true
				mu.Unlock()
				zero := int64(0)
				err = retry(func() error { return pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}) })
				if err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("delete %s: %v", name, err)
					return
				}
				mu.Lock()
				deleted[name] = true
				mu.Unlock()
			}
		})
	}
	for round := range 10 {
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		mu.Lock()
		var live []string
		for n := range acked {
			if !deleting[n] {
				live = append(live, n)
			}
		}
		mu.Unlock()
		d.kill9()
		d.start(t)
		for _, n := range live {
			_, err := pods.Get(ctx, n, metav1.GetOptions{})
			mu.Lock()
			gone := deleting[n]
			mu.Unlock()
			if err != nil && !gone {
				t.Errorf("round %d: acknowledged pod %s: %v", round, n, err)
			}
		}
	}
	close(stop)
	loops.Wait()
	t.Logf("%d pods created, %d deleted", len(acked), len(deleted))

	// Every deleted pod goes, and none comes back after one more restart.
	waitGone := func() {
		deadline := time.Now().Add(60 * time.Second)
		for n := range deleted {
			for {
				_, err := pods.Get(ctx, n, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("deleted pod %s is still there: %v", n, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	waitGone()
	d.kill9()
	d.start(t)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
		if deleted[p.Name] {
			t.Errorf("deleted pod %s came back", p.Name)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "finisher" {
		t.Errorf("pods left: %v", names)
	}

	// The pod that ran through it all: its exit code and every line.
	deadline := time.Now().Add(60 * time.Second)
	var fin *corev1.Pod
	for {
		fin, err = pods.Get(ctx, "finisher", metav1.GetOptions{})
		if err == nil && fin.Status.Phase == corev1.PodFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("finisher: %v %v", err, fin)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := fin.Status.ContainerStatuses[0].State.Terminated; st == nil || st.ExitCode != 3 {
		t.Errorf("finisher's exit: %+v", fin.Status.ContainerStatuses[0].State)
	}
	logs, err := pods.GetLogs("finisher", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if string(logs) != want.String() {
		t.Errorf("finisher's log:\n%s", logs)
	}

	// The informer resumed its watch after every crash: it converges on the list.
	deadline = time.Now().Add(60 * time.Second)
	for {
		keys := inf.GetStore().ListKeys()
		sort.Strings(keys)
		obj, _, _ := inf.GetStore().GetByKey("default/finisher")
		if strings.Join(keys, ",") == "default/finisher" && obj != nil && obj.(*corev1.Pod).Status.Phase == corev1.PodFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("informer store: %v", keys)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := pods.Delete(ctx, "finisher", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
