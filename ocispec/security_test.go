package ocispec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/api"
)

// hostCaps is a host without CAP_SYS_RESOURCE, like the machines minipod is tested on.
var hostCaps = func() []string {
	var caps []string
	for c := range knownCapabilities() {
		if c != "CAP_SYS_RESOURCE" {
			caps = append(caps, c)
		}
	}
	slices.Sort(caps)
	return caps
}()

func secInput(pod *api.PodSecurityContext, ctr *api.SecurityContext) *Input {
	in := &Input{
		Pod:       &api.Pod{},
		Container: &api.Container{Name: "c", Command: []string{"x"}, SecurityContext: ctr},
		Field:     "spec.containers[0]",
		Sandbox:   Sandbox{EtcHosts: "/p/hosts", EtcHostname: "/p/hostname", EtcResolvConf: "/p/resolv.conf"},
		Host: Host{Capabilities: hostCaps, AppArmorDefault: "cri-containerd.apparmor.d",
			Devices: []specs.LinuxDevice{{Path: "/dev/sda", Type: "b", Major: 8}}},
	}
	in.Pod.Spec.SecurityContext = pod
	return in
}

func caps(add, drop []api.Capability) *api.SecurityContext {
	return &api.SecurityContext{Capabilities: &api.Capabilities{Add: add, Drop: drop}}
}

func TestCapabilities(t *testing.T) {
	withDefault := func(extra ...string) []string { return append(slices.Clone(DefaultCapabilities), extra...) }
	tests := []struct {
		name    string
		ctr     *api.SecurityContext
		want    []string
		wantErr string
	}{
		{name: "defaults", want: DefaultCapabilities},
		{name: "add without CAP_", ctr: caps([]api.Capability{"NET_ADMIN", "SYS_TIME"}, nil), want: withDefault("CAP_NET_ADMIN", "CAP_SYS_TIME")},
		{name: "add with CAP_ and lower case", ctr: caps([]api.Capability{"CAP_NET_ADMIN", "sys_time"}, nil), want: withDefault("CAP_NET_ADMIN", "CAP_SYS_TIME")},
		{name: "add a default one: no duplicate", ctr: caps([]api.Capability{"CHOWN"}, nil), want: DefaultCapabilities},
		{name: "drop", ctr: caps(nil, []api.Capability{"NET_RAW", "CAP_CHOWN", "sys_admin"}),
			want: slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return c == "CAP_NET_RAW" || c == "CAP_CHOWN" })},
		{name: "drop ALL", ctr: caps(nil, []api.Capability{"ALL"}), want: nil},
		{name: "drop all, add one", ctr: caps([]api.Capability{"NET_BIND_SERVICE"}, []api.Capability{"all"}), want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "add ALL, drop one", ctr: caps([]api.Capability{"ALL"}, []api.Capability{"SYS_ADMIN"}),
			want: slices.DeleteFunc(slices.Clone(hostCaps), func(c string) bool { return c == "CAP_SYS_ADMIN" })},
		{name: "add and drop ALL", ctr: caps([]api.Capability{"ALL"}, []api.Capability{"ALL"}), want: nil},
		{name: "unknown", ctr: caps([]api.Capability{"NET_ADMN"}, nil), wantErr: "invalid capability specified: CAP_NET_ADMN"},
		{name: "unknown drop", ctr: caps(nil, []api.Capability{"FOO"}), wantErr: "invalid capability specified: CAP_FOO"},
		{name: "not held by minipod", ctr: caps([]api.Capability{"SYS_RESOURCE"}, nil), wantErr: "capability CAP_SYS_RESOURCE cannot be added: minipod itself does not hold it"},
		{name: "privileged: all of the host's, whatever add and drop say", ctr: &api.SecurityContext{Privileged: new(true), Capabilities: &api.Capabilities{Drop: []api.Capability{"ALL"}}}, want: hostCaps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Generate(secInput(nil, tt.ctr))
			if tt.wantErr != "" {
				var ce *CreateError
				if !errors.As(err, &ce) || ce.Reason != ReasonCreateContainerError || !strings.Contains(ce.Message, tt.wantErr) {
					t.Fatalf("err = %v, want CreateContainerError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := s.Process.Capabilities
			for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted} {
				if !slices.Equal(set, tt.want) {
					t.Fatalf("capabilities %v, want %v", set, tt.want)
				}
			}
			if len(c.Inheritable) > 0 || len(c.Ambient) > 0 {
				t.Errorf("inheritable %v ambient %v, want none", c.Inheritable, c.Ambient)
			}
		})
	}
}

func TestSecurityContext(t *testing.T) {
	yes, no := true, false
	unmasked, def := api.UnmaskedProcMount, api.DefaultProcMount
	local := "k8s-apparmor-example-deny-write"
	tests := []struct {
		name  string
		pod   *api.PodSecurityContext
		ctr   *api.SecurityContext
		annot map[string]string
		check func(t *testing.T, s *specs.Spec)
	}{
		{name: "defaults", check: func(t *testing.T, s *specs.Spec) {
			if s.Process.NoNewPrivileges || s.Root.Readonly || s.Process.ApparmorProfile != "" || s.Linux.Seccomp != nil || s.Linux.Sysctl != nil {
				t.Errorf("process %+v root %+v", s.Process, s.Root)
			}
			if !slices.Equal(s.Linux.MaskedPaths, maskedPaths) || !slices.Equal(s.Linux.ReadonlyPaths, readonlyPaths) {
				t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
			}
			if !hasOpt(s, "/sys", "ro") || !hasOpt(s, "/sys/fs/cgroup", "ro") || len(s.Linux.Devices) > 0 || (s.Linux.Resources != nil && len(s.Linux.Resources.Devices) > 0) {
				t.Errorf("unprivileged container got host access: %+v", s.Linux)
			}
		}},
		{name: "allowPrivilegeEscalation false: no_new_privs", ctr: &api.SecurityContext{AllowPrivilegeEscalation: &no}, check: func(t *testing.T, s *specs.Spec) {
			if !s.Process.NoNewPrivileges {
				t.Error("no no_new_privs")
			}
		}},
		{name: "allowPrivilegeEscalation true", ctr: &api.SecurityContext{AllowPrivilegeEscalation: &yes}, check: func(t *testing.T, s *specs.Spec) {
			if s.Process.NoNewPrivileges {
				t.Error("no_new_privs set")
			}
		}},
		{name: "procMount Unmasked", ctr: &api.SecurityContext{ProcMount: &unmasked}, check: func(t *testing.T, s *specs.Spec) {
			if len(s.Linux.MaskedPaths)+len(s.Linux.ReadonlyPaths) > 0 {
				t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
			}
		}},
		{name: "procMount Default", ctr: &api.SecurityContext{ProcMount: &def}, check: func(t *testing.T, s *specs.Spec) {
			if !slices.Equal(s.Linux.MaskedPaths, maskedPaths) {
				t.Errorf("masked %v", s.Linux.MaskedPaths)
			}
		}},
		{name: "readOnlyRootFilesystem", ctr: &api.SecurityContext{ReadOnlyRootFilesystem: &yes}, check: func(t *testing.T, s *specs.Spec) {
			if !s.Root.Readonly || !hasOpt(s, "/etc/hostname", "ro") || !hasOpt(s, "/etc/resolv.conf", "ro") || hasOpt(s, "/etc/hosts", "ro") {
				t.Errorf("root %+v mounts %+v", s.Root, s.Mounts)
			}
		}},
		{name: "writable root: writable etc files", check: func(t *testing.T, s *specs.Spec) {
			if hasOpt(s, "/etc/hostname", "ro") || hasOpt(s, "/etc/resolv.conf", "ro") {
				t.Errorf("mounts %+v", s.Mounts)
			}
		}},
		{name: "privileged", pod: &api.PodSecurityContext{SeccompProfile: &api.SeccompProfile{Type: api.SeccompProfileTypeRuntimeDefault},
			AppArmorProfile: &api.AppArmorProfile{Type: api.AppArmorProfileTypeRuntimeDefault}},
			ctr: &api.SecurityContext{Privileged: &yes}, check: func(t *testing.T, s *specs.Spec) {
				if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
					t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
				if !hasOpt(s, "/sys", "rw") || !hasOpt(s, "/sys/fs/cgroup", "rw") || hasOpt(s, "/sys", "ro") {
					t.Errorf("sysfs and cgroupfs not writable: %+v", s.Mounts)
				}
				if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/sda" {
					t.Errorf("devices %+v, want the host's", s.Linux.Devices)
				}
				if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Access != "rwm" || d[0].Type != "" {
					t.Errorf("device rules %+v, want all allowed", d)
				}
				if s.Linux.Seccomp != nil || s.Process.ApparmorProfile != "" {
					t.Errorf("seccomp %v apparmor %q, want none", s.Linux.Seccomp != nil, s.Process.ApparmorProfile)
				}
			}},
		{name: "privileged does not change the default mounts of others", ctr: &api.SecurityContext{Privileged: &no}, check: func(t *testing.T, s *specs.Spec) {
			if !hasOpt(s, "/sys", "ro") || slices.Contains(systemMounts()[4].Options, "rw") {
				t.Error("sysfs not read-only")
			}
		}},
		{name: "sysctls, slashes to dots", pod: &api.PodSecurityContext{Sysctls: []api.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"}, {Name: "kernel/shm_rmid_forced", Value: "1"}}},
			check: func(t *testing.T, s *specs.Spec) {
				if len(s.Linux.Sysctl) != 2 || s.Linux.Sysctl["net.ipv4.ip_local_port_range"] != "1024 65535" || s.Linux.Sysctl["kernel.shm_rmid_forced"] != "1" {
					t.Errorf("sysctls %v", s.Linux.Sysctl)
				}
			}},
		{name: "apparmor localhost from the pod", pod: &api.PodSecurityContext{AppArmorProfile: &api.AppArmorProfile{Type: api.AppArmorProfileTypeLocalhost, LocalhostProfile: &local}},
			check: func(t *testing.T, s *specs.Spec) {
				if s.Process.ApparmorProfile != local {
					t.Errorf("apparmor %q", s.Process.ApparmorProfile)
				}
			}},
		{name: "apparmor runtime default", ctr: &api.SecurityContext{AppArmorProfile: &api.AppArmorProfile{Type: api.AppArmorProfileTypeRuntimeDefault}},
			check: func(t *testing.T, s *specs.Spec) {
				if s.Process.ApparmorProfile != "cri-containerd.apparmor.d" {
					t.Errorf("apparmor %q", s.Process.ApparmorProfile)
				}
			}},
		{name: "apparmor annotation over the pod's field", pod: &api.PodSecurityContext{AppArmorProfile: &api.AppArmorProfile{Type: api.AppArmorProfileTypeRuntimeDefault}},
			annot: map[string]string{api.AppArmorBetaContainerAnnotationKeyPrefix + "c": "localhost/" + local},
			check: func(t *testing.T, s *specs.Spec) {
				if s.Process.ApparmorProfile != local {
					t.Errorf("apparmor %q", s.Process.ApparmorProfile)
				}
			}},
		{name: "apparmor unconfined", ctr: &api.SecurityContext{AppArmorProfile: &api.AppArmorProfile{Type: api.AppArmorProfileTypeUnconfined}},
			check: func(t *testing.T, s *specs.Spec) {
				if s.Process.ApparmorProfile != "" {
					t.Errorf("apparmor %q", s.Process.ApparmorProfile)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := secInput(tt.pod, tt.ctr)
			in.Pod.Metadata.Annotations = tt.annot
			s, err := Generate(in)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestSeccomp(t *testing.T) {
	runtimeDefault := &api.SeccompProfile{Type: api.SeccompProfileTypeRuntimeDefault}
	unconfined := &api.SeccompProfile{Type: api.SeccompProfileTypeUnconfined}
	name := "profiles/fine.json"
	localhost := &api.SeccompProfile{Type: api.SeccompProfileTypeLocalhost, LocalhostProfile: &name}
	const fine = `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}`
	tests := []struct {
		name           string
		pod            *api.PodSecurityContext
		ctr            *api.SecurityContext
		seccompDefault bool
		profile        string
		want           string // "" none, "default", "localhost"
		wantErr        string
	}{
		{name: "none by default", want: ""},
		{name: "--seccomp-default", seccompDefault: true, want: "default"},
		{name: "pod RuntimeDefault", pod: &api.PodSecurityContext{SeccompProfile: runtimeDefault}, want: "default"},
		{name: "container Unconfined over the pod's", pod: &api.PodSecurityContext{SeccompProfile: runtimeDefault},
			ctr: &api.SecurityContext{SeccompProfile: unconfined}, want: ""},
		{name: "Unconfined over --seccomp-default", seccompDefault: true, pod: &api.PodSecurityContext{SeccompProfile: unconfined}, want: ""},
		{name: "localhost", ctr: &api.SecurityContext{SeccompProfile: localhost}, profile: fine, want: "localhost"},
		{name: "localhost not read", ctr: &api.SecurityContext{SeccompProfile: localhost}, wantErr: `seccomp profile "profiles/fine.json" was not read`},
		{name: "localhost not JSON", ctr: &api.SecurityContext{SeccompProfile: localhost}, profile: "{", wantErr: `decoding seccomp profile failed "profiles/fine.json"`},
		{name: "privileged: none", pod: &api.PodSecurityContext{SeccompProfile: localhost}, ctr: &api.SecurityContext{Privileged: new(true)}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := secInput(tt.pod, tt.ctr)
			in.Host.SeccompDefault = tt.seccompDefault
			if tt.profile != "" {
				in.Host.SeccompProfile = []byte(tt.profile)
			}
			s, err := Generate(in)
			if tt.wantErr != "" {
				var ce *CreateError
				if !errors.As(err, &ce) || ce.Reason != ReasonCreateContainerError || !strings.Contains(ce.Message, tt.wantErr) {
					t.Fatalf("err = %v, want CreateContainerError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sp := s.Linux.Seccomp
			switch tt.want {
			case "":
				if sp != nil {
					t.Errorf("seccomp %+v, want none", sp)
				}
			case "default":
				// The moby profile: EPERM by default; unshare and mount only with CAP_SYS_ADMIN.
				if sp == nil || sp.DefaultAction != specs.ActErrno || !allowed(sp, "read") || allowed(sp, "unshare") || allowed(sp, "mount") {
					t.Errorf("seccomp %+v, want the default profile", sp)
				}
			case "localhost":
				if sp == nil || sp.DefaultAction != specs.ActErrno || len(sp.Syscalls) != 1 || !slices.Equal(sp.Syscalls[0].Names, []string{"read", "write"}) {
					t.Errorf("seccomp %+v, want the file's", sp)
				}
			}
		})
	}
	// The default profile follows the capabilities: with CAP_SYS_ADMIN, unshare is allowed.
	in := secInput(&api.PodSecurityContext{SeccompProfile: runtimeDefault}, caps([]api.Capability{"SYS_ADMIN"}, nil))
	s, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	if !allowed(s.Linux.Seccomp, "unshare") {
		t.Error("unshare not allowed with CAP_SYS_ADMIN")
	}

	pod := &api.Pod{}
	pod.Spec.SecurityContext = &api.PodSecurityContext{SeccompProfile: localhost}
	if got := LocalhostSeccompProfile(pod, &api.Container{}, "/var/lib/minipod/seccomp"); got != "/var/lib/minipod/seccomp/profiles/fine.json" {
		t.Errorf("LocalhostSeccompProfile = %q", got)
	}
	if got := LocalhostSeccompProfile(pod, &api.Container{SecurityContext: &api.SecurityContext{Privileged: new(true)}}, "/r"); got != "" {
		t.Errorf("privileged: LocalhostSeccompProfile = %q, want none", got)
	}
}

// allowed reports whether a profile allows a syscall without conditions on its arguments.
func allowed(sp *specs.LinuxSeccomp, name string) bool {
	for _, sc := range sp.Syscalls {
		if sc.Action == specs.ActAllow && len(sc.Args) == 0 && slices.Contains(sc.Names, name) {
			return true
		}
	}
	return false
}

func hasOpt(s *specs.Spec, dst, opt string) bool {
	return slices.Contains(mount(s, dst).Options, opt)
}

func TestHostDevices(t *testing.T) {
	devs, err := HostDevices("/dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Path == "/dev/null" {
			if d.Type != "c" || d.Major != 1 || d.Minor != 3 || d.FileMode == nil || *d.FileMode&0o666 != 0o666 {
				t.Errorf("/dev/null = %+v", d)
			}
			return
		}
		if strings.HasPrefix(d.Path, "/dev/pts/") || d.Path == "/dev/console" {
			t.Errorf("%s listed", d.Path)
		}
	}
	t.Errorf("/dev/null not among %d host devices", len(devs))
}
