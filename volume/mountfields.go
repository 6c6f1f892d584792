package volume

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/podconfig"
)

// expandSubPath is the kubelet's ExpandContainerVolumeMounts (pkg/kubelet/container/helpers.go):
// $(VAR) in subPathExpr from the container's env; a variable that is undefined or empty is
// an error naming every such variable, sorted.
func expandSubPath(expr string, env map[string]string) (string, error) {
	var missing []string
	for _, name := range references(expr) {
		if env[name] == "" && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("missing value for %s", strings.Join(missing, ", "))
	}
	return podconfig.Expand(expr, env), nil
}

// references are the variable names $(NAME) refers to in s, in the syntax of podconfig.Expand.
func references(s string) []string {
	var names []string
	for i := 0; i < len(s)-1; i++ {
		if s[i] != '$' {
			continue
		}
		switch s[i+1] {
		case '$':
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				return names
			}
			names = append(names, s[i+2:i+2+end])
			i += 2 + end
		}
	}
	return names
}

// propagation is the OCI mount option of a mountPropagation, as the kubelet
// (translateMountPropagation, pkg/kubelet/kubelet_pods.go) and containerd (WithMounts,
// internal/cri/opts/spec_linux.go) translate it: None and unset rprivate, HostToContainer
// rslave, Bidirectional rshared.
func propagation(m *api.MountPropagationMode) string {
	switch {
	case m == nil || *m == api.MountPropagationNone:
		return ""
	case *m == api.MountPropagationHostToContainer:
		return "rslave"
	default:
		return "rshared"
	}
}

// checkPropagation is containerd's ensureShared and ensureSharedOrSlave: the mount holding
// src must propagate, or the container would not see what the mode promises. containerd
// fails the create, which the kubelet reports as CreateContainerError.
func checkPropagation(src, mode string) error {
	if mode == "" {
		return nil
	}
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(src))
	if err != nil {
		return fmt.Errorf("look up the mount of %s: %w", src, err)
	}
	var m *mountinfo.Info
	for _, c := range mounts {
		if m == nil || len(c.Mountpoint) > len(m.Mountpoint) {
			m = c
		}
	}
	if m == nil {
		return fmt.Errorf("look up the mount of %s: not found", src)
	}
	var shared, slave bool
	for _, opt := range strings.Fields(m.Optional) {
		shared = shared || strings.HasPrefix(opt, "shared:")
		slave = slave || strings.HasPrefix(opt, "master:")
	}
	switch {
	case mode == "rshared" && !shared:
		return &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
			Message: fmt.Sprintf("path %q is mounted on %q but it is not a shared mount", src, m.Mountpoint)}
	case mode == "rslave" && !shared && !slave:
		return &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
			Message: fmt.Sprintf("path %q is mounted on %q but it is not a shared or slave mount", src, m.Mountpoint)}
	}
	return nil
}

// resolveRecursiveReadOnly is the kubelet's resolveRecursiveReadOnly (kubelet_pods.go): whether
// a mount is made read-only recursively (libcontainer's "rro", with mount_setattr).
func resolveRecursiveReadOnly(m api.VolumeMount, supported bool) (bool, error) {
	if m.RecursiveReadOnly == nil || *m.RecursiveReadOnly == api.RecursiveReadOnlyDisabled {
		return false, nil
	}
	if !m.ReadOnly {
		return false, fmt.Errorf("volume %q requested recursive read-only mode, but it is not read-only", m.Name)
	}
	if m.MountPropagation != nil && *m.MountPropagation != api.MountPropagationNone {
		return false, fmt.Errorf("volume %q requested recursive read-only mode, but it is not compatible with propagation %q", m.Name, *m.MountPropagation)
	}
	switch *m.RecursiveReadOnly {
	case api.RecursiveReadOnlyIfPossible:
		return supported, nil
	case api.RecursiveReadOnlyEnabled:
		if !supported {
			return false, fmt.Errorf("volume %q requested recursive read-only mode, but it is not supported by the runtime", m.Name)
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown recursive read-only mode %q", *m.RecursiveReadOnly)
}

// kernelSupportsRRO reports whether the kernel has mount_setattr (Linux 5.12), which runc
// needs for "rro"; containerd reports the same to the kubelet in its runtime handler
// features. An invalid call tells: ENOSYS without the syscall, EBADF or EINVAL with it.
var kernelSupportsRRO = sync.OnceValue(func() bool {
	err := unix.MountSetattr(-1, "", 0, &unix.MountAttr{})
	return !errors.Is(err, unix.ENOSYS)
})
