package unmount

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// errNoMountRootAttr: the kernel does not report STATX_ATTR_MOUNT_ROOT (before Linux 5.8).
var errNoMountRootAttr = errors.New("statx: no STATX_ATTR_MOUNT_ROOT")

// RemoveAll removes dir and everything below it. A mount met on the way is detached (with
// whatever is stacked on or below it) instead of being descended into, so nothing outside
// dir is ever removed through a mount, and a busy mount never blocks the removal.
//
// It does what Tree followed by os.RemoveAll does, without reading the host's mount table:
// /proc/self/mountinfo has a few lines per pod, and with 1,000 pods reading it costs some
// 50 ms, which every release of every container and pod would pay (quadratic in the pod
// count when all are deleted). Here each directory below dir is asked whether it is a mount
// root (statx), and each file that cannot be unlinked because it is a mount point (a pinned
// namespace) is detached first. On a kernel without STATX_ATTR_MOUNT_ROOT, Tree runs first.
func RemoveAll(dir string) error {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
		return fmt.Errorf("remove %q: not an absolute path below /", dir)
	}
	err := detachMountRoot(dir)
	if errors.Is(err, errNoMountRootAttr) {
		if err := Tree(dir); err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	return removeTree(dir)
}

// removeTree removes the directory p, which is not a mount root, with its contents.
func removeTree(p string) error {
	ents, err := os.ReadDir(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil && len(ents) == 0 {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	var errs []error
	for _, e := range ents {
		c := filepath.Join(p, e.Name())
		if e.IsDir() { // from the directory entry: a symlink is never followed
			if err := detachMountRoot(c); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := removeTree(c); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := removeFile(c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// removeFile unlinks a file; one that is a mount point (a bind-mounted file such as a pinned
// namespace) is detached first.
func removeFile(p string) error {
	err := os.Remove(p)
	if errors.Is(err, unix.EBUSY) {
		if err := Detach(p); err != nil {
			return err
		}
		err = os.Remove(p)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// detachMountRoot detaches whatever is mounted on the directory p, down to the directory
// itself; a missing p is not an error.
func detachMountRoot(p string) error {
	for range 8 {
		var st unix.Statx_t
		err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_DONT_SYNC, unix.STATX_TYPE, &st)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
			return errNoMountRootAttr
		}
		if st.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
			return nil
		}
		if err := unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount %s: %w", p, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 8 unmounts", p)
}
