package container

import (
	"time"

	"github.com/minipod/minipod/unmount"
)

// Wait blocks until the instance's process has exited and returns the final state.
func (i *Instance) Wait() State {
	<-i.exited
	return i.State()
}

// Exited is closed once the instance's process has exited and its exit is recorded.
func (i *Instance) Exited() <-chan struct{} { return i.exited }

// reap waits for the process, lets the log copiers drain, records the exit and releases what
// an exited instance no longer needs: its libcontainer container (and cgroup) and its root
// filesystem mount. The instance's files stay until Delete.
func (i *Instance) reap() {
	ps, _ := i.proc.Wait()
	finished := time.Now()
	i.stdio.wait()
	exit := exitOf(ps)
	select {
	case _, ok := <-i.oom:
		exit.OOMKilled = ok
	default:
	}
	// Destroy reads nothing the exit needs; counters would have to be read before it.
	i.starting.Lock()
	i.lc.Destroy()
	unmount.Tree(i.cfg.Dir)
	i.update(func(s *State) {
		s.Status, s.FinishedAt, s.Exit = Exited, finished, exit
	})
	i.starting.Unlock()
	close(i.exited)
}
