// Package nspin creates Linux namespaces that belong to no process: each is created on a
// dedicated OS thread and pinned by a bind mount of its nsfs file, as CRI-O's pinns and
// iproute2's `ip netns add` do, so it lives exactly as long as the pin. A pod's network, IPC
// and UTS namespaces are made this way and outlive every container that joins them.
package nspin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/unmount"
)

// Pin is one namespace to create and the file to pin it on.
type Pin struct {
	Kind string // "net", "ipc", "uts", ... as named in /proc/PID/ns
	Path string // must not exist yet: that makes a pin exclusive
}

var cloneFlags = map[string]uintptr{
	"net": unix.CLONE_NEWNET,
	"ipc": unix.CLONE_NEWIPC,
	"uts": unix.CLONE_NEWUTS,
}

// Create creates a new namespace of each pin's kind and pins it on its path. inside, if not
// nil, runs on the creating thread while it is in the new namespaces (to set the hostname, or
// open a netlink socket that then belongs to the new network namespace). On error nothing
// is left: pins made so far are removed.
func Create(pins []Pin, inside func() error) (err error) {
	var flags uintptr
	for _, p := range pins {
		f, ok := cloneFlags[p.Kind]
		if !ok {
			return fmt.Errorf("pin %s namespace: unsupported kind", p.Kind)
		}
		flags |= f
	}
	var made []string
	defer func() {
		if err != nil {
			for _, p := range made {
				err = errors.Join(err, Remove(p))
			}
		}
	}()
	for _, p := range pins {
		f, err := os.OpenFile(p.Path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("pin %s namespace on %s: %w (set up already, or not released)", p.Kind, p.Path, err)
		}
		if err != nil {
			return fmt.Errorf("pin %s namespace: %w", p.Kind, err)
		}
		f.Close()
		made = append(made, p.Path)
	}

	// A dedicated goroutine on a locked thread: the thread must run nothing else while it is
	// in the new namespaces. It goes back to its own namespaces before it is unlocked; if that
	// fails it stays locked and the Go runtime ends the thread with the goroutine.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		back, err := openThreadNamespaces(pins)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer closeAll(back)
		err = pinOnThread(pins, flags, inside)
		for i, f := range back {
			if serr := unix.Setns(int(f.Fd()), 0); serr != nil {
				errc <- errors.Join(err, fmt.Errorf("return to the host's %s namespace: %w", pins[i].Kind, serr))
				return
			}
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

func pinOnThread(pins []Pin, flags uintptr, inside func() error) error {
	if err := unix.Unshare(int(flags)); err != nil {
		return fmt.Errorf("unshare namespaces: %w", err)
	}
	if inside != nil {
		if err := inside(); err != nil {
			return err
		}
	}
	tid := unix.Gettid()
	for _, p := range pins {
		src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, p.Kind)
		if err := unix.Mount(src, p.Path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("pin %s namespace on %s: %w", p.Kind, p.Path, err)
		}
	}
	return nil
}

// openThreadNamespaces opens the calling thread's current namespaces of the pins' kinds.
func openThreadNamespaces(pins []Pin) ([]*os.File, error) {
	var fs []*os.File
	for _, p := range pins {
		f, err := os.Open("/proc/thread-self/ns/" + p.Kind)
		if err != nil {
			closeAll(fs)
			return nil, fmt.Errorf("open the thread's %s namespace: %w", p.Kind, err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// Remove releases a pin: the namespace goes once nothing else holds it. A file that is not
// mounted (a pin that failed halfway) or is gone is not an error.
func Remove(path string) error {
	err := unmount.Detach(path)
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("remove namespace pin: %w", rerr))
	}
	return err
}
