// Package mountpoint makes a directory a mount point of its own with the propagation asked
// for: the one way minipod sets up the directories it mounts below (namespace pins, pods'
// data), whatever the host's mounts above them propagate.
package mountpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Ensure creates dir (with perm) if needed and makes it a mount point with propagation
// (unix.MS_SHARED, MS_PRIVATE, MS_SLAVE): bound onto itself if it is not one yet. Cheap
// when done already, so it can run before every use rather than being cached (the mount
// may have gone meanwhile). A directory that has mounts below it but is not a mount point
// is left as it is (binding it would hide them from whoever unmounts them). Concurrent
// callers, in goroutines or processes, are serialised on a lock of dir.
func Ensure(dir string, perm os.FileMode, propagation uintptr) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// Without the lock two callers could bind the directory onto itself and stack two mounts.
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	err = unix.Mount("", dir, "", propagation, "")
	if !errors.Is(err, unix.EINVAL) { // EINVAL: not a mount point yet
		return err
	}
	if busy, err := hasMountsBelow(dir); err != nil || busy {
		return err
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s onto itself: %w", dir, err)
	}
	return unix.Mount("", dir, "", propagation, "")
}

// hasMountsBelow reports whether a mount point lies below dir; it reads the mount table only
// when dir is not a mount point yet, once per installation.
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
