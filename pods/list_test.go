package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/state"
)

// fakeInstallation makes n pod directories, each with a status file like a running
// 2-container pod's and a lock file no monitor holds, as List reads them.
func fakeInstallation(tb testing.TB, n int) state.Config {
	tb.Helper()
	cfg := state.DefaultConfig()
	cfg.StateDir = tb.TempDir()
	status, err := os.ReadFile("testdata/status.json")
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		dir := cfg.PodDir("default", name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		s := strings.Replace(string(status), `"name":"p1"`, `"name":"`+name+`"`, 1)
		if err := os.WriteFile(filepath.Join(dir, state.StatusFile), []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, state.LockFile), nil, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return cfg
}

func TestListSorted(t *testing.T) {
	cfg := fakeInstallation(t, 25)
	list, err := List(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 25 {
		t.Fatalf("listed %d pods, want 25", len(list))
	}
	for i := 1; i < len(list); i++ {
		if a, b := list[i-1].Metadata.Name, list[i].Metadata.Name; a >= b {
			t.Fatalf("not sorted: %s before %s", a, b)
		}
	}
}

// BenchmarkList1000: what `get pods` spends reading 1,000 pods.
func BenchmarkList1000(b *testing.B) {
	cfg := fakeInstallation(b, 1000)
	b.ResetTimer()
	for range b.N {
		list, err := List(cfg)
		if err != nil || len(list) != 1000 {
			b.Fatal(len(list), err)
		}
	}
}

// BenchmarkListSummaries1000: the same as `get pods` (the table) reads them.
func BenchmarkListSummaries1000(b *testing.B) {
	cfg := fakeInstallation(b, 1000)
	b.ResetTimer()
	for range b.N {
		list, err := ListSummaries(cfg)
		if err != nil || len(list) != 1000 {
			b.Fatal(len(list), err)
		}
	}
}

// What `get pods` shows of a pod is the same whether it was read whole or as a summary:
// kubeprint.Pod reads nothing of the spec that ListSummaries leaves out.
func TestListSummariesShowTheSameRows(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.StateDir = t.TempDir()
	always := api.ContainerRestartPolicyAlways
	now := time.Now()
	ago := func(d time.Duration) *api.Time { t := api.NewTime(now.Add(-d)); return &t }
	started := true
	pods := []api.Pod{
		{Spec: api.PodSpec{Containers: []api.Container{{Name: "a", Image: "x", Command: []string{"sleep"}}, {Name: "b"}}},
			Status: api.PodStatus{Phase: api.PodRunning, PodIP: "10.0.0.2", ContainerStatuses: []api.ContainerStatus{
				{Name: "a", Ready: true, State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: *ago(time.Minute)}}},
				{Name: "b", RestartCount: 3, State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastState: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 1, FinishedAt: *ago(5 * time.Second)}}},
			}}},
		{Spec: api.PodSpec{
			InitContainers: []api.Container{{Name: "init"}, {Name: "side", RestartPolicy: &always}},
			Containers:     []api.Container{{Name: "main"}}},
			Status: api.PodStatus{Phase: api.PodPending, InitContainerStatuses: []api.ContainerStatus{
				{Name: "init", State: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}},
				{Name: "side", Ready: true, Started: &started, RestartCount: 1, State: api.ContainerState{Running: &api.ContainerStateRunning{}}},
			}, ContainerStatuses: []api.ContainerStatus{{Name: "main", State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "PodInitializing"}}}}}},
		{Metadata: api.ObjectMeta{DeletionTimestamp: ago(0)}, Spec: api.PodSpec{InitContainers: []api.Container{{Name: "i"}}, Containers: []api.Container{{Name: "c"}}},
			Status: api.PodStatus{Phase: api.PodPending, InitContainerStatuses: []api.ContainerStatus{
				{Name: "i", State: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}}}}},
		{Spec: api.PodSpec{Containers: []api.Container{{Name: "c"}}},
			Status: api.PodStatus{Phase: api.PodSucceeded, Reason: "", ContainerStatuses: []api.ContainerStatus{
				{Name: "c", State: api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: "Completed"}}}}}},
	}
	for i := range pods {
		p := &pods[i]
		p.APIVersion, p.Kind = "v1", "Pod"
		p.Metadata.Name, p.Metadata.Namespace, p.Metadata.CreationTimestamp = fmt.Sprintf("p%d", i), "default", ago(time.Hour)
		dir := cfg.PodDir("default", p.Metadata.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteJSON(filepath.Join(dir, state.StatusFile), p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	full, err := List(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := ListSummaries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != len(pods) || len(sums) != len(pods) {
		t.Fatalf("listed %d and %d pods, want %d", len(full), len(sums), len(pods))
	}
	for i := range full {
		a, b := kubeprint.Pod(full[i], now), kubeprint.Pod(sums[i], now)
		if a != b {
			t.Errorf("pod %s: whole %+v, summary %+v", full[i].Metadata.Name, a, b)
		}
	}
}
