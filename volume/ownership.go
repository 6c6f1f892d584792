package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/minipod/minipod/api"
)

// The kubelet's permission masks (pkg/volume/volume_linux.go).
const (
	rwMask   = os.FileMode(0o660)
	roMask   = os.FileMode(0o440)
	execMask = os.FileMode(0o110)
)

// ApplyFSGroup gives the pod's fsGroup the volumes that support ownership management, as the
// kubelet's volume plugins do when they set a volume up: emptyDir and writable claims here
// (configMap, secret, downwardAPI and projected volumes do too; hostPath and images never).
func ApplyFSGroup(src Sources, vols []api.Volume, sc *api.PodSecurityContext) error {
	if sc == nil || sc.FSGroup == nil {
		return nil
	}
	for i, v := range vols {
		if !attributes(&v).OwnershipManaged {
			continue
		}
		if err := SetOwnership(src[v.Name], *sc.FSGroup, sc.FSGroupChangePolicy, false); err != nil {
			return fmt.Errorf("spec.volumes[%d]: %w", i, err)
		}
	}
	return nil
}

// SetOwnership is the kubelet's SetVolumeOwnership: every file below dir, dir included, gets
// group fsGroup and group read-write (read-only for a read-only volume) permissions,
// directories also the setgid bit and group search, so that new files inherit the group.
// Symlinks get the group but keep their mode. With fsGroupChangePolicy OnRootMismatch, a
// volume whose root already has the group and the permissions is left alone.
func SetOwnership(dir string, fsGroup int64, policy *api.PodFSGroupChangePolicy, readOnly bool) error {
	if policy != nil && *policy == api.FSGroupChangeOnRootMismatch && !requiresPermissionChange(dir, fsGroup, readOnly) {
		return nil
	}
	mask := rwMask
	if readOnly {
		mask = roMask
	}
	err := walkDeep(dir, func(p string, info fs.FileInfo) error {
		if err := os.Lchown(p, -1, int(fsGroup)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("set volume ownership: %w", err)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		m := mask
		if info.IsDir() {
			m |= os.ModeSetgid | execMask
		}
		if err := os.Chmod(p, info.Mode()|m); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("set volume permissions: %w", err)
		}
		return nil
	})
	return err
}

// requiresPermissionChange is the kubelet's: the root has another group, lacks the
// permissions or the setgid bit, or is not a directory.
func requiresPermissionChange(dir string, fsGroup int64, readOnly bool) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int64(st.Gid) != fsGroup || !fi.IsDir() {
		return true
	}
	perms := rwMask
	if readOnly {
		perms = roMask
	}
	perms |= execMask
	return fi.Mode().Perm()&perms != perms || fi.Mode()&os.ModeSetgid == 0
}

// walkDeep visits every file below root without following symlinks, each directory after
// its contents (the kubelet's walkDeep).
func walkDeep(root string, fn func(string, fs.FileInfo) error) error {
	info, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if info.IsDir() {
		entries, err := os.ReadDir(root)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := walkDeep(filepath.Join(root, e.Name()), fn); err != nil {
				return err
			}
		}
	}
	return fn(root, info)
}
