package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/nspin"
)

// pinNamespaces creates the pod's IPC namespace unless it shares the host's (hostIPC), and
// its UTS namespace with the hostname set once unless it shares the host's (hostNetwork,
// which takes the host's UTS namespace too, as containerd does). Containers join them and so
// cannot set the hostname themselves.
func pinNamespaces(dir, hostname string, ipc, uts bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create namespaces dir: %w", err)
	}
	var pins []nspin.Pin
	if ipc {
		pins = append(pins, nspin.Pin{Kind: "ipc", Path: filepath.Join(dir, "ipc")})
	}
	if uts {
		pins = append(pins, nspin.Pin{Kind: "uts", Path: filepath.Join(dir, "uts")})
	}
	if len(pins) == 0 {
		return nil
	}
	return nspin.Create(pins, func() error {
		if !uts {
			return nil
		}
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
		return nil
	})
}

// releaseNamespaces releases the pins in dir and dir itself.
func releaseNamespaces(dir string) error {
	var errs []error
	for _, kind := range []string{"ipc", "uts"} {
		if err := nspin.Remove(filepath.Join(dir, kind)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
