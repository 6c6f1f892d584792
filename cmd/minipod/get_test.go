package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// endedPod is a pod whose monitor has ended: two containers, a completed and a failed one.
func endedPod(name string) *api.Pod {
	created := api.NewTime(time.Now().Add(-time.Minute))
	started := tmUTC("2026-01-01T00:00:00Z")
	return &api.Pod{
		APIVersion: "v1", Kind: "Pod",
		Metadata: api.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: &created, Labels: map[string]string{"app": name}},
		Spec: api.PodSpec{RestartPolicy: api.RestartPolicyNever, Containers: []api.Container{
			{Name: "main", Image: "busybox"}, {Name: "side", Image: "busybox"},
		}},
		Status: api.PodStatus{
			Phase: api.PodFailed, PodIP: "10.66.0.9", PodIPs: []api.PodIP{{IP: "10.66.0.9"}}, HostIP: "10.66.0.1", StartTime: &started,
			Conditions: []api.PodCondition{{Type: api.PodInitialized, Status: api.ConditionTrue}, {Type: api.PodReady, Status: api.ConditionFalse}},
			ContainerStatuses: []api.ContainerStatus{
				{Name: "main", RestartCount: 1, State: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}},
					LastState: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}},
				{Name: "side", State: api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}},
			},
		},
	}
}

func tmUTC(s string) api.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return api.Time{Time: t}
}

// kubectlTestEnv is a state dir with two ended pods, web and db, web with logs and events.
func kubectlTestEnv(t *testing.T) (state.Config, []string) {
	cfg, flags := testConfig(t)
	now := time.Now()
	events := []api.Event{
		{Time: api.MicroTime{Time: now.Add(-50 * time.Second)}, Type: "Normal", Reason: "Started", Message: "Started container main", Container: "main", FieldPath: "spec.containers{main}"},
		{Time: api.MicroTime{Time: now.Add(-40 * time.Second)}, Type: "Warning", Reason: "BackOff", Message: "Back-off restarting", Container: "main", FieldPath: "spec.containers{main}"},
		{Time: api.MicroTime{Time: now.Add(-30 * time.Second)}, Type: "Warning", Reason: "BackOff", Message: "Back-off restarting", Container: "main", FieldPath: "spec.containers{main}"},
	}
	fakePod(t, cfg, endedPod("web"), events, map[string][]string{
		"main/0": {"first run"},
		"main/1": {"one", "two", "three"},
		"side/0": {"side says"},
	})
	db := endedPod("db")
	db.Metadata.Namespace = "data"
	fakePod(t, cfg, db, nil, nil)
	return cfg, flags
}

func TestKubectlCommands(t *testing.T) {
	_, flags := kubectlTestEnv(t)
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout []string // substrings
		wantStderr []string
		noStdout   []string
	}{
		// get
		{name: "get pods", args: []string{"get", "pods"}, wantStdout: []string{"NAME   READY   STATUS      RESTARTS", "web    0/2     Completed   1 ", "10.66.0.9\n"}, noStdout: []string{"db"}},
		{name: "get pod by name", args: []string{"get", "pod", "web"}, wantStdout: []string{"web "}},
		{name: "get pod/name", args: []string{"get", "pod/web"}, wantStdout: []string{"web "}},
		{name: "get po in another namespace", args: []string{"get", "po", "db", "-n", "data"}, wantStdout: []string{"db "}},
		{name: "get -A", args: []string{"get", "pods", "-A"}, wantStdout: []string{"NAMESPACE   NAME", "data        db", "default     web"}},
		{name: "get wide", args: []string{"get", "pods", "-o", "wide"}, wantStdout: []string{"IP          NODE", "NOMINATED NODE   READINESS GATES", "<none>           <none>\n"}},
		{name: "get name", args: []string{"get", "pods", "-o", "name", "-A"}, wantStdout: []string{"pod/db\npod/web\n"}},
		{name: "get missing", args: []string{"get", "pod", "nope"}, want: 1, wantStderr: []string{`Error from server (NotFound): pods "nope" not found`}},
		{name: "get found and missing", args: []string{"get", "pods", "web", "nope"}, want: 1, wantStdout: []string{"web "}, wantStderr: []string{`pods "nope" not found`}},
		{name: "get missing in namespace", args: []string{"get", "pod", "web", "-n", "data"}, want: 1, wantStderr: []string{`pods "web" not found`}},
		{name: "get empty namespace", args: []string{"get", "pods", "-n", "empty"}, wantStderr: []string{"No resources found in empty namespace."}},
		{name: "get bad output", args: []string{"get", "pods", "-o", "jsonpath"}, want: 2, wantStderr: []string{`-o: unsupported output format "jsonpath"`}},
		{name: "get bad name", args: []string{"get", "pod", "Web"}, want: 2, wantStderr: []string{`argument "Web"`}},
		{name: "get bad namespace", args: []string{"get", "pods", "-n", "a/b"}, want: 2, wantStderr: []string{`-n: invalid namespace "a/b"`}},
		{name: "get -A with name", args: []string{"get", "pod", "web", "-A"}, want: 2, wantStderr: []string{"across all namespaces"}},
		{name: "get events", args: []string{"get", "events"}, wantStdout: []string{"LAST SEEN   TYPE      REASON    OBJECT    MESSAGE", "Normal    Started   pod/web   Started container main", "30s         Warning   BackOff   pod/web   Back-off restarting"}},
		{name: "get events elsewhere", args: []string{"get", "ev", "-n", "data"}, wantStderr: []string{"No resources found in data namespace."}},
		{name: "get events -A", args: []string{"get", "events", "-A"}, wantStdout: []string{"NAMESPACE   LAST SEEN"}},
		{name: "get events by name", args: []string{"get", "events", "x"}, want: 2, wantStderr: []string{`argument "x"`}},
		{name: "get events as json", args: []string{"get", "events", "-o", "json"}, want: 2, wantStderr: []string{"-o"}},

		// describe
		{name: "describe", args: []string{"describe", "pod", "web"}, wantStdout: []string{"Name:", "web\n", "Status:", "Failed\n", "Containers:\n  main:\n", "Last State:     Terminated", "Events:\n  Type     Reason   Age", "Warning  BackOff  30s (x2 over 40s)  kubelet  Back-off restarting"}},
		{name: "describe pods of namespace", args: []string{"describe", "pods", "-n", "data"}, wantStdout: []string{"Name:", "db\n", "Tolerations:     <none>\nEvents:          <none>\n"}},
		{name: "describe missing", args: []string{"describe", "pod/nope"}, want: 1, wantStderr: []string{`pods "nope" not found`}},

		// logs
		{name: "logs", args: []string{"logs", "web"}, wantStdout: []string{"one\ntwo\nthree\n"}, wantStderr: []string{`Defaulted container "main" out of: main, side`}, noStdout: []string{"first run"}},
		{name: "logs tail", args: []string{"logs", "pod/web", "-c", "main", "--tail", "1"}, wantStdout: []string{"three\n"}, noStdout: []string{"two"}},
		{name: "logs tail 0", args: []string{"logs", "web", "-c", "main", "--tail=0"}, noStdout: []string{"one", "two", "three"}},
		{name: "logs previous", args: []string{"logs", "web", "-c", "main", "-p"}, wantStdout: []string{"first run\n"}, noStdout: []string{"one"}},
		{name: "logs no previous", args: []string{"logs", "web", "side", "-p"}, want: 1, wantStderr: []string{`Error from server (BadRequest): previous terminated container "side" in pod "web" not found`}},
		{name: "logs container argument", args: []string{"logs", "web", "side"}, wantStdout: []string{"side says\n"}},
		{name: "logs timestamps", args: []string{"logs", "web", "-c", "main", "--timestamps", "--tail=1"}, wantStdout: []string{"2026-01-01T00:00:02Z three\n"}},
		{name: "logs since-time", args: []string{"logs", "web", "-c", "main", "--since-time=2026-01-01T00:00:01Z"}, wantStdout: []string{"two\nthree\n"}, noStdout: []string{"one"}},
		{name: "logs all containers", args: []string{"logs", "web", "--all-containers", "--prefix"}, wantStdout: []string{"[pod/web/main] three\n[pod/web/side] side says\n"}},
		{name: "logs follow of an ended pod", args: []string{"logs", "-f", "web", "-c", "main", "--tail=2"}, wantStdout: []string{"two\nthree\n"}, noStdout: []string{"one"}},
		{name: "logs bad container", args: []string{"logs", "web", "-c", "nope"}, want: 1, wantStderr: []string{"container nope is not valid for pod web"}},
		{name: "logs missing pod", args: []string{"logs", "nope"}, want: 1, wantStderr: []string{`pods "nope" not found`}},
		{name: "logs bad tail", args: []string{"logs", "web", "--tail=-5"}, want: 2, wantStderr: []string{"--tail"}},
		{name: "logs two containers", args: []string{"logs", "web", "side", "-c", "main"}, want: 2, wantStderr: []string{`"side"`}},
		{name: "logs too many arguments", args: []string{"logs", "web", "a", "b"}, want: 2, wantStderr: []string{"logs:"}},

		// exec and attach
		{name: "exec in a completed pod", args: []string{"exec", "web", "--", "true"}, want: 1, wantStderr: []string{"cannot exec into a container in a completed pod; current phase is Failed"}},
		{name: "exec missing pod", args: []string{"exec", "nope", "--", "true"}, want: 1, wantStderr: []string{`pods "nope" not found`}},
		{name: "exec without --", args: []string{"exec", "web", "true"}, want: 2, wantStderr: []string{"exec POD -- COMMAND"}},
		{name: "exec without command", args: []string{"exec", "web"}, want: 2, wantStderr: []string{"at least one command"}},
		{name: "exec two pods", args: []string{"exec", "web", "db", "--", "true"}, want: 2, wantStderr: []string{`argument "db"`}},
		{name: "attach in a completed pod", args: []string{"attach", "web"}, want: 1, wantStderr: []string{"cannot attach into a container in a completed pod"}},

		// wait
		{name: "wait met", args: []string{"wait", "--for=condition=initialized", "pod/web"}, wantStdout: []string{"pod/web condition met\n"}},
		{name: "wait met false", args: []string{"wait", "--for=condition=Ready=False", "pod", "web"}, wantStdout: []string{"pod/web condition met\n"}},
		{name: "wait once", args: []string{"wait", "--for=condition=Ready", "pod/web", "--timeout=0"}, want: 1, wantStderr: []string{"condition not met for pods/web"}},
		{name: "wait times out", args: []string{"wait", "--for=condition=Ready", "pod/web", "--timeout=300ms"}, want: 1, wantStderr: []string{"error: timed out waiting for the condition on pods/web"}},
		{name: "wait for a missing pod", args: []string{"wait", "--for=condition=Ready", "pod/nope"}, want: 1, wantStderr: []string{`pods "nope" not found`}},
		{name: "wait delete of a missing pod", args: []string{"wait", "--for=delete", "pod/nope"}, wantStdout: []string{"pod/nope condition met\n"}},
		{name: "wait delete times out", args: []string{"wait", "--for=delete", "pod/web", "--timeout=200ms"}, want: 1, wantStderr: []string{"timed out waiting for the condition on pods/web"}},
		{name: "wait bad condition", args: []string{"wait", "--for=Ready", "pod/web"}, want: 2, wantStderr: []string{"--for"}},
		{name: "wait without name", args: []string{"wait", "--for=delete", "pods"}, want: 2, wantStderr: []string{"resource name must be provided"}},

		// delete
		{name: "delete missing", args: []string{"delete", "pod", "nope", "gone"}, want: 1, wantStderr: []string{`pods "nope" not found`, `pods "gone" not found`}},
		{name: "delete ignore missing", args: []string{"delete", "pod", "nope", "--ignore-not-found"}},
		{name: "delete now and grace", args: []string{"delete", "pod", "web", "--now", "--grace-period=2"}, want: 2, wantStderr: []string{"--now and --grace-period"}},
		{name: "delete without name", args: []string{"delete", "pods"}, want: 2, wantStderr: []string{"no name was specified"}},
		{name: "delete all and names", args: []string{"delete", "pods", "web", "--all"}, want: 2, wantStderr: []string{"--all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Global flags first: after "--" they would be exec's command.
			code, stdout, stderr := runCLI(t, append(append([]string{}, flags...), tt.args...)...)
			if code != tt.want {
				t.Errorf("minipod %q: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.want, stdout, stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("minipod %q: stdout lacks %q:\n%s", tt.args, w, stdout)
				}
			}
			for _, w := range tt.noStdout {
				if strings.Contains(stdout, w) {
					t.Errorf("minipod %q: stdout has %q:\n%s", tt.args, w, stdout)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("minipod %q: stderr lacks %q:\n%s", tt.args, w, stderr)
				}
			}
		})
	}
}

func TestGetJSONAndYAML(t *testing.T) {
	_, flags := kubectlTestEnv(t)
	// One pod by name: the Pod itself, indented by four spaces as kubectl does.
	code, stdout, stderr := runCLI(t, append([]string{"get", "pod", "web", "-o", "json"}, flags...)...)
	var p api.Pod
	if code != 0 || json.Unmarshal([]byte(stdout), &p) != nil || p.Kind != "Pod" || p.APIVersion != "v1" || p.Metadata.Name != "web" {
		t.Fatalf("get pod web -o json: exit %d, %q\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, "\n    \"apiVersion\": \"v1\"") {
		t.Errorf("not indented like kubectl:\n%s", stdout)
	}
	// Several: a List.
	for _, args := range [][]string{{"get", "pods", "-o", "json"}, {"get", "pods", "web", "web", "-o", "json"}} {
		code, stdout, _ = runCLI(t, append(args, flags...)...)
		var l struct {
			Kind     string            `json:"kind"`
			Items    []api.Pod         `json:"items"`
			Metadata map[string]string `json:"metadata"`
		}
		if code != 0 || json.Unmarshal([]byte(stdout), &l) != nil || l.Kind != "List" || len(l.Items) == 0 || l.Items[0].Kind != "Pod" {
			t.Errorf("%q: exit %d, want a List of Pods:\n%s", args, code, stdout)
		}
	}
	code, stdout, _ = runCLI(t, append([]string{"get", "pod/web", "-o", "yaml"}, flags...)...)
	var y api.Pod
	if code != 0 || yaml.Unmarshal([]byte(stdout), &y) != nil || y.Metadata.Name != "web" || !strings.HasPrefix(stdout, "apiVersion: v1\nkind: Pod\n") {
		t.Errorf("get pod/web -o yaml: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, append([]string{"get", "pods", "-A", "-o", "yaml"}, flags...)...)
	if code != 0 || !strings.HasPrefix(stdout, "apiVersion: v1\nitems:\n") || !strings.Contains(stdout, "kind: List\n") {
		t.Errorf("get pods -o yaml: exit %d\n%s", code, stdout)
	}
}

// delete of a pod whose monitor has ended removes it; a second delete finds nothing.
func TestDeleteEndedPod(t *testing.T) {
	cfg, flags := kubectlTestEnv(t)
	code, stdout, stderr := runCLI(t, append([]string{"delete", "pod/web"}, flags...)...)
	if code != 0 || stdout != "pod \"web\" deleted\n" {
		t.Fatalf("delete: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if _, err := os.Stat(cfg.PodDir("default", "web")); !os.IsNotExist(err) {
		t.Errorf("pod dir remains: %v", err)
	}
	code, _, stderr = runCLI(t, append([]string{"delete", "pod", "web"}, flags...)...)
	if code != 1 || !strings.Contains(stderr, `pods "web" not found`) {
		t.Errorf("second delete: exit %d, %s", code, stderr)
	}
	code, stdout, _ = runCLI(t, append([]string{"delete", "pods", "--all", "-n", "data", "--force"}, flags...)...)
	if code != 0 || stdout != "pod \"db\" force deleted\n" {
		t.Errorf("delete --all --force: exit %d, %q", code, stdout)
	}
}

func TestCompletion(t *testing.T) {
	_, flags := kubectlTestEnv(t)
	complete := func(args ...string) []string {
		t.Helper()
		code, stdout, stderr := runCLI(t, append(append([]string{"__complete"}, flags...), args...)...)
		if code != 0 {
			t.Fatalf("__complete %q: exit %d: %s", args, code, stderr)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if !strings.HasPrefix(l, ":") {
				name, _, _ := strings.Cut(l, "\t") // the description
				out = append(out, name)
			}
		}
		return out
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", ""}, "pods events configmaps secrets volumes pod/"},
		{[]string{"get", "pods", ""}, "web"},
		{[]string{"get", "pods", "-n", "data", ""}, "db"},
		{[]string{"get", "pods", "web", ""}, ""},
		{[]string{"get", "pod/"}, "pod/web"},
		{[]string{"describe", "pod", "w"}, "web"},
		{[]string{"delete", "pod", "x"}, ""},
		{[]string{"logs", ""}, "web"},
		{[]string{"logs", "web", ""}, "main side"},
		{[]string{"logs", "web", "-c", "s"}, "side"},
		{[]string{"exec", "pod/web", "-c", ""}, "main side"},
		{[]string{"exec", ""}, "web"},
		{[]string{"wait", "pod/"}, "pod/web"},
		{[]string{"get", "pods", "-n", ""}, "data default"},
		{[]string{"completion", ""}, "bash fish powershell zsh"},
	}
	for _, tt := range tests {
		if got := strings.Join(complete(tt.args...), " "); got != tt.want {
			t.Errorf("complete %q = %q, want %q", tt.args, got, tt.want)
		}
	}
	code, stdout, _ := runCLI(t, "completion", "bash")
	if code != 0 || !strings.Contains(stdout, "__start_minipod") {
		t.Errorf("completion bash: exit %d", code)
	}
}

// What `get -w` prints as statuses come: a row when what it shows changes (AGE aside), and
// one more when the pod is deleted.
func TestPodPrinterUpdates(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := endedPod("web")
	created := api.NewTime(now.Add(-time.Minute))
	p.Metadata.CreationTimestamp = &created
	p.Status.Phase = api.PodRunning
	p.Status.ContainerStatuses = p.Status.ContainerStatuses[:1]
	p.Spec.Containers = p.Spec.Containers[:1]
	p.Status.ContainerStatuses[0].State = api.ContainerState{Running: &api.ContainerStateRunning{}}
	p.Status.ContainerStatuses[0].Ready = true
	done := *p
	done.Status.ContainerStatuses = []api.ContainerStatus{{Name: "main", RestartCount: 1, State: api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: "Completed"}}}}

	for _, format := range []string{"", "name", "json"} {
		var buf strings.Builder
		pp, err := newPodPrinter(&buf, format, false)
		if err != nil {
			t.Fatal(err)
		}
		clock := now
		pp.now = func() time.Time { return clock }
		if format == "json" {
			pp.update(p, false)
		} else {
			pp.list([]*api.Pod{p}, false)
		}
		clock = clock.Add(5 * time.Second)
		pp.update(p, false) // the same: nothing
		pp.update(&done, false)
		pp.update(&done, false)
		pp.update(&done, true) // deleted
		out := buf.String()
		switch format {
		case "":
			want := "NAME   READY   STATUS    RESTARTS   AGE   IP\n" +
				"web    1/1     Running   1          60s   10.66.0.9\n" +
				"web    0/1     Completed   1          65s   10.66.0.9\n" +
				"web    0/1     Completed   1          65s   10.66.0.9\n"
			if out != want {
				t.Errorf("table:\n%s\nwant:\n%s", out, want)
			}
		case "name":
			if out != "pod/web\npod/web\npod/web\n" {
				t.Errorf("name: %q", out)
			}
		case "json":
			if n := strings.Count(out, `"kind": "Pod"`); n != 3 || strings.Contains(out, "List") {
				t.Errorf("json: %d objects, want 3 Pods:\n%s", n, out)
			}
		}
	}
	if _, err := newPodPrinter(os.Stdout, "table", false); err == nil {
		t.Error("unknown format accepted")
	}
}
