package sandbox

import (
	"fmt"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/portmap"
)

func TestPodNames(t *testing.T) {
	yes := true
	long := strings.Repeat("a", 62) + "-b"
	tests := []struct {
		name                           string
		meta, hostname, subdomain      string
		fqdn                           *bool
		wantHost, wantDomain, wantNode string
		wantErr                        string
	}{
		{"pod name", "web", "", "", nil, "web", "", "web", ""},
		{"spec.hostname", "web", "front", "", nil, "front", "", "front", ""},
		{"subdomain", "web", "busybox-1", "busybox-subdomain", nil, "busybox-1", "busybox-subdomain.default.svc.cluster.local", "busybox-1", ""},
		{"setHostnameAsFQDN", "web", "busybox-1", "sub", &yes, "busybox-1", "sub.default.svc.cluster.local", "busybox-1.sub.default.svc.cluster.local", ""},
		{"setHostnameAsFQDN without subdomain", "web", "", "", &yes, "web", "", "web", ""},
		{"truncated at 63, no trailing dash", long, "", "", nil, strings.Repeat("a", 62), "", strings.Repeat("a", 62), ""},
		{"FQDN too long", "web", strings.Repeat("h", 40), "sub", &yes, "", "", "", "is too long (64 characters is the max, 70 characters requested)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &api.Pod{Metadata: api.ObjectMeta{Name: tt.meta, Namespace: "default"}}
			pod.Spec.Hostname, pod.Spec.Subdomain, pod.Spec.SetHostnameAsFQDN = tt.hostname, tt.subdomain, tt.fqdn
			h, d, n, err := podNames(pod, "cluster.local")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || h != tt.wantHost || d != tt.wantDomain || n != tt.wantNode {
				t.Errorf("podNames = %q %q %q %v, want %q %q %q", h, d, n, err, tt.wantHost, tt.wantDomain, tt.wantNode)
			}
		})
	}
}

func TestHostPortMappings(t *testing.T) {
	spec := &api.PodSpec{
		InitContainers: []api.Container{{Name: "i", Ports: []api.ContainerPort{{ContainerPort: 1, HostPort: 1, Protocol: api.ProtocolTCP}}}},
		Containers: []api.Container{
			{Name: "a", Ports: []api.ContainerPort{
				{ContainerPort: 80, HostPort: 8080, Protocol: api.ProtocolTCP},
				{ContainerPort: 81, Protocol: api.ProtocolTCP},
				{Name: "dns", ContainerPort: 53, HostPort: 5353, Protocol: api.ProtocolUDP, HostIP: "127.0.0.1"},
				{Name: "dns", ContainerPort: 54, HostPort: 5454, Protocol: api.ProtocolUDP},
			}},
			{Name: "b", Ports: []api.ContainerPort{{ContainerPort: 9000, HostPort: 9000, Protocol: api.ProtocolSCTP}}},
		},
	}
	got := hostPortMappings(spec)
	want := []string{"any tcp 8080->80", "127.0.0.1 udp 5353->53", "any sctp 9000->9000"}
	if len(got) != len(want) {
		t.Fatalf("mappings %+v, want %q", got, want)
	}
	for i, m := range got {
		if s := describe(m); s != want[i] {
			t.Errorf("mapping %d: %s, want %s", i, s, want[i])
		}
	}
}

func describe(m portmap.Mapping) string {
	ip := "any"
	if m.HostIP.IsValid() {
		ip = m.HostIP.String()
	}
	return fmt.Sprintf("%s %s %d->%d", ip, m.Protocol, m.HostPort, m.ContainerPort)
}
