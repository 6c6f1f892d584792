package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/pause"
	"github.com/minipod/minipod/state"
)

// The PID namespace a pod's containers share (spec.shareProcessNamespace): its PID 1 is a
// reaper, this binary as `minipod pause NAMESPACES-DIR` (package pause), as the pause
// container is for the kubelet. A PID namespace cannot be pinned like the others: it lives as
// long as its first process, so the reaper is the namespace. Its pid is recorded in the pod's
// namespaces dir, and its command line (which names that dir) identifies it before it is
// killed, whoever releases the pod.

const reaperPIDFile = "pause.pid"

// reaperArgs is the reaper's command line, which also identifies it.
func reaperArgs(nsDir string) []string { return []string{"minipod", pause.Arg, nsDir} }

// startReaper starts the reaper in a new PID namespace and returns the namespace's path,
// which the containers join. wait reaps the reaper when it ends (it is this process's child).
func startReaper(rec *state.Record) (pidns string, wait func(), err error) {
	dir := rec.NamespacesDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("create namespaces dir: %w", err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = reaperArgs(dir)
	cmd.Dir = "/"
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWPID, Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start the pod's reaper: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, reaperPIDFile), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return "", nil, fmt.Errorf("record the pod's reaper: %w", err)
	}
	return fmt.Sprintf("/proc/%d/ns/pid", pid), func() { cmd.Wait() }, nil
}

// releaseReaper kills the pod's reaper, and with it whatever is left in its PID namespace,
// and waits until it is gone.
func releaseReaper(rec *state.Record) error {
	dir := rec.NamespacesDir()
	pidFile := filepath.Join(dir, reaperPIDFile)
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pod reaper: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("pod reaper: bad pid file %s: %w", pidFile, err)
	}
	want := strings.Join(reaperArgs(dir), "\x00") + "\x00"
	if isProcess(pid, want) {
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill the pod's reaper: %w", err)
		}
		// Its parent, or init if the monitor is gone, reaps it at once.
		for deadline := time.Now().Add(5 * time.Second); isProcess(pid, want); {
			if time.Now().After(deadline) {
				return fmt.Errorf("the pod's reaper (pid %d) did not exit", pid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pod reaper: %w", err)
	}
	return nil
}

// isProcess reports whether pid is a live process (not a zombie, whose command line is
// empty) with that command line.
func isProcess(pid int, cmdline string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && string(b) == cmdline
}
