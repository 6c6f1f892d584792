package pods

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/minipod/minipod/netns"
	"github.com/minipod/minipod/state"
)

// NetNSPath is a path to the pod's network namespace that opens from the host's mount
// namespace: its pin seen through the monitor's root (/proc/PID/root), because the pin is a
// mount in the monitor's own mount namespace. It works while the monitor runs.
func NetNSPath(cfg state.Config, namespace, name, uid string) (string, error) {
	pid, err := state.MonitorPID(cfg.PodDir(namespace, name))
	if err != nil {
		return "", fmt.Errorf("pod %s/%s: its monitor: %w", namespace, name, err)
	}
	return filepath.Join("/proc", strconv.Itoa(pid), "root", netns.PinPath(cfg.Network(), state.SandboxID(uid))), nil
}
