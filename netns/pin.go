package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// podNS gives access to a freshly created pod netns.
type podNS struct {
	fd int             // nsfs file descriptor, for IFLA_NET_NS_FD
	nl *netlink.Handle // route socket created inside the netns
}

func (p *podNS) close() {
	p.nl.Close()
	unix.Close(p.fd)
}

// ensurePinDir makes dir a shared mount point, as iproute2 does for
// /run/netns and CRI-O's pinns for its netns dir. Each pin is a bind mount,
// and any mount namespace cloned from the host (a systemd unit with
// PrivateTmp, a container runtime before pivot_root, ...) gets a copy of it
// that would keep the netns alive after Teardown unmounts ours. With a
// shared dir those copies are peers or slaves of ours, so the unmount
// propagates to them. A private dir would not propagate; being its own
// mount point (rather than inheriting /run's propagation) makes the
// behaviour independent of how the host mounted /run.
func ensurePinDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netns: Config.NetNSDir: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: Config.NetNSDir: %w", err)
	}
	defer unix.Close(fd)
	// Concurrent Setups (goroutines or processes) may race here; without
	// the lock two could bind the dir onto itself and stack two mounts.
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("netns: lock %s: %w", dir, err)
	}
	// Cheap when already done, so it runs on every Setup rather than being
	// cached: the dir may have been unmounted or removed meanwhile.
	err = unix.Mount("", dir, "", unix.MS_SHARED, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("netns: bind mount %s onto itself: %w", dir, err)
		}
		err = unix.Mount("", dir, "", unix.MS_SHARED, "")
	}
	if err != nil {
		return fmt.Errorf("netns: make %s a shared mount: %w", dir, err)
	}
	return nil
}

// pin creates a new network namespace and bind-mounts it on path, which must
// not exist yet (that is what makes an id's Setup exclusive).
func pin(path string) (*podNS, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("netns: %s already exists (sandbox set up already, or not torn down)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("netns: create %s: %w", path, err)
	}
	f.Close()

	// A dedicated goroutine, so that if its thread cannot be switched back
	// it simply exits locked and the runtime destroys the thread instead of
	// running other goroutines in the pod netns.
	ch := make(chan pinResult, 1)
	go func() {
		runtime.LockOSThread()
		r := pinOnThread(path)
		if r.restored {
			runtime.UnlockOSThread()
		}
		ch <- r
	}()
	r := <-ch
	if r.err != nil {
		if err := unpin(path); err != nil {
			r.err = errors.Join(r.err, err)
		}
		return nil, r.err
	}
	return r.ns, nil
}

type pinResult struct {
	ns       *podNS
	restored bool // the thread is back in its original netns
	err      error
}

// pinOnThread must run on a locked OS thread.
func pinOnThread(path string) (r pinResult) {
	orig, err := netns.Get()
	if err != nil {
		return pinResult{restored: true, err: fmt.Errorf("netns: get current netns: %w", err)}
	}
	defer orig.Close()
	defer func() {
		if err := netns.Set(orig); err != nil {
			r.err = errors.Join(r.err, fmt.Errorf("netns: switch thread back from pod netns: %w", err))
			if r.ns != nil {
				r.ns.close()
				r.ns = nil
			}
			return
		}
		r.restored = true
	}()

	ns, err := netns.New() // unshare(CLONE_NEWNET) for this thread only
	if err != nil {
		r.err = fmt.Errorf("netns: create netns: %w", err)
		return r
	}
	src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		ns.Close()
		r.err = fmt.Errorf("netns: bind mount netns on %s: %w", path, err)
		return r
	}
	// A socket belongs to the netns it was created in, so this handle
	// configures the pod netns from any thread later.
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		r.err = fmt.Errorf("netns: netlink socket in pod netns: %w", err)
		return r
	}
	r.ns = &podNS{fd: int(ns), nl: nl}
	return r
}

// unpin unmounts and removes a pin. Missing mount or file is fine.
func unpin(path string) error {
	var errs []error
	// Loop in case something stacked several mounts on the file.
	for range 8 {
		err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		if err == nil {
			continue
		}
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("netns: unmount %s: %w", path, err))
		}
		break
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("netns: remove %s: %w", path, err))
	}
	return errors.Join(errs...)
}
