package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/state"
)

func cstatus(restarts int32, state, last api.ContainerState) *api.ContainerStatus {
	return &api.ContainerStatus{Name: "c", RestartCount: restarts, State: state, LastState: last}
}

var (
	stRunning    = api.ContainerState{Running: &api.ContainerStateRunning{}}
	stWaiting    = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "ContainerCreating"}}
	stBackOff    = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	stTerminated = api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 1}}
	stNone       = api.ContainerState{}
)

func TestLogAttempt(t *testing.T) {
	tests := []struct {
		name     string
		cs       *api.ContainerStatus
		previous bool
		want     int32
		wantErr  string
	}{
		{name: "no status yet", cs: nil, wantErr: `container "c" in pod "p" is waiting to start: ContainerCreating`},
		{name: "creating", cs: cstatus(0, stWaiting, stNone), wantErr: "is waiting to start: ContainerCreating"},
		{name: "image pull", cs: cstatus(0, api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "ImagePullBackOff"}}, stNone), wantErr: "is waiting to start: ImagePullBackOff"},
		{name: "running", cs: cstatus(0, stRunning, stNone), want: 0},
		{name: "running again", cs: cstatus(3, stRunning, stTerminated), want: 3},
		{name: "crash loop: the last instance", cs: cstatus(2, stBackOff, stTerminated), want: 2},
		{name: "terminated", cs: cstatus(1, stTerminated, stTerminated), want: 1},
		{name: "previous", cs: cstatus(3, stRunning, stTerminated), previous: true, want: 2},
		{name: "no previous", cs: cstatus(0, stRunning, stNone), previous: true, wantErr: `previous terminated container "c" in pod "p" not found`},
		{name: "previous while creating", cs: nil, previous: true, wantErr: "waiting to start"},
	}
	for _, tt := range tests {
		got, err := logAttempt(tt.cs, "p", "c", tt.previous)
		if tt.wantErr != "" {
			var br *badRequestError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &br) {
				t.Errorf("%s: err = %v, want a BadRequest containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: logAttempt = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestAttemptState(t *testing.T) {
	tests := []struct {
		name          string
		cs            *api.ContainerStatus
		n             int32
		created, over bool
	}{
		{"no status", nil, 0, false, false},
		{"creating", cstatus(0, stWaiting, stNone), 0, false, false},
		{"running", cstatus(0, stRunning, stNone), 0, true, false},
		{"exited", cstatus(0, stTerminated, stNone), 0, true, true},
		{"backing off after it", cstatus(0, stBackOff, stTerminated), 0, true, true},
		{"restarting after it", cstatus(2, stWaiting, stTerminated), 2, true, true},
		{"the next not created yet", cstatus(2, stBackOff, stTerminated), 3, false, false},
		{"the next running", cstatus(3, stRunning, stTerminated), 3, true, false},
		{"an earlier one", cstatus(3, stRunning, stTerminated), 1, true, true},
	}
	for _, tt := range tests {
		created, over := attemptState(tt.cs, tt.n)
		if created != tt.created || over != tt.over {
			t.Errorf("%s: attemptState(%d) = %v %v, want %v %v", tt.name, tt.n, created, over, tt.created, tt.over)
		}
	}
}

func TestWillRestart(t *testing.T) {
	always := api.ContainerRestartPolicyAlways
	exited := func(code int32) api.ContainerState {
		return api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: code}}
	}
	pod := func(policy api.RestartPolicy, name string, state api.ContainerState) *api.Pod {
		p := &api.Pod{
			Spec: api.PodSpec{
				RestartPolicy:  policy,
				InitContainers: []api.Container{{Name: "init"}, {Name: "side", RestartPolicy: &always}},
				Containers:     []api.Container{{Name: "c"}},
			},
			Status: api.PodStatus{Phase: api.PodRunning},
		}
		cs := api.ContainerStatus{Name: name, State: state}
		if name == "c" {
			p.Status.ContainerStatuses = []api.ContainerStatus{cs}
		} else {
			p.Status.InitContainerStatuses = []api.ContainerStatus{cs}
		}
		return p
	}
	tests := []struct {
		name string
		p    *api.Pod
		c    string
		want bool
	}{
		{"running", pod(api.RestartPolicyNever, "c", stRunning), "c", true},
		{"backing off", pod(api.RestartPolicyAlways, "c", stBackOff), "c", true},
		{"default policy is Always", pod("", "c", exited(0)), "c", true},
		{"Never", pod(api.RestartPolicyNever, "c", exited(1)), "c", false},
		{"OnFailure, failed", pod(api.RestartPolicyOnFailure, "c", exited(1)), "c", true},
		{"OnFailure, succeeded", pod(api.RestartPolicyOnFailure, "c", exited(0)), "c", false},
		{"init container, Always pod, failed", pod(api.RestartPolicyAlways, "init", exited(2)), "init", true},
		{"init container, Always pod, done", pod(api.RestartPolicyAlways, "init", exited(0)), "init", false},
		{"init container, Never pod", pod(api.RestartPolicyNever, "init", exited(2)), "init", false},
		{"sidecar, Never pod", pod(api.RestartPolicyNever, "side", exited(0)), "side", true},
	}
	for _, tt := range tests {
		if got := willRestart(tt.p, tt.c); got != tt.want {
			t.Errorf("%s: willRestart = %v, want %v", tt.name, got, tt.want)
		}
	}
	p := pod(api.RestartPolicyAlways, "c", exited(1))
	p.Metadata.DeletionTimestamp = &api.Time{Time: time.Now()}
	if willRestart(p, "c") {
		t.Error("a pod being deleted restarts nothing")
	}
	p = pod(api.RestartPolicyAlways, "c", exited(1))
	p.Status.Phase = api.PodFailed
	if willRestart(p, "c") {
		t.Error("an ended pod restarts nothing")
	}
}

func TestLogsCutoff(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		o        logsOptions
		sinceSet bool
		want     time.Time
		wantErr  string
	}{
		{o: logsOptions{tail: -1}},
		{o: logsOptions{tail: 10, since: time.Minute}, sinceSet: true, want: now.Add(-time.Minute)},
		{o: logsOptions{tail: -1, sinceTime: "2026-01-01T11:00:00Z"}, want: now.Add(-time.Hour)},
		{o: logsOptions{tail: -2}, wantErr: "--tail"},
		{o: logsOptions{tail: -1, since: 0}, sinceSet: true, wantErr: "--since: must be greater than 0"},
		{o: logsOptions{tail: -1, since: time.Second, sinceTime: "2026-01-01T11:00:00Z"}, sinceSet: true, wantErr: "--since, --since-time"},
		{o: logsOptions{tail: -1, sinceTime: "yesterday"}, wantErr: "--since-time"},
		{o: logsOptions{tail: -1, allContainers: true, container: "a"}, wantErr: "--all-containers"},
	}
	for _, tt := range tests {
		got, err := tt.o.cutoff(tt.sinceSet, now)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("cutoff(%+v) = %v, want %q", tt.o, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("cutoff(%+v) = %v, %v; want %v", tt.o, got, err, tt.want)
		}
	}
}

// followContainerLog against a monitor's watch stream: every line of an instance whose log
// rotates, then the next instance of a container that is restarted, until it stops for good;
// and an error when the monitor dies.
func TestFollowContainerLog(t *testing.T) {
	for _, died := range []bool{false, true} {
		cfg, _ := testConfig(t)
		base := endedPod("web")
		base.Spec.RestartPolicy = api.RestartPolicyAlways
		base.Spec.Containers = base.Spec.Containers[:1]
		status := func(mod func(*api.Pod, *api.ContainerStatus)) *api.Pod {
			p := *base
			p.Status.Phase = api.PodRunning
			cs := api.ContainerStatus{Name: "main"}
			mod(&p, &cs)
			p.Status.ContainerStatuses = []api.ContainerStatus{cs}
			return &p
		}
		running := func(n int32) *api.Pod {
			return status(func(_ *api.Pod, cs *api.ContainerStatus) {
				cs.RestartCount, cs.State = n, stRunning
			})
		}
		exited := func(n int32, deleting bool) *api.Pod {
			return status(func(p *api.Pod, cs *api.ContainerStatus) {
				cs.RestartCount, cs.State = n, stTerminated
				if deleting {
					p.Metadata.DeletionTimestamp = &api.Time{Time: time.Now()}
				}
			})
		}
		dir := fakePod(t, cfg, running(0), nil, nil)
		rec, err := state.ReadRecord(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := startFakeMonitor(t, dir)
		m.push(running(0))
		write := func(n int32, from, to int) {
			path := rec.LogFile("main", n)
			os.MkdirAll(filepath.Dir(path), 0o755)
			f, err := crilog.OpenFile(path, 1024, 40) // enough files that a follower slowed by a loaded machine loses none
			if err != nil {
				t.Fatal(err)
			}
			w := crilog.NewWriter(f, crilog.Stdout, nil)
			for i := from; i <= to; i++ {
				fmt.Fprintf(w, "attempt %d line %d\n", n, i)
				if i%20 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			f.Close()
		}
		write(0, 1, 5) // before the follower: --tail=2 shows 4 and 5
		var mu sync.Mutex
		var got []string
		done := make(chan error, 1)
		go func() {
			done <- followContainerLog(context.Background(), dir, rec, "web", "main", 2, func(r crilog.Record) error {
				mu.Lock()
				got = append(got, string(r.Content))
				mu.Unlock()
				return nil
			})
		}()
		waitLines := func(n int) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for {
				mu.Lock()
				l := len(got)
				mu.Unlock()
				if l >= n {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("followed %d lines, want %d", l, n)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		waitLines(2)
		write(0, 6, 300) // several rotations of 1 KiB
		m.push(exited(0, false))
		waitLines(2 + 295)
		if died {
			m.exit(false)
		} else {
			write(1, 1, 3)
			m.push(running(1))
			waitLines(2 + 295 + 3)
			m.push(exited(1, true))
		}
		select {
		case err := <-done:
			if died != (err != nil && strings.Contains(err.Error(), "monitor of pod web exited unexpectedly")) {
				t.Errorf("died=%v: followContainerLog = %v", died, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("died=%v: followContainerLog did not end", died)
		}
		var want []string
		for i := 4; i <= 300; i++ {
			want = append(want, fmt.Sprintf("attempt 0 line %d", i))
		}
		if !died {
			want = append(want, "attempt 1 line 1", "attempt 1 line 2", "attempt 1 line 3")
		}
		mu.Lock()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("died=%v: followed %d lines, want %d in order:\n%s", died, len(got), len(want), strings.Join(got, "\n"))
		}
		mu.Unlock()
		if !died {
			m.exit(true)
		}
	}
}
