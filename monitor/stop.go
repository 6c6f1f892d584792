package monitor

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// stop stops the pod the Kubernetes way: the stop signal to every container, SIGKILL to what
// is left when the grace period ends. Containers waiting to (re)start are not started again.
func (m *monitor) stop(grace time.Duration) {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return
	}
	m.stopping = true
	close(m.stopc)
	m.cancel()
	deletion := api.NewTime(time.Now().Add(grace))
	m.pod.Metadata.DeletionTimestamp = &deletion
	m.updateLocked()
	for _, w := range m.workers {
		if w.inst != nil {
			w.inst.Signal(w.stopSignal)
		}
	}
	m.mu.Unlock()
	m.log.Info("stopping", "grace", grace)
	time.AfterFunc(grace, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.killNow = true
		for _, w := range m.workers {
			if w.inst != nil {
				w.inst.Signal(unix.SIGKILL)
			}
		}
	})
}
