package ocispec

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestBuild(t *testing.T) {
	in := Input{
		Args: []string{"sh", "-c", "true"}, Env: []string{"PATH=/bin"}, Cwd: "/",
		RootfsPath: "/r", NetNSPath: "/ns/net", IPCNSPath: "/ns/ipc", UTSNSPath: "/ns/uts",
		CgroupsPath: "minipod/pod1/c1", ShmPath: "/pod/shm",
		Mounts: []Mount{{Source: "/pod/hosts", Destination: "/etc/hosts"}, {Source: "/v", Destination: "/data", ReadOnly: true}},
	}
	s := Build(in)
	tests := []struct {
		name string
		ok   bool
	}{
		{"args", slices.Equal(s.Process.Args, in.Args)},
		{"no_new_privs", s.Process.NoNewPrivileges},
		{"runs as root uid 0", s.Process.User.UID == 0 && s.Process.User.GID == 0},
		{"default caps only", slices.Equal(s.Process.Capabilities.Bounding, DefaultCapabilities) && !slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")},
		{"no ambient or inheritable caps", len(s.Process.Capabilities.Ambient) == 0 && len(s.Process.Capabilities.Inheritable) == 0},
		{"rootfs", s.Root.Path == "/r"},
		{"cgroup", s.Linux.CgroupsPath == "minipod/pod1/c1"},
		{"new pid ns", hasNS(s, specs.PIDNamespace, "")},
		{"new mount ns", hasNS(s, specs.MountNamespace, "")},
		{"joins pod net", hasNS(s, specs.NetworkNamespace, "/ns/net")},
		{"joins pod ipc", hasNS(s, specs.IPCNamespace, "/ns/ipc")},
		{"joins pod uts", hasNS(s, specs.UTSNamespace, "/ns/uts")},
		{"sys read-only", slices.Contains(mount(s, "/sys").Options, "ro")},
		{"shm is the pod's", mount(s, "/dev/shm").Source == "/pod/shm" && mount(s, "/dev/shm").Type == "bind"},
		{"read-only volume", slices.Contains(mount(s, "/data").Options, "ro")},
		{"writable pod file", !slices.Contains(mount(s, "/etc/hosts").Options, "ro")},
		{"volumes after system mounts", index(s, "/data") > index(s, "/dev")},
		{"kcore masked", slices.Contains(s.Linux.MaskedPaths, "/proc/kcore")},
		{"proc/sys read-only", slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys")},
	}
	for _, tc := range tests {
		if !tc.ok {
			t.Errorf("%s: spec is wrong: %+v", tc.name, s)
		}
	}

	in.ShmPath = ""
	if m := mount(Build(in), "/dev/shm"); m.Type != "tmpfs" {
		t.Errorf("without a pod shm, /dev/shm = %+v, want a private tmpfs", m)
	}
	// Build must not alias the caller's default capability slice.
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	if DefaultCapabilities[0] == "CAP_SYS_ADMIN" {
		t.Error("Build aliases DefaultCapabilities")
	}
}

func hasNS(s *specs.Spec, typ specs.LinuxNamespaceType, path string) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			return ns.Path == path
		}
	}
	return false
}

func index(s *specs.Spec, dst string) int {
	for i, m := range s.Mounts {
		if m.Destination == dst {
			return i
		}
	}
	return -1
}

func mount(s *specs.Spec, dst string) specs.Mount {
	if i := index(s, dst); i >= 0 {
		return s.Mounts[i]
	}
	return specs.Mount{}
}
