package sandbox

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/mountpoint"
	"github.com/minipod/minipod/state"
)

// MountRoots are the directories under which a pod's monitor mounts: namespace pins and the
// pod's data (root filesystems, /dev/shm, volumes). Each monitor mounts in a mount namespace
// of its own (cmd/minipod-monitor/mountns.go), so none of a pod's mounts are in the host's
// table; these directories are what keeps it so on a host whose root mount is shared (systemd
// makes it so), where a mount made in a copy of the host's namespace would propagate back.
func MountRoots(cfg state.Config) []string {
	return []string{cfg.Network().NetNSDir, cfg.NamespacesDir(), cfg.PodDataRoot()}
}

// PrepareMountRoots makes each of MountRoots a private mount point of the calling process's
// mount namespace (the host's: pods.Create runs it before starting a monitor), bound onto
// itself once per installation like the bridge. A monitor's copies of them are then private
// too, and what it mounts below them propagates nowhere. A directory that already has mounts
// below it (pods of a minipod from before monitors had their own namespace) is left as it is:
// binding it would hide them from their own teardown.
func PrepareMountRoots(cfg state.Config) error {
	for _, dir := range MountRoots(cfg) {
		if err := mountpoint.Ensure(dir, 0o700, unix.MS_PRIVATE); err != nil {
			return fmt.Errorf("prepare mount root %s: %w", dir, err)
		}
	}
	return nil
}
