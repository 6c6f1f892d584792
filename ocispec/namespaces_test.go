package ocispec

import (
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/api"
)

func TestNamespaces(t *testing.T) {
	sb := Sandbox{NetNS: "/ns/net", IPCNS: "/ns/ipc", UTSNS: "/ns/uts"}
	shared := sb
	shared.PIDNS = "/proc/42/ns/pid"
	ns := func(typ specs.LinuxNamespaceType, path string) specs.LinuxNamespace {
		return specs.LinuxNamespace{Type: typ, Path: path}
	}
	tests := []struct {
		name   string
		host   api.PodHostSpec
		sb     Sandbox
		target string
		want   []specs.LinuxNamespace
	}{
		{"pod namespaces", api.PodHostSpec{}, sb, "", []specs.LinuxNamespace{
			ns(specs.PIDNamespace, ""), ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"),
			ns(specs.IPCNamespace, "/ns/ipc"), ns(specs.UTSNamespace, "/ns/uts")}},
		{"hostNetwork: the host's network and UTS namespaces", api.PodHostSpec{HostNetwork: true}, sb, "", []specs.LinuxNamespace{
			ns(specs.PIDNamespace, ""), ns(specs.MountNamespace, ""), ns(specs.IPCNamespace, "/ns/ipc")}},
		{"hostPID and hostIPC", api.PodHostSpec{HostPID: true, HostIPC: true}, sb, "", []specs.LinuxNamespace{
			ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"), ns(specs.UTSNamespace, "/ns/uts")}},
		{"shareProcessNamespace", api.PodHostSpec{ShareProcessNamespace: new(bool)}, shared, "", []specs.LinuxNamespace{
			ns(specs.PIDNamespace, "/proc/42/ns/pid"), ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"),
			ns(specs.IPCNamespace, "/ns/ipc"), ns(specs.UTSNamespace, "/ns/uts")}},
		{"ephemeral container: its target's PID namespace", api.PodHostSpec{}, sb, "/proc/7/ns/pid", []specs.LinuxNamespace{
			ns(specs.PIDNamespace, "/proc/7/ns/pid"), ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"),
			ns(specs.IPCNamespace, "/ns/ipc"), ns(specs.UTSNamespace, "/ns/uts")}},
		{"ephemeral container, shared PID namespace: the pod's wins", api.PodHostSpec{ShareProcessNamespace: new(bool)}, shared, "/proc/7/ns/pid", []specs.LinuxNamespace{
			ns(specs.PIDNamespace, "/proc/42/ns/pid"), ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"),
			ns(specs.IPCNamespace, "/ns/ipc"), ns(specs.UTSNamespace, "/ns/uts")}},
		{"ephemeral container, hostPID: the host's wins", api.PodHostSpec{HostPID: true}, sb, "/proc/7/ns/pid", []specs.LinuxNamespace{
			ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"),
			ns(specs.IPCNamespace, "/ns/ipc"), ns(specs.UTSNamespace, "/ns/uts")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &api.Pod{Spec: api.PodSpec{PodHostSpec: tt.host}}
			s := &specs.Spec{Linux: &specs.Linux{}}
			if err := withNamespaces(s, &Input{Pod: pod, Sandbox: tt.sb, TargetPIDNS: tt.target}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Linux.Namespaces, tt.want) {
				t.Errorf("namespaces\n%v\nwant\n%v", s.Linux.Namespaces, tt.want)
			}
		})
	}
}

// An ephemeral container (kubectl debug --target) is generated like any container of the pod,
// with its target's PID namespace and the capability its debug profile adds.
func TestGenerateEphemeralWithTarget(t *testing.T) {
	ec := api.EphemeralContainer{
		Container: api.Container{Name: "debugger", Image: "busybox", Command: []string{"sh"}, Stdin: true, TTY: true,
			SecurityContext: &api.SecurityContext{Capabilities: &api.Capabilities{Add: []api.Capability{"SYS_PTRACE"}}}},
		TargetContainerName: "app",
	}
	in := &Input{
		Pod:         &api.Pod{Spec: api.PodSpec{Containers: []api.Container{{Name: "app"}}, EphemeralContainers: []api.EphemeralContainer{ec}}},
		Container:   &ec.Container,
		Field:       "spec.ephemeralContainers[0]",
		Rootfs:      "/r",
		Cgroup:      "minipod/pod1/debugger",
		Sandbox:     Sandbox{NetNS: "/ns/net", IPCNS: "/ns/ipc", UTSNS: "/ns/uts"},
		TargetPIDNS: "/proc/4242/ns/pid",
	}
	s, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace, Path: "/proc/4242/ns/pid"}, {Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: "/ns/net"}, {Type: specs.IPCNamespace, Path: "/ns/ipc"}, {Type: specs.UTSNamespace, Path: "/ns/uts"},
	}
	if !reflect.DeepEqual(s.Linux.Namespaces, want) {
		t.Errorf("namespaces\n%v\nwant\n%v", s.Linux.Namespaces, want)
	}
	if !slices.Contains(s.Process.Capabilities.Effective, "CAP_SYS_PTRACE") || !s.Process.Terminal || s.Process.Args[0] != "sh" {
		t.Errorf("process %+v", s.Process)
	}
}
