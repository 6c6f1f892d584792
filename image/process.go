package image

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/minipod/minipod/api"
)

// DefaultPath is the PATH a container gets when neither its image nor its pod sets one
// (containerd's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Process merges an image config with a container spec the way Kubernetes and containerd do:
//
//   - command replaces the image's Entrypoint and drops its Cmd; args replaces Cmd; with
//     neither, Entrypoint+Cmd. An image Entrypoint of [""] (Dockerfile `ENTRYPOINT [""]`) means
//     none. $(VAR) in command, args and env values is expanded from the container's env as
//     kubelet does ($$ escapes a $; unknown variables stay as written).
//   - env: the image's first, then the container's, a container variable replacing an image
//     one of the same name in place; PATH defaults to DefaultPath.
//   - cwd: the container's workingDir, else the image's, else "/".
//
// It returns an error if the resulting argv is empty ("no command specified") or if a value
// cannot be passed to execve.
func Process(c *api.Container, cfg Config) (argv []string, env []string, cwd string, err error) {
	if c == nil {
		return nil, nil, "", errors.New("no container")
	}

	// Container env, expanded in order: a value may refer to variables defined before it.
	vars := map[string]string{}
	var podEnv []string
	for _, e := range c.Env {
		if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
			return nil, nil, "", fmt.Errorf("invalid environment variable name %q", e.Name)
		}
		v := expand(e.Value, vars)
		vars[e.Name] = v
		podEnv = append(podEnv, e.Name+"="+v)
	}

	command, args := expandAll(c.Command, vars), expandAll(c.Args, vars)
	// Kubernetes cannot tell an empty command from an absent one (the CRI drops it), nor can we.
	if len(command) == 0 {
		if len(args) == 0 {
			args = cfg.Cmd
		}
		if !(len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "") {
			command = cfg.Entrypoint
		}
	}
	argv = append(append([]string{}, command...), args...)
	if len(argv) == 0 {
		return nil, nil, "", errors.New("no command specified: the container has no command and the image no entrypoint or cmd")
	}

	env = mergeEnv(cfg.Env, podEnv)

	cwd = "/"
	switch {
	case c.WorkingDir != "":
		if !path.IsAbs(c.WorkingDir) {
			return nil, nil, "", fmt.Errorf("workingDir %q is not an absolute path", c.WorkingDir)
		}
		cwd = path.Clean(c.WorkingDir)
	case cfg.WorkingDir != "":
		// Old image builders stored WORKDIR relative to /.
		cwd = path.Clean("/" + cfg.WorkingDir)
	}

	for _, list := range [][]string{argv, env, {cwd}} {
		for _, s := range list {
			if strings.IndexByte(s, 0) >= 0 {
				return nil, nil, "", fmt.Errorf("%q contains a NUL byte", s)
			}
		}
	}
	return argv, env, cwd, nil
}

// mergeEnv is containerd's replaceOrAppendEnvValues applied to a default PATH, the image env
// and the pod env in turn: same name replaces in place, new names append.
func mergeEnv(image, pod []string) []string {
	env := make([]string, 0, len(image)+len(pod)+1)
	idx := map[string]int{}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			env[i] = kv
			return
		}
		idx[k] = len(env)
		env = append(env, kv)
	}
	set("PATH=" + DefaultPath)
	for _, kv := range image {
		set(kv)
	}
	for _, kv := range pod {
		set(kv)
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

// expand implements Kubernetes' $(VAR) syntax (k8s.io/kubernetes third_party/forked/golang/
// expansion): $(NAME) becomes the value of NAME if defined and stays literal otherwise, $$
// becomes $, and any other $ is literal.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
