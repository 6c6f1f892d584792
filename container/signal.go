package container

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Signal sends sig to the instance's main process. An instance that has exited already is not
// an error: the signal had nothing left to do.
func (i *Instance) Signal(sig unix.Signal) error {
	if err := i.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		select {
		case <-i.exited:
			return nil
		default:
		}
		return fmt.Errorf("signal container %s: %w", i.cfg.ID, err)
	}
	return nil
}
