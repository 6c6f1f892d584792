package pods

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// hostPort is one port a pod publishes on the host.
type hostPort struct {
	field    string // e.g. spec.containers[0].ports[1]
	protocol api.Protocol
	ip       string // "0.0.0.0" for every address
	port     int32
}

// hostPortsOf lists what a pod publishes on the host: its regular containers' ports with a
// hostPort, as the kubelet maps them (on the host's network the container port is the
// host port). The scheduler counts the same (pkg/scheduler/util GetHostPorts).
func hostPortsOf(p *api.Pod) []hostPort {
	var ports []hostPort
	for i, c := range p.Spec.Containers {
		for j, cp := range c.Ports {
			if cp.HostPort <= 0 {
				continue
			}
			ip := cp.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			ports = append(ports, hostPort{fmt.Sprintf("spec.containers[%d].ports[%d]", i, j), cp.Protocol, ip, cp.HostPort})
		}
	}
	return ports
}

// conflicts is the scheduler's HostPortInfo.CheckConflict: one protocol and port, on the
// same address or with either on every address (0.0.0.0).
func (a hostPort) conflicts(b hostPort) bool {
	return a.protocol == b.protocol && a.port == b.port && (a.ip == b.ip || a.ip == "0.0.0.0" || b.ip == "0.0.0.0")
}

// lockHostPorts refuses a pod whose host ports another pod of this installation already
// publishes: a scheduler would not place it on this node (the NodePorts filter,
// pkg/scheduler/framework/plugins/nodeports). A pod counts until it is torn down. With host
// ports, the installation's lock is held until unlock, so that the pod's record is written
// before anyone else checks.
func lockHostPorts(cfg state.Config, pod *api.Pod) (unlock func(), err error) {
	mine := hostPortsOf(pod)
	if len(mine) == 0 {
		return func() {}, nil
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(cfg.HostPortsLock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("host ports lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("host ports lock: %w", err)
	}
	unlock = func() { f.Close() }
	entries, err := os.ReadDir(cfg.PodsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		unlock()
		return nil, err
	}
	for _, e := range entries {
		dir := filepath.Join(cfg.PodsDir(), e.Name())
		rec, err := state.ReadRecord(dir)
		if err != nil || state.TornDown(dir) {
			continue // being created (it would hold the lock) or removed, or released
		}
		for _, theirs := range hostPortsOf(&rec.Pod) {
			for _, p := range mine {
				if p.conflicts(theirs) {
					unlock()
					m := rec.Pod.Metadata
					return nil, fmt.Errorf("pod %s/%s: %s: host port %d/%s on %s is already taken by pod %s/%s (%s); a scheduler would not place this pod on the node: node(s) didn't have free ports for the requested pod ports",
						pod.Metadata.Namespace, pod.Metadata.Name, p.field, p.port, p.protocol, p.ip, m.Namespace, m.Name, theirs.field)
				}
			}
		}
	}
	return unlock, nil
}
