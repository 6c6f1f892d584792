package image

import (
	"slices"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
)

func TestProcess(t *testing.T) {
	defPath := "PATH=" + DefaultPath
	img := Config{Entrypoint: []string{"/ep"}, Cmd: []string{"cmd-arg"}}
	tests := []struct {
		name    string
		c       api.Container
		cfg     Config
		argv    []string
		env     []string
		cwd     string
		wantErr string
	}{
		// The table of https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes
		{name: "k8s: neither command nor args", cfg: Config{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-1", "foo", "bar"}},
		{name: "k8s: command only", c: api.Container{Command: []string{"/ep-2"}}, cfg: Config{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-2"}},
		{name: "k8s: args only", c: api.Container{Args: []string{"zoo", "boo"}}, cfg: Config{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-1", "zoo", "boo"}},
		{name: "k8s: command and args", c: api.Container{Command: []string{"/ep-2"}, Args: []string{"zoo", "boo"}}, cfg: Config{Entrypoint: []string{"/ep-1"}, Cmd: []string{"foo", "bar"}},
			argv: []string{"/ep-2", "zoo", "boo"}},

		{name: "cmd only image", cfg: Config{Cmd: []string{"/bin/sh", "-c", "true"}}, argv: []string{"/bin/sh", "-c", "true"}},
		{name: "args with cmd-only image replace cmd", c: api.Container{Args: []string{"/bin/echo", "hi"}}, cfg: Config{Cmd: []string{"/bin/sh"}},
			argv: []string{"/bin/echo", "hi"}},
		{name: "empty entrypoint means none", cfg: Config{Entrypoint: []string{""}, Cmd: []string{"/bin/true"}}, argv: []string{"/bin/true"}},
		{name: "empty command slice is absent", c: api.Container{Command: []string{}}, cfg: img, argv: []string{"/ep", "cmd-arg"}},
		{name: "nothing to run", wantErr: "no command specified"},
		{name: "empty entrypoint and no cmd", cfg: Config{Entrypoint: []string{""}}, wantErr: "no command specified"},

		{name: "default PATH", cfg: img, argv: []string{"/ep", "cmd-arg"}, env: []string{defPath}},
		{name: "image env order kept, pod overrides in place, new appended",
			c:   api.Container{Env: []api.EnvVar{{Name: "B", Value: "pod-b"}, {Name: "Z", Value: "z"}, {Name: "PATH", Value: "/pod"}}},
			cfg: Config{Cmd: []string{"x"}, Env: []string{"A=1", "PATH=/img", "B=img-b", "C=3"}},
			env: []string{"PATH=/pod", "A=1", "B=pod-b", "C=3", "Z=z"}},
		{name: "image PATH kept", cfg: Config{Cmd: []string{"x"}, Env: []string{"PATH=/img/bin"}}, env: []string{"PATH=/img/bin"}},
		{name: "duplicate pod env: last wins", c: api.Container{Env: []api.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}},
			cfg: img, env: []string{defPath, "A=2"}},
		{name: "empty pod value", c: api.Container{Env: []api.EnvVar{{Name: "E"}}}, cfg: Config{Cmd: []string{"x"}, Env: []string{"E=img"}},
			env: []string{defPath, "E="}},

		{name: "$(VAR) expansion in command, args and env",
			c: api.Container{
				Command: []string{"/bin/echo", "$(GREETING)"},
				Args:    []string{"$(NAME)!", "$$(NAME)", "$(UNSET)", "$HOME", "cost $5", "$(", "trailing$"},
				Env:     []api.EnvVar{{Name: "NAME", Value: "world"}, {Name: "GREETING", Value: "hello $(NAME)"}, {Name: "LATER", Value: "$(AFTER)"}, {Name: "AFTER", Value: "x"}},
			},
			argv: []string{"/bin/echo", "hello world", "world!", "$(NAME)", "$(UNSET)", "$HOME", "cost $5", "$(", "trailing$"},
			env:  []string{defPath, "NAME=world", "GREETING=hello world", "LATER=$(AFTER)", "AFTER=x"}},
		{name: "image values are not expanded", c: api.Container{Env: []api.EnvVar{{Name: "X", Value: "1"}}},
			cfg: Config{Cmd: []string{"echo", "$(X)"}}, argv: []string{"echo", "$(X)"}},

		{name: "cwd default", cfg: img, cwd: "/"},
		{name: "cwd from image", cfg: Config{Cmd: []string{"x"}, WorkingDir: "/srv/app"}, cwd: "/srv/app"},
		{name: "relative image cwd", cfg: Config{Cmd: []string{"x"}, WorkingDir: "app"}, cwd: "/app"},
		{name: "cwd from container wins", c: api.Container{WorkingDir: "/work/"}, cfg: Config{Cmd: []string{"x"}, WorkingDir: "/srv"}, cwd: "/work"},
		{name: "relative container cwd", c: api.Container{WorkingDir: "work"}, cfg: img, wantErr: "not an absolute path"},

		{name: "bad env name", c: api.Container{Env: []api.EnvVar{{Name: "A=B", Value: "1"}}}, cfg: img, wantErr: "invalid environment variable name"},
		{name: "empty env name", c: api.Container{Env: []api.EnvVar{{Value: "1"}}}, cfg: img, wantErr: "invalid environment variable name"},
		{name: "NUL in args", c: api.Container{Args: []string{"a\x00b"}}, cfg: img, wantErr: "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			argv, env, cwd, err := Process(&c, tt.cfg)
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

func TestProcessDoesNotAliasImageConfig(t *testing.T) {
	cfg := Config{Entrypoint: []string{"/ep"}, Cmd: []string{"a"}, Env: []string{"A=1"}}
	argv, env, _, err := Process(&api.Container{Env: []api.EnvVar{{Name: "A", Value: "2"}}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	argv[0], env[0] = "changed", "changed"
	if cfg.Entrypoint[0] != "/ep" || cfg.Env[0] != "A=1" {
		t.Fatalf("Process modified the image config: %+v", cfg)
	}
	if _, _, _, err := Process(nil, cfg); err == nil {
		t.Fatal("nil container accepted")
	}
}
