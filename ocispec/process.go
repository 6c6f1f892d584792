package ocispec

import (
	"fmt"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/podconfig"
)

// DefaultPath is the PATH a container gets when neither its image nor its pod sets one
// (containerd's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// withProcess merges the image config with the container the way Kubernetes and containerd
// do:
//
//   - command replaces the image's Entrypoint and drops its Cmd; args replaces Cmd; with
//     neither, Entrypoint+Cmd. An image Entrypoint of [""] (Dockerfile `ENTRYPOINT [""]`) means
//     none. $(VAR) in command, args and env values is expanded from the container's env as
//     the kubelet does ($$ escapes a $; unknown variables stay as written).
//   - env: containerd's order, each later one replacing an earlier variable of the same name
//     in place: a default PATH, HOSTNAME, the image's, then the container's.
//   - cwd: the container's workingDir, else the image's, else "/".
func withProcess(s *specs.Spec, in *Input) error {
	c := in.Container
	// Container env, expanded in order: a value may refer to variables defined before it
	// (unless the caller resolved it, sources included).
	vars := map[string]string{}
	resolved := in.Env != nil
	declared := in.Env
	if !resolved {
		declared = c.Env
	}
	podEnv := make([]string, 0, len(declared))
	for i, e := range declared {
		if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
			return fmt.Errorf("%s.env[%d].name: invalid environment variable name %q", in.Field, i, e.Name)
		}
		v := e.Value
		if !resolved {
			v = expand(v, vars)
		}
		vars[e.Name] = v
		podEnv = append(podEnv, e.Name+"="+v)
	}

	command, args := expandAll(c.Command, vars), expandAll(c.Args, vars)
	// Kubernetes cannot tell an empty command from an absent one (the CRI drops it), nor can we.
	if len(command) == 0 {
		if len(args) == 0 {
			args = in.Image.Cmd
		}
		if !(len(in.Image.Entrypoint) == 1 && in.Image.Entrypoint[0] == "") {
			command = in.Image.Entrypoint
		}
	}
	argv := append(slices.Clip(slices.Clone(command)), args...)
	if len(argv) == 0 {
		return fmt.Errorf("%s.command: no command specified: the container has no command and the image no entrypoint or cmd", in.Field)
	}

	base := []string{"PATH=" + DefaultPath, "HOSTNAME=" + in.Sandbox.Hostname}
	if c.TTY {
		// containerd's WithTTY.
		base = append(base, "TERM=xterm")
		s.Process.Terminal = true
	}
	env := mergeEnv(base, in.Image.Env, podEnv)

	cwd := "/"
	switch {
	case c.WorkingDir != "":
		if !path.IsAbs(c.WorkingDir) {
			return fmt.Errorf("%s.workingDir: %q is not an absolute path", in.Field, c.WorkingDir)
		}
		cwd = path.Clean(c.WorkingDir)
	case in.Image.WorkingDir != "":
		// Old image builders stored WORKDIR relative to /.
		cwd = path.Clean("/" + in.Image.WorkingDir)
	}

	for _, list := range [][]string{argv, env, {cwd}} {
		for _, v := range list {
			if strings.IndexByte(v, 0) >= 0 {
				return fmt.Errorf("%s: %q contains a NUL byte", in.Field, v)
			}
		}
	}
	s.Process.Args, s.Process.Env, s.Process.Cwd = argv, env, cwd
	return nil
}

// mergeEnv is containerd's replaceOrAppendEnvValues applied to each list in turn: a variable
// replaces one of the same name in place, a new one is appended.
func mergeEnv(lists ...[]string) []string {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	env := make([]string, 0, n)
	idx := make(map[string]int, n)
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := idx[k]; ok {
				env[i] = kv
				continue
			}
			idx[k] = len(env)
			env = append(env, kv)
		}
	}
	return env
}

func expandAll(in []string, vars map[string]string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}

// expand is Kubernetes' $(VAR) expansion.
func expand(s string, vars map[string]string) string { return podconfig.Expand(s, vars) }

// StopSignal is the signal that asks the container to stop: the image's STOPSIGNAL (a name,
// with or without SIG, or a number), else SIGTERM, as containerd does.
func StopSignal(img ImageConfig) unix.Signal {
	name := strings.ToUpper(strings.TrimSpace(img.StopSignal))
	if name == "" {
		return unix.SIGTERM
	}
	if s := unix.SignalNum("SIG" + strings.TrimPrefix(name, "SIG")); s != 0 {
		return s
	}
	var n int
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && n > 0 && n < 65 && fmt.Sprint(n) == name {
		return unix.Signal(n)
	}
	return unix.SIGTERM
}

// ExpandCommand expands $(VAR) in a command from the container's env values as written
// (not expanded themselves), as the kubelet's ExpandContainerCommandOnlyStatic does for exec
// probes and hooks.
func ExpandCommand(cmd []string, env []api.EnvVar) []string {
	vars := make(map[string]string, len(env))
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	return expandAll(cmd, vars)
}
