// Package unmount releases mounts the way every owner of a mount in minipod must: detached
// (a busy mount never blocks a teardown), and treating "not mounted" and "not there" as done,
// so a release can run again after a crash halfway.
package unmount

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Detach unmounts path, and any mounts stacked on it, without following a symlink at path.
// Nothing mounted there, or no path at all, is not an error.
func Detach(path string) error {
	for range 8 {
		err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		if err == nil {
			continue // another mount may be stacked below
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	return fmt.Errorf("unmount %s: still mounted after 8 unmounts", path)
}

// Tree unmounts every mount at or below dir, deepest first, so that no inner mount point is
// made unreachable by unmounting its parent. Every mount is tried; the errors are joined.
func Tree(dir string) error {
	// An empty or relative dir would match mounts all over the host.
	if !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
		return fmt.Errorf("unmount below %q: not an absolute path below /", dir)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("list mounts below %s: %w", dir, err)
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int { return len(b.Mountpoint) - len(a.Mountpoint) })
	var errs []error
	for _, mi := range mounts {
		if err := Detach(mi.Mountpoint); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
