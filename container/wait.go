package container

import (
	"path/filepath"
	"time"

	"github.com/opencontainers/cgroups/manager"

	"github.com/minipod/minipod/unmount"
)

// Wait blocks until the instance's process has exited and returns the final state.
func (i *Instance) Wait() State {
	<-i.exited
	return i.State()
}

// Exited is closed once the instance's process has exited and its exit is recorded.
func (i *Instance) Exited() <-chan struct{} { return i.exited }

// Reaped is closed as soon as the instance's process is reaped, before Exited: in its own
// PID namespace, its init is reaped only after every other process of the namespace.
func (i *Instance) Reaped() <-chan struct{} { return i.reaped }

// reap waits for the process, lets the log copiers drain, records the exit and releases what
// an exited instance no longer needs: its libcontainer container (and cgroup) and its root
// filesystem mount. The instance's files stay until Delete.
func (i *Instance) reap() {
	ps, _ := i.proc.Wait()
	finished := time.Now()
	close(i.reaped)
	i.stdio.wait()
	exit := exitOf(ps)
	// The OOM kill count goes with the cgroup: read it before Destroy.
	exit.OOMKilled = i.oomKilled()
	i.starting.Lock()
	i.lc.Destroy()
	// What mountRootfs mounted: detached by path, the host's mount table is not read.
	unmount.Detach(filepath.Join(i.cfg.Dir, "rootfs"))
	i.update(func(s *State) {
		s.Status, s.FinishedAt, s.Exit = Exited, finished, exit
	})
	i.starting.Unlock()
	close(i.exited)
}

// oomKilled reports whether the kernel OOM-killed a process of the instance, from the
// memory controller's oom_kill count (memory.oom_control on cgroup v1, memory.events on
// v2): containerd reports a container OOMKilled when any of its processes was, whatever
// its exit code. Unlike an OOM notification channel, the count cannot arrive after the exit.
func (i *Instance) oomKilled() bool {
	st, err := i.lc.State()
	if err != nil {
		return false
	}
	m, err := manager.NewWithPaths(i.lc.Config().Cgroups, st.CgroupPaths)
	if err != nil {
		return false
	}
	n, err := m.OOMKillCount()
	return err == nil && n > 0
}
