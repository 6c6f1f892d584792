package monitor

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// stop terminates the pod the kubelet's way (killPodWithSyncResult,
// pkg/kubelet/kuberuntime/kuberuntime_manager.go): nothing starts or restarts any more, and
// every running container is killed at once with the grace period, preStop hooks first,
// sidecars last in reverse order. deleting marks the pod as being deleted
// (deletionTimestamp); otherwise it stops because it completed, failed or ran out of time.
func (m *monitor) stop(grace time.Duration, deleting bool) {
	m.mu.Lock()
	if m.stopping {
		m.shortenLocked(grace, deleting)
		m.mu.Unlock()
		return
	}
	m.stopping = true
	m.deleting = deleting
	m.deadline = time.Now().Add(grace)
	close(m.stopc)
	m.cancel()
	if deleting {
		m.markDeletedLocked(grace)
	}
	m.releaseNetworkEarlyLocked()
	m.updateLocked()
	var kills []func()
	for _, w := range m.allWorkersLocked() {
		switch inst := w.inst; {
		case inst != nil && !w.killing:
			kills = append(kills, func() { w.kill(inst, "Stopping container "+w.c.Name, grace, true) })
		case inst != nil:
			// Being killed already (a failed liveness probe) with its own grace period: the
			// pod's is shorter or it changes nothing, as the kubelet's second killContainer
			// (StopContainer with the smaller timeout) does.
			time.AfterFunc(grace, func() { inst.Signal(unix.SIGKILL) })
		}
	}
	m.mu.Unlock()
	m.log.Info("stopping", "grace", grace, "deleting", deleting)
	for _, k := range kills {
		go k()
	}
}

// shortenLocked applies a second stop: a shorter grace period wins, as when a pod being
// deleted is deleted again with a smaller --grace-period; what still runs at the new
// deadline is killed then.
func (m *monitor) shortenLocked(grace time.Duration, deleting bool) {
	deadline := time.Now().Add(grace)
	if deleting && !m.deleting {
		m.deleting = true
		m.markDeletedLocked(time.Until(m.deadline))
		m.updateLocked()
	}
	if !deadline.Before(m.deadline) {
		return
	}
	m.deadline = deadline
	if m.deleting {
		m.markDeletedLocked(grace)
		m.updateLocked()
	}
	m.log.Info("stop shortened", "grace", grace)
	time.AfterFunc(grace, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, w := range m.allWorkersLocked() {
			if w.inst != nil {
				w.inst.Signal(unix.SIGKILL)
			}
		}
	})
}

// markDeletedLocked records a deletion in the pod's metadata as the API server does: when
// the grace period ends, and how long it is.
func (m *monitor) markDeletedLocked(grace time.Duration) {
	d := api.NewTime(time.Now().Add(grace))
	secs := int64(grace.Round(time.Second) / time.Second)
	m.pod.Metadata.DeletionTimestamp = &d
	m.pod.Metadata.DeletionGracePeriodSeconds = &secs
}
