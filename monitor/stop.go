package monitor

import (
	"time"

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
		m.mu.Unlock()
		return
	}
	m.stopping = true
	m.deleting = deleting
	m.deadline = time.Now().Add(grace)
	close(m.stopc)
	m.cancel()
	if deleting {
		deletion := api.NewTime(m.deadline)
		m.pod.Metadata.DeletionTimestamp = &deletion
	}
	m.updateLocked()
	var kills []func()
	for _, w := range append(append([]*worker{}, m.regulars...), m.inits...) {
		if inst := w.inst; inst != nil && !w.killing {
			kills = append(kills, func() { w.kill(inst, "Stopping container "+w.c.Name, grace, true) })
		}
	}
	m.mu.Unlock()
	m.log.Info("stopping", "grace", grace, "deleting", deleting)
	for _, k := range kills {
		go k()
	}
}
