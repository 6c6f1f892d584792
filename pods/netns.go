package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minipod/minipod/state"
)

// NetNSPath is a path to the pod's network namespace that opens from the host's mount
// namespace: its pin seen through the monitor's root (/proc/PID/root), because the pin is a
// mount in the monitor's own mount namespace. It works while the monitor runs.
func NetNSPath(cfg state.Config, namespace, name, uid string) (string, error) {
	b, err := os.ReadFile(filepath.Join(cfg.PodDir(namespace, name), state.PIDFile))
	if err != nil {
		return "", fmt.Errorf("pod %s/%s: its monitor: %w", namespace, name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return "", fmt.Errorf("pod %s/%s: its monitor's pid %q", namespace, name, b)
	}
	return filepath.Join("/proc", strconv.Itoa(pid), "root", cfg.Network().NetNSDir, state.SandboxID(uid)), nil
}
