package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// sysfsPath is the pod's pinned sysfs, below its data dir: releaseDataDir unmounts it.
func sysfsPath(rec *state.Record) string { return filepath.Join(rec.DataDir(), "sysfs") }

// hasPrivileged reports whether a container of the pod is privileged.
func hasPrivileged(p *api.Pod) bool {
	for _, list := range [][]api.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range list {
			if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
				return true
			}
		}
	}
	return false
}

// pinSysfs mounts a read-write sysfs of the pod's network namespace before any container
// starts, for a pod with a privileged container. Every sysfs mount of one network namespace
// shares one superblock, and the first mount decides whether it is read-only: were an
// unprivileged container (read-only /sys) first, a privileged one would get a read-only /sys
// too, which is what happens with containerd behind the pause container's read-only sysfs
// (containerd/containerd#8445, #11270). CRI-O gives privileged containers a writable /sys;
// so does minipod. Unprivileged containers still get theirs read-only, per mount.
func pinSysfs(rec *state.Record, netnsPath string) error {
	dir := sysfsPath(rec)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pin pod sysfs: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, left in the pod's network namespace, ends with this
		// goroutine.
		runtime.LockOSThread()
		errc <- func() error {
			fd, err := unix.Open(netnsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("setns: %w", err)
			}
			return unix.Mount("sysfs", dir, "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		}()
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("pin pod sysfs: %w", err)
	}
	return nil
}
