package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

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
		if err := privateMountPoint(dir); err != nil {
			return fmt.Errorf("prepare mount root %s: %w", dir, err)
		}
	}
	return nil
}

func privateMountPoint(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// Concurrent creates (processes) may race here; without the lock two could bind the
	// directory onto itself and stack two mounts.
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	err = unix.Mount("", dir, "", unix.MS_PRIVATE, "")
	if !errors.Is(err, unix.EINVAL) { // EINVAL: not a mount point yet
		return err
	}
	if busy, err := hasMountsBelow(dir); err != nil || busy {
		return err
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind onto itself: %w", err)
	}
	return unix.Mount("", dir, "", unix.MS_PRIVATE, "")
}

// hasMountsBelow reports whether a mount point lies below dir (its mount table entries are
// read only when dir is not yet a mount point: once per installation).
func hasMountsBelow(dir string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	prefix := filepath.Clean(dir) + "/"
	for line := range strings.SplitSeq(string(b), "\n") {
		// id parent major:minor root mount-point ... (mountinfo escapes blanks in paths)
		if fields := strings.Fields(line); len(fields) > 4 && strings.HasPrefix(fields[4], prefix) {
			return true, nil
		}
	}
	return false, nil
}
