package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// Delete removes the instance and everything it owns, killing its process first if it still
// runs. It is idempotent.
func (i *Instance) Delete() error {
	select {
	case <-i.exited:
	default:
		i.Signal(unix.SIGKILL)
		<-i.exited
	}
	return Release(i.cfg.Paths, i.cfg.ID)
}

// Release removes an instance by its paths and ID, whoever created it (a monitor that died,
// say): its process is killed, its libcontainer state and cgroup destroyed, its root
// filesystem unmounted and its files removed. What is already gone is not an error, nor is
// an empty path: that part is released elsewhere.
func Release(p Paths, id string) error {
	var errs []error
	if err := destroy(p.StateRoot, id); err != nil {
		errs = append(errs, fmt.Errorf("destroy container %s: %w", id, err))
	}
	if p.Dir != "" {
		if err := releaseRootfs(p.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if p.StateFile != "" {
		if err := os.Remove(p.StateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// destroy kills and removes a libcontainer container. One that does not exist is not an
// error.
func destroy(root, id string) error {
	c, err := libcontainer.Load(root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil
		}
		// A state dir that cannot be loaded is removed so that it does not block the ID.
		return errors.Join(err, os.RemoveAll(filepath.Join(root, id)))
	}
	if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
		c.Signal(unix.SIGKILL)
		// Its parent (a dead monitor) cannot reap it; init does, promptly.
		for range 200 {
			if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return c.Destroy()
}
