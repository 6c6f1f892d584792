package ocispec

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// process generates a spec for c with image config img and returns its process part.
func process(c api.Container, img ImageConfig) (argv, env []string, cwd string, err error) {
	s, err := Generate(&Input{Pod: &api.Pod{}, Container: &c, Field: "spec.containers[0]", Image: img, Sandbox: Sandbox{Hostname: "h"}})
	if err != nil {
		return nil, nil, "", err
	}
	return s.Process.Args, s.Process.Env, s.Process.Cwd, nil
}

func TestProcess(t *testing.T) {
	defPath, host := "PATH="+DefaultPath, "HOSTNAME=h"
	img := ImageConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"cmd-arg"}}
	tests := []struct {
		name    string
		c       api.Container
		cfg     ImageConfig
		argv    []string
		env     []string
		cwd     string
		wantErr string
	}{
		// The table of https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes
		{name: "k8s: neither command nor args", cfg: ImageConfig{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-1", "foo", "bar"}},
		{name: "k8s: command only", c: api.Container{Command: []string{"/ep-2"}}, cfg: ImageConfig{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-2"}},
		{name: "k8s: args only", c: api.Container{Args: []string{"zoo", "boo"}}, cfg: ImageConfig{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-1", "zoo", "boo"}},
		{name: "k8s: command and args", c: api.Container{Command: []string{"/ep-2"}, Args: []string{"zoo", "boo"}}, cfg: ImageConfig{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-2", "zoo", "boo"}},

		{name: "cmd only image", cfg: ImageConfig{Cmd: []string{"/bin/sh", "-c", "true"}}, argv: []string{"/bin/sh", "-c", "true"}},
		{name: "args with cmd-only image replace cmd", c: api.Container{Args: []string{"/bin/echo", "hi"}}, cfg: ImageConfig{Cmd: []string{"/bin/sh"}},
			argv: []string{"/bin/echo", "hi"}},
		{name: "empty entrypoint means none", cfg: ImageConfig{Entrypoint: []string{""}, Cmd: []string{"/bin/true"}}, argv: []string{"/bin/true"}},
		{name: "empty command slice is absent", c: api.Container{Command: []string{}}, cfg: img, argv: []string{"/ep", "cmd-arg"}},
		{name: "nothing to run", wantErr: "spec.containers[0].command: no command specified"},
		{name: "empty entrypoint and no cmd", cfg: ImageConfig{Entrypoint: []string{""}}, wantErr: "no command specified"},

		{name: "default PATH and HOSTNAME", cfg: img, argv: []string{"/ep", "cmd-arg"}, env: []string{defPath, host}},
		{name: "image env order kept, pod overrides in place, new appended",
			c:   api.Container{Env: []api.EnvVar{{Name: "B", Value: "pod-b"}, {Name: "Z", Value: "z"}, {Name: "PATH", Value: "/pod"}}},
			cfg: ImageConfig{Cmd: []string{"x"}, Env: []string{"A=1", "PATH=/img", "B=img-b", "C=3"}},
			env: []string{"PATH=/pod", host, "A=1", "B=pod-b", "C=3", "Z=z"}},
		{name: "image PATH kept", cfg: ImageConfig{Cmd: []string{"x"}, Env: []string{"PATH=/img/bin"}}, env: []string{"PATH=/img/bin", host}},
		{name: "HOSTNAME can be overridden", c: api.Container{Env: []api.EnvVar{{Name: "HOSTNAME", Value: "mine"}}}, cfg: img,
			env: []string{defPath, "HOSTNAME=mine"}},
		{name: "tty adds TERM", c: api.Container{TTY: true}, cfg: img, env: []string{defPath, host, "TERM=xterm"}},
		{name: "duplicate pod env: last wins", c: api.Container{Env: []api.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}},
			cfg: img, env: []string{defPath, host, "A=2"}},
		{name: "empty pod value", c: api.Container{Env: []api.EnvVar{{Name: "E"}}}, cfg: ImageConfig{Cmd: []string{"x"}, Env: []string{"E=img"}},
			env: []string{defPath, host, "E="}},

		{name: "$(VAR) expansion in command, args and env",
			c: api.Container{
				Command: []string{"/bin/echo", "$(GREETING)"},
				Args:    []string{"$(NAME)!", "$$(NAME)", "$(UNSET)", "$HOME", "cost $5", "$(", "trailing$"},
				Env:     []api.EnvVar{{Name: "NAME", Value: "world"}, {Name: "GREETING", Value: "hello $(NAME)"}, {Name: "LATER", Value: "$(AFTER)"}, {Name: "AFTER", Value: "x"}},
			},
			argv: []string{"/bin/echo", "hello world", "world!", "$(NAME)", "$(UNSET)", "$HOME", "cost $5", "$(", "trailing$"},
			env:  []string{defPath, host, "NAME=world", "GREETING=hello world", "LATER=$(AFTER)", "AFTER=x"}},
		{name: "image values are not expanded", c: api.Container{Env: []api.EnvVar{{Name: "X", Value: "1"}}},
			cfg: ImageConfig{Cmd: []string{"echo", "$(X)"}}, argv: []string{"echo", "$(X)"}},

		{name: "cwd default", cfg: img, cwd: "/"},
		{name: "cwd from image", cfg: ImageConfig{Cmd: []string{"x"}, WorkingDir: "/srv/app"}, cwd: "/srv/app"},
		{name: "relative image cwd", cfg: ImageConfig{Cmd: []string{"x"}, WorkingDir: "app"}, cwd: "/app"},
		{name: "cwd from container wins", c: api.Container{WorkingDir: "/work/"}, cfg: ImageConfig{Cmd: []string{"x"}, WorkingDir: "/srv"}, cwd: "/work"},
		{name: "relative container cwd", c: api.Container{WorkingDir: "work"}, cfg: img, wantErr: "spec.containers[0].workingDir: \"work\" is not an absolute path"},

		{name: "bad env name", c: api.Container{Env: []api.EnvVar{{Name: "A=B", Value: "1"}}}, cfg: img, wantErr: "spec.containers[0].env[0].name: invalid environment variable name"},
		{name: "empty env name", c: api.Container{Env: []api.EnvVar{{Value: "1"}}}, cfg: img, wantErr: "invalid environment variable name"},
		{name: "NUL in args", c: api.Container{Args: []string{"a\x00b"}}, cfg: img, wantErr: "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, env, cwd, err := process(tt.c, tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.argv != nil && !slices.Equal(argv, tt.argv) {
				t.Errorf("argv = %q, want %q", argv, tt.argv)
			}
			if tt.env != nil && !slices.Equal(env, tt.env) {
				t.Errorf("env = %q, want %q", env, tt.env)
			}
			if tt.cwd != "" && cwd != tt.cwd {
				t.Errorf("cwd = %q, want %q", cwd, tt.cwd)
			}
		})
	}
}

func TestProcessDoesNotAliasInputs(t *testing.T) {
	cfg := ImageConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"a"}, Env: []string{"A=1"}}
	c := api.Container{Command: []string{"/c"}, Args: []string{"x"}, Env: []api.EnvVar{{Name: "A", Value: "2"}}}
	argv, env, _, err := process(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	argv[0], env[0] = "changed", "changed"
	if cfg.Entrypoint[0] != "/ep" || cfg.Env[0] != "A=1" || c.Command[0] != "/c" {
		t.Fatalf("Generate modified its inputs: %+v %+v", cfg, c)
	}
	// Appending args after the command must not write into the command's backing array.
	cmd := make([]string, 1, 4)
	cmd[0] = "/c"
	c2 := api.Container{Command: cmd, Args: []string{"x"}}
	if _, _, _, err := process(c2, cfg); err != nil {
		t.Fatal(err)
	}
	if got := cmd[:2][1]; got != "" {
		t.Errorf("the container's command array was written: %q", got)
	}
}

func TestStopSignal(t *testing.T) {
	tests := []struct {
		name string
		want unix.Signal
	}{
		{"", unix.SIGTERM},
		{"SIGQUIT", unix.SIGQUIT},
		{"QUIT", unix.SIGQUIT},
		{"sigusr1", unix.SIGUSR1},
		{"SIGINT", unix.SIGINT},
		{"winch", unix.SIGWINCH},
		{"SIGKILL", unix.SIGKILL},
		{"3", unix.SIGQUIT},
		{"bogus", unix.SIGTERM},
		{"SIG", unix.SIGTERM},
		{"99", unix.SIGTERM},
	}
	for _, tt := range tests {
		if got := StopSignal(ImageConfig{StopSignal: tt.name}); got != tt.want {
			t.Errorf("StopSignal(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A resolved environment (podconfig.Env) is taken as it is: a value from a ConfigMap that
// reads $(X) stays literal, as with the kubelet; command and args expand over every variable.
func TestProcessResolvedEnv(t *testing.T) {
	c := api.Container{Command: []string{"echo", "$(FROM_CM) $(LIT)"}, Env: []api.EnvVar{{Name: "IGNORED", Value: "x"}}}
	in := &Input{Pod: &api.Pod{}, Container: &c, Field: "spec.containers[0]", Image: ImageConfig{}, Sandbox: Sandbox{Hostname: "h"},
		Env: []api.EnvVar{{Name: "FROM_CM", Value: "very"}, {Name: "LIT", Value: "$(FROM_CM)"}}}
	s, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"echo", "very $(FROM_CM)"}; !slices.Equal(s.Process.Args, want) {
		t.Errorf("argv %q, want %q", s.Process.Args, want)
	}
	if want := []string{"PATH=" + DefaultPath, "HOSTNAME=h", "FROM_CM=very", "LIT=$(FROM_CM)"}; !slices.Equal(s.Process.Env, want) {
		t.Errorf("env %q, want %q", s.Process.Env, want)
	}
}
