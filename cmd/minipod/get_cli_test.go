package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
)

func waiting(reason string) api.ContainerStatus {
	return api.ContainerStatus{State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason}}}
}

func running() api.ContainerStatus {
	return api.ContainerStatus{Ready: true, State: api.ContainerState{Running: &api.ContainerStateRunning{}}}
}

func terminated(reason string, code, signal int32) api.ContainerStatus {
	return api.ContainerStatus{State: api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

func TestDescribeState(t *testing.T) {
	tests := []struct {
		name string
		s    api.ContainerState
		want string
	}{
		{"running", api.ContainerState{Running: &api.ContainerStateRunning{}}, "Running"},
		{"terminated", api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: "Error", ExitCode: 3}}, "Terminated (Error, exit code 3)"},
		{"completed", api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: "Completed"}}, "Terminated (Completed, exit code 0)"},
		{"terminated with message", api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: "StartError", ExitCode: 128, Message: "exec: not found"}}, "Terminated (StartError, exit code 128: exec: not found)"},
		{"waiting", api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "ContainerCreating"}}, "Waiting (ContainerCreating)"},
		{"waiting with message", api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s"}}, "Waiting (CrashLoopBackOff: back-off 10s)"},
		{"empty", api.ContainerState{}, "Unknown"},
	}
	for _, tt := range tests {
		if got := describeState(tt.s); got != tt.want {
			t.Errorf("%s: describeState = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// The printer reports each change of a container's state or the pod's phase once.
func TestPrinterStatus(t *testing.T) {
	var out, diag bytes.Buffer
	p := newPrinter(&out, &diag)
	pod := &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: "web"}}
	set := func(phase api.PodPhase, cs api.ContainerStatus, restarts int32) {
		cs.Name = "app"
		cs.RestartCount = restarts
		pod.Status.Phase = phase
		pod.Status.ContainerStatuses = []api.ContainerStatus{cs}
		p.status(pod)
	}
	set(api.PodPending, waiting("ContainerCreating"), 0)
	set(api.PodPending, waiting("ContainerCreating"), 0) // no change: nothing printed
	set(api.PodRunning, running(), 0)
	set(api.PodRunning, terminated("Error", 1, 0), 0)
	set(api.PodRunning, running(), 1)
	want := "minipod: container app Waiting (ContainerCreating)\n" +
		"minipod: pod default/web Pending\n" +
		"minipod: container app Running\n" +
		"minipod: pod default/web Running\n" +
		"minipod: container app Terminated (Error, exit code 1)\n" +
		"minipod: container app Running [restarts 1]\n"
	if diag.String() != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", diag.String(), want)
	}
	if out.Len() != 0 {
		t.Errorf("status went to the output stream: %q", out.String())
	}

	p.log("app", crilog.Record{Content: []byte("hello")})
	p.log("app", crilog.Record{Content: []byte("par"), Partial: true})
	p.log("app", crilog.Record{Content: []byte("tial")})
	if got := out.String(); got != "[app] hello\n[app] par[app] tial\n" {
		t.Errorf("output = %q", got)
	}
}

// runCLI runs execute with args, capturing what it writes to stdout and stderr.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	defer func() {
		os.Stdout, os.Stderr = oldOut, oldErr
		outF.Close()
		errF.Close()
	}()
	code = execute(args)
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return code, string(o), string(e)
}

func TestExecuteExitCodes(t *testing.T) {
	empty := t.TempDir()
	manifests := t.TempDir()
	invalid := filepath.Join(manifests, "invalid.yaml")
	if err := os.WriteFile(invalid, []byte("apiVersion: v1\nkind: Deployment\nmetadata:\n  name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(manifests, "garbage.yaml")
	if err := os.WriteFile(garbage, []byte("{ this is: [not yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(manifests, "missing.yaml")
	// A state dir whose pods "directory" is a file: listing fails for a reason that is not
	// bad input.
	broken := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "pods"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sd := "--state-dir=" + empty

	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string // substring
		wantStdout string // substring
	}{
		{name: "unknown flag", args: []string{"--bogus"}, want: 2, wantStderr: "bogus"},
		{name: "unknown subcommand flag", args: []string{"get", "pods", "--bogus", sd}, want: 2, wantStderr: "bogus"},
		{name: "unknown command", args: []string{"frobnicate"}, want: 2, wantStderr: "frobnicate"},
		{name: "run without file", args: []string{"run", sd}, want: 2, wantStderr: "takes one or more files"},
		{name: "run missing file", args: []string{"run", sd, missing}, want: 2, wantStderr: missing},
		{name: "run invalid manifest", args: []string{"run", sd, invalid}, want: 2, wantStderr: invalid},
		{name: "run unparsable manifest", args: []string{"run", sd, garbage}, want: 2, wantStderr: garbage},
		{name: "run with relative state dir", args: []string{"run", "--state-dir=rel", invalid}, want: 2, wantStderr: "--state-dir"},
		{name: "follow-run with a bad pid", args: []string{"follow-run", empty, "0"}, want: 2, wantStderr: "monitor pid"},
		{name: "follow-run of no pod", args: []string{"follow-run", empty, "1"}, want: 1, wantStderr: "record"},
		{name: "bad subnet", args: []string{"get", "pods", sd, "--subnet=bogus"}, want: 2, wantStderr: "--subnet"},
		{name: "bad back-off", args: []string{"get", "pods", sd, "--backoff-initial=0s"}, want: 2, wantStderr: "--backoff-initial"},
		{name: "bad cgroup parent", args: []string{"get", "pods", sd, "--cgroup-parent=/abs"}, want: 2, wantStderr: "--cgroup-parent"},
		{name: "get unknown resource", args: []string{"get", "foo", sd}, want: 2, wantStderr: `unknown resource type "foo"`},
		{name: "get without resource", args: []string{"get", sd}, want: 2},
		{name: "get pods, none", args: []string{"get", "pods", sd}, want: 0, wantStderr: "No resources found"},
		{name: "get po all namespaces", args: []string{"get", "po", "-A", sd}, want: 0, wantStderr: "No resources found"},
		{name: "get pods json", args: []string{"get", "pods", "-o", "json", sd}, want: 0, wantStdout: `"kind": "List"`},
		{name: "get pods bad output", args: []string{"get", "pods", "-o", "jsonpath", sd}, want: 2, wantStderr: "jsonpath"},
		{name: "get pods, unreadable state", args: []string{"get", "pods", "--state-dir=" + broken}, want: 1, wantStderr: "pods"},
		{name: "delete missing pod", args: []string{"delete", "pod", "nope", sd}, want: 1, wantStderr: "nope"},
		{name: "delete negative grace", args: []string{"delete", "pod", "nope", "--grace-period=-1", sd}, want: 2, wantStderr: "--grace-period"},
		{name: "delete unknown resource", args: []string{"delete", "svc", "nope", sd}, want: 2, wantStderr: "svc"},
		{name: "logs missing pod", args: []string{"logs", "nope", sd}, want: 1, wantStderr: "nope"},
		{name: "help", args: []string{"--help"}, want: 0, wantStdout: "Usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.want {
				t.Errorf("minipod %q: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.want, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("minipod %q: stderr %q, want it to contain %q", tt.args, stderr, tt.wantStderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("minipod %q: stdout %q, want it to contain %q", tt.args, stdout, tt.wantStdout)
			}
		})
	}
	// Nothing was created by any of these commands in the state dir.
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("the state dir got %d entries", len(ents))
	}
}

func TestGetPodsJSONEmptyList(t *testing.T) {
	code, stdout, _ := runCLI(t, "get", "pods", "-o", "json", "--state-dir="+t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var list struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if list.APIVersion != "v1" || list.Kind != "List" || list.Items == nil || len(list.Items) != 0 {
		t.Errorf("list = %+v, want an empty v1 List with items: []", list)
	}
	if !strings.Contains(stdout, `"items": []`) {
		t.Errorf("items is not an empty array: %s", stdout)
	}
}

// A failure that is not about the command line exits 1 whatever words its message holds:
// execute must not classify an error as bad input by searching its text for "arg", "flag"
// or "unknown", which paths (a state dir under /srv/target, /etc/flags) easily contain.
func TestExecuteRuntimeErrorIsNotBadInput(t *testing.T) {
	for _, name := range []string{"target", "flags", "unknown"} {
		state := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(state, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(state, "pods"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runCLI(t, "get", "pods", "--state-dir="+state); code != 1 {
			t.Errorf("get pods with state dir %s whose pods is a file: exit %d, want 1 (stderr %q)", state, code, stderr)
		}
	}
}
