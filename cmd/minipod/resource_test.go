package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

func TestParseResourceArgs(t *testing.T) {
	tests := []struct {
		args      []string
		kind      resourceKind
		names     []string
		wantErr   string // substring; the error must be bad input
		getEvents bool   // allow events too
	}{
		{args: []string{"pods"}, kind: kindPods},
		{args: []string{"pod", "a", "b"}, kind: kindPods, names: []string{"a", "b"}},
		{args: []string{"po", "a"}, kind: kindPods, names: []string{"a"}},
		{args: []string{"PODS", "a"}, kind: kindPods, names: []string{"a"}},
		{args: []string{"pod/a"}, kind: kindPods, names: []string{"a"}},
		{args: []string{"pod/a", "pods/b", "po/c"}, kind: kindPods, names: []string{"a", "b", "c"}},
		{args: []string{"events"}, kind: kindEvents, getEvents: true},
		{args: []string{"ev"}, kind: kindEvents, getEvents: true},
		{args: []string{"events"}, wantErr: `unknown resource type "events" (supported: pods)`},
		{args: []string{"svc", "a"}, wantErr: `unknown resource type "svc"`},
		{args: []string{"svc/a"}, wantErr: `unknown resource type "svc"`},
		{args: []string{}, wantErr: "you must specify the type of resource"},
		{args: []string{"pod", "pod/a"}, wantErr: `argument "pod/a": there is no need to specify a resource type`},
		{args: []string{"pod/a", "b"}, wantErr: `argument "b": arguments in resource/name form`},
		{args: []string{"pod/a", "pod/"}, wantErr: `argument "": a pod name must not be empty`},
		{args: []string{"pod", "Web"}, wantErr: `argument "Web": invalid pod name`},
		{args: []string{"pod", "..etc"}, wantErr: `argument "..etc": invalid pod name`},
		{args: []string{"pod", "../etc"}, wantErr: `argument "../etc": there is no need`},
		{args: []string{"pod", "a_b"}, wantErr: `argument "a_b": invalid pod name`},
		{args: []string{"pod/x/y"}, wantErr: `invalid pod name`},
	}
	for _, tt := range tests {
		kinds := []resourceKind{kindPods}
		if tt.getEvents {
			kinds = append(kinds, kindEvents)
		}
		ra, err := parseResourceArgs("get", tt.args, kinds...)
		if tt.wantErr != "" {
			var ee *exitError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ee) || ee.code != exitBadInput {
				t.Errorf("parseResourceArgs(%q) = %v, want bad input containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || ra.kind != tt.kind || !reflect.DeepEqual(ra.names, tt.names) {
			t.Errorf("parseResourceArgs(%q) = %+v, %v; want %s %q", tt.args, ra, err, tt.kind, tt.names)
		}
	}
}

func TestParsePodArg(t *testing.T) {
	for arg, want := range map[string]string{"web": "web", "pod/web": "web", "po/web": "web", "pods/a.b-c": "a.b-c"} {
		if got, err := parsePodArg("logs", arg); err != nil || got != want {
			t.Errorf("parsePodArg(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
	for _, arg := range []string{"deploy/web", "", "pod/", "WEB", "a/b/c", "x y"} {
		if _, err := parsePodArg("logs", arg); err == nil || !strings.Contains(err.Error(), "logs: argument") {
			t.Errorf("parsePodArg(%q) = %v, want an error naming the argument", arg, err)
		}
	}
}

func TestNamespaceFlag(t *testing.T) {
	if ns, err := namespaceFlag(""); err != nil || ns != "default" {
		t.Errorf(`namespaceFlag("") = %q, %v`, ns, err)
	}
	if ns, err := namespaceFlag("kube-system"); err != nil || ns != "kube-system" {
		t.Errorf("namespaceFlag = %q, %v", ns, err)
	}
	for _, bad := range []string{"a.b", "../x", "UP", "a_b"} {
		if _, err := namespaceFlag(bad); err == nil || !strings.Contains(err.Error(), "-n") {
			t.Errorf("namespaceFlag(%q) = %v, want an error naming -n", bad, err)
		}
	}
}

func TestFindContainer(t *testing.T) {
	always := api.ContainerRestartPolicyAlways
	p := &api.Pod{Metadata: api.ObjectMeta{Name: "web"}, Spec: api.PodSpec{
		InitContainers: []api.Container{{Name: "init"}, {Name: "side", RestartPolicy: &always}},
		Containers:     []api.Container{{Name: "a"}, {Name: "b"}},
	}}
	if c, defaulted, err := findContainer(p, ""); err != nil || c.Name != "a" || !defaulted {
		t.Errorf("default container = %v %v %v, want a, defaulted", c, defaulted, err)
	}
	if c, defaulted, err := findContainer(p, "init"); err != nil || c.Name != "init" || defaulted {
		t.Errorf("init container = %v %v %v", c, defaulted, err)
	}
	p.Metadata.Annotations = map[string]string{defaultContainerAnnotation: "b"}
	if c, _, err := findContainer(p, ""); err != nil || c.Name != "b" {
		t.Errorf("annotated default = %v %v, want b", c, err)
	}
	_, _, err := findContainer(p, "nope")
	if err == nil || err.Error() != "container nope is not valid for pod web (containers: init (init), side (init), a, b)" {
		t.Errorf("missing container: %v", err)
	}
	one := &api.Pod{Spec: api.PodSpec{Containers: []api.Container{{Name: "only"}}}}
	if c, defaulted, _ := findContainer(one, ""); c.Name != "only" || defaulted {
		t.Errorf("a single container is not reported as defaulted")
	}
}

// fakePod writes the files of a pod whose monitor has ended into cfg's state dir: record,
// status, events and logs (logs maps container/instance to lines).
func fakePod(t *testing.T, cfg state.Config, p *api.Pod, events []api.Event, logs map[string][]string) string {
	t.Helper()
	if p.Metadata.Namespace == "" {
		p.Metadata.Namespace = "default"
	}
	if p.Metadata.UID == "" {
		p.Metadata.UID = state.NewUID()
	}
	// Built aside and renamed into place, as a watcher must never see it half written.
	final := cfg.PodDir(p.Metadata.Namespace, p.Metadata.Name)
	dir := filepath.Join(cfg.StateDir, "staging-"+p.Metadata.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(state.RecordFile, &state.Record{Config: cfg, Pod: *p})
	write(state.StatusFile, p)
	os.WriteFile(filepath.Join(dir, state.LockFile), nil, 0o600)
	os.WriteFile(filepath.Join(dir, state.TornDownFile), nil, 0o600)
	var ev []byte
	for _, e := range events {
		b, _ := json.Marshal(e)
		ev = append(append(ev, b...), '\n')
	}
	os.WriteFile(filepath.Join(dir, state.EventsFile), ev, 0o644)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, final); err != nil {
		t.Fatal(err)
	}
	dir = final
	rec := &state.Record{Config: cfg, Pod: *p}
	for key, lines := range logs {
		c, n, _ := strings.Cut(key, "/")
		var attempt int32
		if n == "1" {
			attempt = 1
		}
		path := rec.LogFile(c, attempt)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var b []byte
		for i, l := range lines {
			b = crilog.Record{Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Stream: crilog.Stdout, Content: []byte(l)}.Append(b)
		}
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testConfig(t *testing.T) (state.Config, []string) {
	dir := t.TempDir()
	cfg := state.DefaultConfig()
	cfg.StateDir, cfg.LogDir, cfg.Root = filepath.Join(dir, "state"), filepath.Join(dir, "log"), filepath.Join(dir, "root")
	return cfg, []string{"--state-dir=" + cfg.StateDir, "--log-dir=" + cfg.LogDir, "--root=" + cfg.Root}
}

func TestMonitorStatus(t *testing.T) {
	cfg, _ := testConfig(t)
	p := &api.Pod{Metadata: api.ObjectMeta{Name: "x"}, Spec: api.PodSpec{Containers: []api.Container{{Name: "c"}}}}
	dir := fakePod(t, cfg, p, nil, nil)
	if st := pods.MonitorStateOf(dir); st != pods.MonitorEnded {
		t.Errorf("torn down pod: %v", st)
	}
	os.Remove(filepath.Join(dir, state.TornDownFile))
	if st := pods.MonitorStateOf(dir); st != pods.MonitorEnded {
		t.Errorf("pod whose monitor never started: %v", st)
	}
	os.WriteFile(filepath.Join(dir, state.PIDFile), []byte("1\n"), 0o644)
	if st := pods.MonitorStateOf(dir); st != pods.MonitorDied {
		t.Errorf("pod whose monitor died: %v", st)
	}
	got, err := readPod(cfg, "default", "x")
	if err != nil || got.Status.Phase != api.PodUnknown {
		t.Errorf("readPod of a dead monitor's pod = %v, %v; want phase Unknown", got, err)
	}
	os.Remove(filepath.Join(dir, state.StatusFile))
	if st := pods.MonitorStateOf(dir); st != pods.MonitorStarting {
		t.Errorf("pod without status: %v", st)
	}
	if _, err := readPod(cfg, "default", "x"); !isNotFound(err) {
		t.Errorf("readPod of a pod being created = %v, want not found", err)
	}
	if st := pods.MonitorStateOf(filepath.Join(cfg.PodsDir(), "default_nope")); st != pods.PodGone {
		t.Errorf("missing pod: %v", st)
	}
}

// fakeMonitor serves a pod's watch stream the way a monitor does, holding the pod's lock
// while it runs: each watcher gets the statuses sent so far, then every new one.
type fakeMonitor struct {
	t    *testing.T
	dir  string
	l    net.Listener
	lock *os.File
	mu   sync.Mutex
	sent []*api.Pod
	subs []chan *api.Pod
}

func startFakeMonitor(t *testing.T, dir string) *fakeMonitor {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(dir, state.LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, state.TornDownFile))
	os.WriteFile(filepath.Join(dir, state.PIDFile), []byte("1\n"), 0o644)
	l, err := net.Listen("unix", filepath.Join(dir, monitorapi.SocketFile))
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMonitor{t: t, dir: dir, l: l, lock: lock}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go m.serve(c)
		}
	}()
	return m
}

func (m *fakeMonitor) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadBytes('\n'); err != nil {
		return
	}
	ch := make(chan *api.Pod, 16)
	m.mu.Lock()
	backlog := append([]*api.Pod{}, m.sent...)
	m.subs = append(m.subs, ch)
	m.mu.Unlock()
	c.Write([]byte("{}\n"))
	send := func(p *api.Pod) bool {
		b, _ := json.Marshal(monitorapi.WatchEvent{Type: "status", Pod: p})
		_, err := c.Write(append(b, '\n'))
		return err == nil
	}
	for _, p := range backlog {
		send(p)
	}
	for p := range ch {
		if !send(p) {
			return
		}
	}
}

func (m *fakeMonitor) push(p *api.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, p)
	for _, ch := range m.subs {
		ch <- p
	}
	b, _ := json.Marshal(p)
	os.WriteFile(filepath.Join(m.dir, state.StatusFile), b, 0o644)
}

// exit ends the monitor: cleanly (torn down) or as if killed.
func (m *fakeMonitor) exit(clean bool) {
	m.l.Close()
	os.Remove(filepath.Join(m.dir, monitorapi.SocketFile))
	if clean {
		os.WriteFile(filepath.Join(m.dir, state.TornDownFile), nil, 0o644)
	}
	m.mu.Lock()
	for _, ch := range m.subs {
		close(ch)
	}
	m.subs = nil
	m.mu.Unlock()
	m.lock.Close()
}

func withPhase(p *api.Pod, phase api.PodPhase) *api.Pod {
	q := *p
	q.Status.Phase = phase
	return &q
}

func TestFollowPod(t *testing.T) {
	for _, clean := range []bool{true, false} {
		cfg, _ := testConfig(t)
		p := endedPod("live")
		dir := fakePod(t, cfg, withPhase(p, api.PodPending), nil, nil)
		m := startFakeMonitor(t, dir)
		m.push(withPhase(p, api.PodRunning))
		got := make(chan api.PodPhase, 16)
		done := make(chan pods.MonitorState, 1)
		go func() {
			st, err := followPod(context.Background(), dir, func(p *api.Pod) { got <- p.Status.Phase }, nil)
			if err != nil {
				t.Error(err)
			}
			done <- st
		}()
		next := func() api.PodPhase {
			select {
			case ph := <-got:
				return ph
			case <-time.After(5 * time.Second):
				t.Fatal("no status")
				return ""
			}
		}
		if ph := next(); ph != api.PodRunning {
			t.Fatalf("first status %s, want the current one, Running", ph)
		}
		m.push(withPhase(p, api.PodSucceeded))
		if ph := next(); ph != api.PodSucceeded {
			t.Fatalf("pushed status %s, want Succeeded", ph)
		}
		m.exit(clean)
		var st pods.MonitorState
		select {
		case st = <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("followPod did not return when the monitor exited")
		}
		want, wantPhase := pods.MonitorEnded, api.PodSucceeded
		if !clean {
			want, wantPhase = pods.MonitorDied, api.PodUnknown
		}
		if st != want {
			t.Errorf("clean=%v: ended %v, want %v", clean, st, want)
		}
		if ph := next(); ph != wantPhase {
			t.Errorf("clean=%v: final status %s, want %s", clean, ph, wantPhase)
		}
	}
}

// A pod created while the set is watched is followed; one removed is reported gone; those
// the filter leaves out are not seen.
func TestWatchPodSet(t *testing.T) {
	cfg, _ := testConfig(t)
	fakePod(t, cfg, endedPod("a"), nil, nil)
	type report struct {
		id    podID
		phase api.PodPhase
		gone  bool
	}
	reports := make(chan report, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- watchPodSet(ctx, cfg, podSetHandler{
			filter: func(id podID) bool { return id.ns == "default" },
			status: func(id podID, p *api.Pod) error { reports <- report{id: id, phase: p.Status.Phase}; return nil },
			gone:   func(id podID) error { reports <- report{id: id, gone: true}; return nil },
		})
	}()
	next := func() report {
		select {
		case r := <-reports:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("nothing reported")
			return report{}
		}
	}
	if r := next(); r != (report{id: podID{"default", "a"}, phase: api.PodFailed}) {
		t.Fatalf("existing pod: %+v", r)
	}
	other := endedPod("c")
	other.Metadata.Namespace = "other"
	fakePod(t, cfg, other, nil, nil)
	fakePod(t, cfg, endedPod("b"), nil, nil)
	if r := next(); r != (report{id: podID{"default", "b"}, phase: api.PodFailed}) {
		t.Fatalf("new pod: %+v", r)
	}
	os.RemoveAll(cfg.PodDir("default", "a"))
	if r := next(); r != (report{id: podID{"default", "a"}, gone: true}) {
		t.Fatalf("removed pod: %+v", r)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("watchPodSet = %v after cancel", err)
	}
	select {
	case r := <-reports:
		t.Errorf("unexpected report %+v", r)
	default:
	}
}
