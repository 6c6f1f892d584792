package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/nspin"
)

// pinNamespaces creates the pod's IPC and UTS namespaces in dir, with the hostname set once:
// containers join the UTS namespace and so cannot set it themselves.
func pinNamespaces(dir, hostname string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create namespaces dir: %w", err)
	}
	pins := []nspin.Pin{{Kind: "ipc", Path: filepath.Join(dir, "ipc")}, {Kind: "uts", Path: filepath.Join(dir, "uts")}}
	return nspin.Create(pins, func() error {
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
