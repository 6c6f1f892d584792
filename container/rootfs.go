package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/unmount"
)

// mountRootfs mounts the instance's copy-on-write root filesystem at <dir>/rootfs: the image
// layers read-only below a fresh upper layer, so every attempt starts from the image, as in
// Kubernetes. It returns the mount point.
func mountRootfs(dir string, layers []string) (string, error) {
	upper, work, rootfs := UpperDir(dir), filepath.Join(dir, "work"), filepath.Join(dir, "rootfs")
	for _, d := range []string{upper, work, rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("create root filesystem dirs: %w", err)
		}
	}
	if len(layers) == 0 {
		return "", errors.New("mount root filesystem: the image has no layers")
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		lower[len(layers)-1-i] = l
	}
	// volatile: the upper layer is thrown away with the instance, so skip its syncs.
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,volatile", strings.Join(lower, ":"), upper, work)
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("mount overlay root filesystem: %w", err)
	}
	return rootfs, nil
}

// UpperDir is the writable layer of the instance whose data dir is dir: what the container
// wrote to its root filesystem.
func UpperDir(dir string) string { return filepath.Join(dir, "upper") }

// releaseRootfs unmounts the root filesystem and removes the instance's data dir (without
// reading the host's mount table, which grows with every pod: see unmount.RemoveAll).
func releaseRootfs(dir string) error {
	if err := unmount.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove container dir: %w", err)
	}
	return nil
}
