package ocispec

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/api"
)

func TestGenerate(t *testing.T) {
	in := &Input{
		Pod:       &api.Pod{},
		Container: &api.Container{Name: "c1", Command: []string{"sh", "-c", "true"}},
		Field:     "spec.containers[0]",
		Rootfs:    "/r",
		Cgroup:    "minipod/pod1/c1",
		Sandbox: Sandbox{
			Hostname: "h", NetNS: "/ns/net", IPCNS: "/ns/ipc", UTSNS: "/ns/uts", Shm: "/pod/shm",
			EtcHosts: "/pod/hosts", EtcHostname: "/pod/hostname", EtcResolvConf: "/pod/resolv.conf",
		},
		Volumes: []Mount{{Source: "/v", Destination: "/data", ReadOnly: true},
			{Source: "/img", Destination: "/tools", ReadOnly: true, Options: []string{"nosuid", "nodev", "noexec"}}},
		TerminationLog: "/pod/c1/termination-log",
	}
	in.Container.TerminationMessagePath = "/dev/termination-log"
	s, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"args", slices.Equal(s.Process.Args, []string{"sh", "-c", "true"})},
		{"no no_new_privs unless asked", !s.Process.NoNewPrivileges},
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
		{"pod hosts file", mount(s, "/etc/hosts").Source == "/pod/hosts"},
		{"pod hostname file", mount(s, "/etc/hostname").Source == "/pod/hostname"},
		{"pod resolv.conf", mount(s, "/etc/resolv.conf").Source == "/pod/resolv.conf"},
		{"read-only volume", slices.Contains(mount(s, "/data").Options, "ro")},
		{"image volume options", slices.Equal(mount(s, "/tools").Options, []string{"rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"})},
		{"plain volume has none", slices.Equal(mount(s, "/data").Options, []string{"rbind", "rprivate", "ro"})},
		{"writable pod file", !slices.Contains(mount(s, "/etc/hosts").Options, "ro")},
		{"volumes after system mounts", index(s, "/data") > index(s, "/dev")},
		{"volumes after pod files", index(s, "/data") > index(s, "/etc/resolv.conf")},
		{"termination log", mount(s, "/dev/termination-log").Source == "/pod/c1/termination-log" && !slices.Contains(mount(s, "/dev/termination-log").Options, "ro")},
		{"termination log after /dev", index(s, "/dev/termination-log") > index(s, "/dev")},
		{"kcore masked", slices.Contains(s.Linux.MaskedPaths, "/proc/kcore")},
		{"proc/sys read-only", slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys")},
	}
	for _, tc := range tests {
		if !tc.ok {
			t.Errorf("%s: spec is wrong: %+v", tc.name, s)
		}
	}

	in.Sandbox.Shm = ""
	s2, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	if m := mount(s2, "/dev/shm"); m.Type != "tmpfs" {
		t.Errorf("without a pod shm, /dev/shm = %+v, want a private tmpfs", m)
	}
	// Generate must not alias the package's default slices.
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	s.Linux.MaskedPaths[0] = "/x"
	if DefaultCapabilities[0] == "CAP_SYS_ADMIN" || maskedPaths[0] == "/x" {
		t.Error("Generate aliases the package defaults")
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
