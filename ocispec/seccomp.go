package ocispec

import (
	"encoding/json"
	"path/filepath"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/api"
)

// seccompProfile is the seccomp profile a container gets, as the kubelet decides it
// (pkg/kubelet/kuberuntime/helpers.go getSeccompProfile): the container's, else the pod's,
// else RuntimeDefault with --seccomp-default, else Unconfined. A privileged container gets
// none (containerd's GenerateSeccompSpecOpts).
func seccompProfile(pod *api.Pod, c *api.Container, seccompDefault bool) (api.SeccompProfileType, string) {
	if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
		return api.SeccompProfileTypeUnconfined, ""
	}
	if p := api.SeccompProfileOf(&pod.Spec, c); p != nil {
		if p.Type == api.SeccompProfileTypeLocalhost && p.LocalhostProfile != nil {
			return p.Type, *p.LocalhostProfile
		}
		return p.Type, ""
	}
	if seccompDefault {
		return api.SeccompProfileTypeRuntimeDefault, ""
	}
	return api.SeccompProfileTypeUnconfined, ""
}

// LocalhostSeccompProfile returns the file of a container's Localhost seccomp profile, below
// root (the kubelet's <root-dir>/seccomp), or "" if it has none: the caller reads it into
// Host.SeccompProfile.
func LocalhostSeccompProfile(pod *api.Pod, c *api.Container, root string) string {
	typ, name := seccompProfile(pod, c, false)
	if typ != api.SeccompProfileTypeLocalhost {
		return ""
	}
	// Validation keeps the name relative and free of "..".
	return filepath.Join(root, name)
}

// withSeccomp sets the container's seccomp filter: for RuntimeDefault the moby default
// profile, fitted to the container's capabilities and this kernel (so it must come after the
// capabilities), for Localhost the profile file as it is (containerd's contrib/seccomp
// WithDefaultProfile and WithProfile).
func withSeccomp(s *specs.Spec, in *Input) error {
	typ, name := seccompProfile(in.Pod, in.Container, in.Host.SeccompDefault)
	switch typ {
	case api.SeccompProfileTypeRuntimeDefault:
		p, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			return createError("generate the default seccomp profile: %v", err)
		}
		s.Linux.Seccomp = p
	case api.SeccompProfileTypeLocalhost:
		if in.Host.SeccompProfile == nil {
			return createError("seccomp profile %q was not read", name)
		}
		p := &specs.LinuxSeccomp{}
		if err := json.Unmarshal(in.Host.SeccompProfile, p); err != nil {
			return createError("decoding seccomp profile failed %q: %v", name, err)
		}
		s.Linux.Seccomp = p
	}
	return nil
}
