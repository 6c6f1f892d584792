package sandbox

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/netns"
	"github.com/minipod/minipod/portmap"
	"github.com/minipod/minipod/state"
)

// hostPortMappings are the pod's published ports: the kubelet's port mappings of the
// sandbox (generatePodSandboxConfig: the regular containers' ports, each name once, as
// MakePortMappings names them) as containerd hands them to the portmap plugin
// (toCNIPortMappings: only those with a hostPort, the protocol in lower case).
func hostPortMappings(spec *api.PodSpec) []portmap.Mapping {
	var maps []portmap.Mapping
	for _, c := range spec.Containers {
		names := map[string]bool{}
		for _, p := range c.Ports {
			name := p.Name
			if name == "" {
				family := "any"
				if p.HostIP != "" {
					family = "v4"
				}
				name = fmt.Sprintf("%s-%s-%s:%d:%d", family, p.Protocol, p.HostIP, p.ContainerPort, p.HostPort)
			}
			if names[name] {
				continue
			}
			names[name] = true
			if p.HostPort <= 0 {
				continue
			}
			m := portmap.Mapping{HostPort: uint16(p.HostPort), ContainerPort: uint16(p.ContainerPort), Protocol: strings.ToLower(string(p.Protocol))}
			if p.HostIP != "" {
				m.HostIP, _ = netip.ParseAddr(p.HostIP) // validated
			}
			maps = append(maps, m)
		}
	}
	return maps
}

// setupNAT publishes the pod's host ports and has its outbound traffic masqueraded.
func setupNAT(rec *state.Record, n *netns.Sandbox) error {
	pod := portmap.Pod{ID: rec.SandboxID(), IP: n.IP, HostVeth: n.HostVeth, Mappings: hostPortMappings(&rec.Pod.Spec)}
	if err := portmap.Setup(rec.Config.NAT(), pod); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	return nil
}

// releaseNAT removes the pod's host ports. A pod without any has nothing to remove.
func releaseNAT(rec *state.Record) error {
	if rec.Pod.Spec.HostNetwork || len(hostPortMappings(&rec.Pod.Spec)) == 0 {
		return nil
	}
	if err := portmap.Teardown(rec.Config.NAT(), rec.SandboxID()); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	return nil
}
