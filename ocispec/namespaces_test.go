package ocispec

import (
	"reflect"
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
		name string
		host api.PodHostSpec
		sb   Sandbox
		want []specs.LinuxNamespace
	}{
		{"pod namespaces", api.PodHostSpec{}, sb, []specs.LinuxNamespace{
			ns(specs.PIDNamespace, ""), ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"),
			ns(specs.IPCNamespace, "/ns/ipc"), ns(specs.UTSNamespace, "/ns/uts")}},
		{"hostNetwork: the host's network and UTS namespaces", api.PodHostSpec{HostNetwork: true}, sb, []specs.LinuxNamespace{
			ns(specs.PIDNamespace, ""), ns(specs.MountNamespace, ""), ns(specs.IPCNamespace, "/ns/ipc")}},
		{"hostPID and hostIPC", api.PodHostSpec{HostPID: true, HostIPC: true}, sb, []specs.LinuxNamespace{
			ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"), ns(specs.UTSNamespace, "/ns/uts")}},
		{"shareProcessNamespace", api.PodHostSpec{ShareProcessNamespace: new(bool)}, shared, []specs.LinuxNamespace{
			ns(specs.PIDNamespace, "/proc/42/ns/pid"), ns(specs.MountNamespace, ""), ns(specs.NetworkNamespace, "/ns/net"),
			ns(specs.IPCNamespace, "/ns/ipc"), ns(specs.UTSNamespace, "/ns/uts")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &api.Pod{Spec: api.PodSpec{PodHostSpec: tt.host}}
			s := &specs.Spec{Linux: &specs.Linux{}}
			if err := withNamespaces(s, &Input{Pod: pod, Sandbox: tt.sb}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Linux.Namespaces, tt.want) {
				t.Errorf("namespaces\n%v\nwant\n%v", s.Linux.Namespaces, tt.want)
			}
		})
	}
}
