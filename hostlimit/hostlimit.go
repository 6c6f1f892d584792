// Package hostlimit names the host limit behind an error, so that a user who hits one with
// many pods (inotify instances and watches, open files, processes) is told which and its
// value: minipod never raises a limit itself (it has no CAP_SYS_RESOURCE, and a host's
// limits are its administrator's to set).
package hostlimit

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// procRoot is where the kernel's tunables are read (a variable for tests).
var procRoot = "/proc"

// sysctl reads a kernel tunable, e.g. "fs/inotify/max_user_instances"; "?" if unreadable.
func sysctl(name string) string {
	b, err := os.ReadFile(procRoot + "/sys/" + name)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func openFiles() (cur uint64, ok bool) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, false
	}
	return lim.Cur, true
}

// Error is an error caused by a host limit; it names the limit and its value.
type Error struct {
	Op    string // what failed, e.g. "inotify_init1"
	Limit string // e.g. "fs.inotify.max_user_instances = 128"
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %v: host limit reached: %s (minipod does not raise it)", e.Op, e.Err, e.Limit)
}

func (e *Error) Unwrap() error { return e.Err }

// Inotify explains an error of inotify_init1 or inotify_add_watch (op): EMFILE is the
// per-user instance limit (or this process's open-files limit), ENOSPC the per-user watch
// limit. Any other error is returned as it is.
func Inotify(op string, err error) error {
	switch {
	case errors.Is(err, unix.EMFILE):
		limit := "fs.inotify.max_user_instances = " + sysctl("fs/inotify/max_user_instances")
		if cur, ok := openFiles(); ok {
			limit += fmt.Sprintf(", or this process's open files (RLIMIT_NOFILE = %d)", cur)
		}
		return &Error{Op: op, Limit: limit, Err: err}
	case errors.Is(err, unix.ENOSPC):
		return &Error{Op: op, Limit: "fs.inotify.max_user_watches = " + sysctl("fs/inotify/max_user_watches"), Err: err}
	}
	return err
}

// Files explains EMFILE (this process's open-files limit) and ENFILE (the system's, fs.file-max).
func Files(op string, err error) error {
	switch {
	case errors.Is(err, unix.EMFILE):
		cur, _ := openFiles()
		return &Error{Op: op, Limit: fmt.Sprintf("open files of this process (RLIMIT_NOFILE = %d)", cur), Err: err}
	case errors.Is(err, unix.ENFILE):
		return &Error{Op: op, Limit: "open files of the system (fs.file-max = " + sysctl("fs/file-max") + ")", Err: err}
	}
	return err
}

// Processes explains EAGAIN from fork or clone: the process/thread limits (kernel.pid_max,
// kernel.threads-max, RLIMIT_NPROC). A pod costs its monitor's threads and its containers'
// processes.
func Processes(op string, err error) error {
	if !errors.Is(err, unix.EAGAIN) {
		return err
	}
	limit := "kernel.pid_max = " + sysctl("kernel/pid_max") + ", kernel.threads-max = " + sysctl("kernel/threads-max")
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NPROC, &lim) == nil {
		limit += fmt.Sprintf(", RLIMIT_NPROC = %d", lim.Cur)
	}
	return &Error{Op: op, Limit: limit, Err: err}
}
