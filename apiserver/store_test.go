package apiserver

import (
	"context"
	"log/slog"
	"net/url"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

func testStore(t *testing.T) *store {
	t.Helper()
	cfg := state.DefaultConfig()
	cfg.StateDir = t.TempDir()
	clock, err := state.OpenRVClock(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	return newStore(context.Background(), cfg, clock, slog.Default(), "node")
}

func pod(name, uid string, phase api.PodPhase) *api.Pod {
	return &api.Pod{Metadata: api.ObjectMeta{Name: name, Namespace: "default", UID: uid}, Status: api.PodStatus{Phase: phase}}
}

// A change that arrives with an older version than the one before it (another pod's monitor
// wrote later but was heard first) is served with a version above it: a watch from any
// version served gets every change after it.
func TestStoreOrdersChanges(t *testing.T) {
	s := testStore(t)
	s.mu.Lock()
	a, b := s.entryLocked("default", "a"), s.entryLocked("default", "b")
	base := s.current
	s.setPodLocked(a, pod("a", "ua", api.PodPending), base+100)
	s.setPodLocked(b, pod("b", "ub", api.PodPending), base+50) // written earlier, heard later
	s.setPodLocked(a, pod("a", "ua", api.PodRunning), base+200)
	s.mu.Unlock()
	all, rv := s.list("")
	if len(all) != 2 || rv != base+200 {
		t.Fatalf("list: %d pods at %d", len(all), rv)
	}
	if got := all[1].Metadata.ResourceVersion; got != state.FormatRV(base+101) {
		t.Errorf("b served at %s, want %d", got, base+101)
	}
	past, sub, _, ok := s.subscribe(base+100, nil)
	if !ok || len(past) != 2 || past[0].pod.Metadata.Name != "b" || past[1].pod.Status.Phase != api.PodRunning {
		t.Fatalf("changes after a's first version: %+v", past)
	}
	s.unsubscribe(sub)
	// Before the start: unknown, 410.
	if _, _, _, ok := s.subscribe(base-1, nil); ok {
		t.Errorf("a version before the start was served")
	}
	// A pod of the same name with another uid: the old one is deleted first.
	s.mu.Lock()
	s.setPodLocked(a, pod("a", "ua2", api.PodPending), 0)
	s.mu.Unlock()
	past, sub, _, _ = s.subscribe(base+200, nil)
	s.unsubscribe(sub)
	if len(past) != 2 || past[0].typ != evDeleted || past[0].pod.Metadata.UID != "ua" || past[1].typ != evAdded {
		t.Errorf("replaced pod: %+v", past)
	}
}

// The log keeps logSize changes; a watch from a version it dropped is 410.
func TestStoreCompaction(t *testing.T) {
	s := testStore(t)
	s.mu.Lock()
	e := s.entryLocked("default", "a")
	first := s.current
	for i := range logSize + 10 {
		s.setPodLocked(e, pod("a", "u", api.PodRunning), first+uint64(i)+1)
	}
	s.mu.Unlock()
	if _, _, _, ok := s.subscribe(first+1, nil); ok {
		t.Errorf("a compacted version was served")
	}
	past, sub, _, ok := s.subscribe(s.current-5, nil)
	s.unsubscribe(sub)
	if !ok || len(past) != 5 {
		t.Errorf("recent version: ok %v, %d changes", ok, len(past))
	}
}

// A subscriber that falls behind is dropped (its channel closed), not waited for.
func TestStoreSlowSubscriber(t *testing.T) {
	s := testStore(t)
	_, sub, _, _ := s.subscribe(0, nil)
	s.mu.Lock()
	e := s.entryLocked("default", "a")
	for range subscriberBuffer + 1 {
		s.setPodLocked(e, pod("a", "u", api.PodRunning), 0)
	}
	s.mu.Unlock()
	n := 0
	for range sub.ch {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("%d changes before the close", n)
	}
	s.unsubscribe(sub)
}

func TestCheckListRV(t *testing.T) {
	for _, c := range []struct {
		q    string
		code int32
	}{
		{"", 0},
		{"resourceVersion=0", 0},
		{"resourceVersion=100", 0},
		{"resourceVersion=101", 504},
		{"resourceVersion=100&resourceVersionMatch=Exact", 0},
		{"resourceVersion=99&resourceVersionMatch=Exact", 410},
		{"resourceVersionMatch=NotOlderThan", 400},
		{"resourceVersion=x", 400},
		{"resourceVersion=1&resourceVersionMatch=Newest", 400},
	} {
		q, _ := url.ParseQuery(c.q)
		err := checkListRV(q, 100)
		var code int32
		if err != nil {
			code = err.(*statusError).s.Code
		}
		if code != c.code {
			t.Errorf("%q: code %d, want %d (%v)", c.q, code, c.code, err)
		}
	}
}

func TestErrInvalid(t *testing.T) {
	err := errInvalid("Pod", "web", []api.FieldError{
		{Field: "spec.containers[1].name", Detail: `Duplicate value: "web"`},
		{Field: "metadata.name", Detail: "Required value: name or generateName is required"},
	}).(*statusError)
	want := `Pod "web" is invalid: [spec.containers[1].name: Duplicate value: "web", metadata.name: Required value: name or generateName is required]`
	if err.s.Message != want || err.s.Code != 422 || err.s.Reason != "Invalid" {
		t.Errorf("got %d %s %q", err.s.Code, err.s.Reason, err.s.Message)
	}
	if c := err.s.Details.Causes; len(c) != 2 || c[0].Type != "FieldValueDuplicate" || c[1].Type != "FieldValueRequired" || c[0].Field != "spec.containers[1].name" {
		t.Errorf("causes: %+v", c)
	}
	one := errInvalid("Pod", "web", []api.FieldError{{Field: "spec", Detail: "Forbidden: no"}}).(*statusError)
	if one.s.Message != `Pod "web" is invalid: spec: Forbidden: no` {
		t.Errorf("one cause: %q", one.s.Message)
	}
}

func TestLogAttempt(t *testing.T) {
	term := &api.ContainerStateTerminated{ExitCode: 1}
	for _, c := range []struct {
		name     string
		cs       *api.ContainerStatus
		previous bool
		want     int32
		err      string
	}{
		{"no status", nil, false, 0, `container "c" in pod "p" is waiting to start: ContainerCreating`},
		{"pulling", &api.ContainerStatus{State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "ErrImagePull"}}}, false, 0, `container "c" in pod "p" is waiting to start: ErrImagePull`},
		{"running", &api.ContainerStatus{RestartCount: 2, State: api.ContainerState{Running: &api.ContainerStateRunning{}}}, false, 2, ""},
		{"previous", &api.ContainerStatus{RestartCount: 2, State: api.ContainerState{Running: &api.ContainerStateRunning{}}}, true, 1, ""},
		{"no previous", &api.ContainerStatus{State: api.ContainerState{Running: &api.ContainerStateRunning{}}}, true, 0, `previous terminated container "c" in pod "p" not found`},
		{"backing off", &api.ContainerStatus{RestartCount: 1, State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, LastState: api.ContainerState{Terminated: term}}, false, 1, ""},
	} {
		n, err := logAttempt(c.cs, "p", "c", c.previous)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if n != c.want || msg != c.err {
			t.Errorf("%s: %d %q, want %d %q", c.name, n, msg, c.want, c.err)
		}
	}
}
