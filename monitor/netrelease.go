package monitor

import (
	"time"

	"github.com/minipod/minipod/sandbox"
)

// The pod's network is released as soon as the pod is stopping and none of its containers has
// a process any more, or all are being killed with no grace period left (SIGKILL sent, no
// preStop hook runs), rather than after every container's teardown: deleting the veth waits
// for the kernel's RCU grace periods (8 to 20 ms here), and so it overlaps the containers'
// exit, libcontainer destroy and root filesystem removal. sandbox.Release, at the monitor's end,
// still releases everything (what is gone already costs nothing), so a failure here is retried
// there, and a monitor that dies leaves the network to `delete` and the garbage collector as
// before.

// instanceBegins counts a container instance about to be created; false once the pod is
// stopping: nothing is created any more.
func (m *monitor) instanceBegins() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping {
		return false
	}
	m.live++
	m.creating++
	return true
}

// instanceCreated notes that an instance counted by instanceBegins was started or failed to
// be: its init no longer needs the pod's namespaces.
func (m *monitor) instanceCreated() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creating--
	m.releaseNetworkEarlyLocked()
}

// instanceEnded notes that an instance counted by instanceBegins has no process any more.
func (m *monitor) instanceEnded() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live--
	m.releaseNetworkEarlyLocked()
}

// releaseNetworkEarlyLocked starts releasing the network once the pod is stopping, its
// sandbox is up and no instance has a process, or the grace period is over and none is
// being created (its init would find the network gone).
func (m *monitor) releaseNetworkEarlyLocked() {
	if !m.stopping || !m.sandboxReady || m.netReleased != nil {
		return
	}
	if m.live > 0 && (time.Now().Before(m.deadline) || m.creating > 0) {
		return
	}
	done := make(chan struct{})
	m.netReleased = done
	go func() {
		defer close(done)
		if m.netErr = sandbox.ReleaseNetwork(m.rec); m.netErr != nil {
			m.log.Info("early network release failed; the teardown retries", "err", m.netErr)
		}
	}()
}

// releaseSandbox releases everything the pod holds. After an early release of the network,
// the rest is released while that one may still run, and the network is not looked for
// again unless its release failed.
func (m *monitor) releaseSandbox() error {
	m.mu.Lock()
	done := m.netReleased
	m.mu.Unlock()
	if done == nil {
		return sandbox.Release(m.rec)
	}
	err := sandbox.ReleaseAfterNetwork(m.rec)
	<-done
	if m.netErr != nil {
		return sandbox.Release(m.rec)
	}
	return err
}
