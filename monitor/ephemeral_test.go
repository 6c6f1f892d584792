package monitor

import (
	"errors"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/ocispec"
)

// An ephemeral container is never restarted, whatever the pod's policy and its exit.
func TestEphemeralNeverRestarts(t *testing.T) {
	for _, policy := range []api.RestartPolicy{api.RestartPolicyAlways, api.RestartPolicyOnFailure, api.RestartPolicyNever} {
		for _, code := range []int32{0, 1, 137} {
			m := &monitor{}
			m.pod.Spec.RestartPolicy = policy
			if (&worker{m: m, kind: ephemeral}).shouldRestart(code) {
				t.Errorf("restartPolicy %s, exit %d: an ephemeral container restarts", policy, code)
			}
		}
	}
}

// Ephemeral statuses are sorted by name, never ready, without started.
func TestEphemeralStatuses(t *testing.T) {
	m := &monitor{}
	for _, n := range []string{"zed", "abe"} {
		started := true
		w := &worker{m: m, kind: ephemeral, c: &api.Container{Name: n}}
		w.status = api.ContainerStatus{Name: n, Ready: true, Started: &started,
			State: api.ContainerState{Running: &api.ContainerStateRunning{}}}
		m.eph.workers = append(m.eph.workers, w)
	}
	st := m.ephemeralStatusesLocked()
	if len(st) != 2 || st[0].Name != "abe" || st[1].Name != "zed" {
		t.Fatalf("statuses %+v", st)
	}
	for _, cs := range st {
		if cs.Ready || cs.Started != nil || cs.State.Running == nil {
			t.Errorf("status %+v: want running, not ready, no started", cs)
		}
	}
	if *m.eph.workers[0].status.Started != true {
		t.Error("the worker's own status was changed")
	}
	if (&monitor{}).ephemeralStatusesLocked() != nil {
		t.Error("a pod without ephemeral containers has ephemeralContainerStatuses")
	}
}

// The target's PID namespace, or the kubelet's and containerd's errors when there is none to
// join; the pod's own PID mode wins over a target.
func TestTargetPIDNS(t *testing.T) {
	yes := true
	tests := []struct {
		name    string
		host    api.PodHostSpec
		target  string
		started bool // the target had an instance (it has none running in this test)
		want    string
		reason  string
	}{
		{name: "no target", want: ""},
		{name: "shared PID namespace: the pod's", host: api.PodHostSpec{ShareProcessNamespace: &yes}, target: "app"},
		{name: "hostPID: the host's", host: api.PodHostSpec{HostPID: true}, target: "app"},
		{name: "target never created", target: "app", reason: ocispec.ReasonCreateContainerConfigError, want: "unable to find target container app"},
		{name: "unknown target", target: "nope", reason: ocispec.ReasonCreateContainerConfigError, want: "unable to find target container nope"},
		{name: "target exited", target: "app", started: true, reason: ocispec.ReasonCreateContainerError,
			want: `invalid target container: container "u-app-0" is not running - in state CONTAINER_EXITED`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &monitor{}
			m.pod.Spec.PodHostSpec = tt.host
			app := &worker{m: m, kind: regular, c: &api.Container{Name: "app"}}
			if tt.started {
				app.status.ContainerID = "minipod://u-app-0"
			}
			m.regulars = []*worker{app}
			w := &worker{m: m, kind: ephemeral, c: &api.Container{Name: "d"}, target: tt.target}
			ns, err := w.targetPIDNS()
			if tt.reason == "" {
				if err != nil || ns != "" {
					t.Fatalf("got %q, %v; want none", ns, err)
				}
				return
			}
			var ce *ocispec.CreateError
			if !errors.As(err, &ce) || ce.Reason != tt.reason || ce.Message != tt.want {
				t.Fatalf("error %v, want %s: %s", err, tt.reason, tt.want)
			}
		})
	}
}
