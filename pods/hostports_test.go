package pods

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/state"
)

func portPod(name string, ports ...api.ContainerPort) *api.Pod {
	p := &api.Pod{Metadata: api.ObjectMeta{Name: name, Namespace: "default"}}
	p.Spec.Containers = []api.Container{{Name: "c", Ports: ports}}
	return p
}

func TestHostPortConflicts(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.StateDir = t.TempDir()
	record := func(p *api.Pod, tornDown bool) {
		dir := cfg.PodDir(p.Metadata.Namespace, p.Metadata.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteJSON(filepath.Join(dir, state.RecordFile), &state.Record{Config: cfg, Pod: *p}, 0o600); err != nil {
			t.Fatal(err)
		}
		if tornDown {
			os.WriteFile(filepath.Join(dir, state.TornDownFile), nil, 0o644)
		}
	}
	tcp := func(port int32, ip string) api.ContainerPort {
		return api.ContainerPort{ContainerPort: 80, HostPort: port, Protocol: api.ProtocolTCP, HostIP: ip}
	}
	record(portPod("web", tcp(8080, ""), api.ContainerPort{ContainerPort: 53, HostPort: 5353, Protocol: api.ProtocolUDP}), false)
	record(portPod("local", tcp(9090, "127.0.0.1")), false)
	record(portPod("gone", tcp(7070, "")), true)
	tests := []struct {
		name string
		pod  *api.Pod
		want string // substring of the error; "" for none
	}{
		{"no host ports", portPod("a", api.ContainerPort{ContainerPort: 8080, Protocol: api.ProtocolTCP}), ""},
		{"same port, every address", portPod("a", tcp(8080, "")), "pod default/a: spec.containers[0].ports[0]: host port 8080/TCP on 0.0.0.0 is already taken by pod default/web (spec.containers[0].ports[0])"},
		{"same port on one address against every address", portPod("a", tcp(8080, "10.0.0.1")), "taken by pod default/web"},
		{"same port and address", portPod("a", tcp(9090, "127.0.0.1")), "taken by pod default/local"},
		{"every address against one address", portPod("a", tcp(9090, "")), "taken by pod default/local"},
		{"another address", portPod("a", tcp(9090, "10.0.0.1")), ""},
		{"another protocol", portPod("a", api.ContainerPort{ContainerPort: 80, HostPort: 8080, Protocol: api.ProtocolUDP}), ""},
		{"a torn-down pod holds nothing", portPod("a", tcp(7070, "")), ""},
		{"UDP too", portPod("a", api.ContainerPort{ContainerPort: 53, HostPort: 5353, Protocol: api.ProtocolUDP}), "host port 5353/UDP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unlock, err := lockHostPorts(cfg, tt.pod)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				unlock()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}
