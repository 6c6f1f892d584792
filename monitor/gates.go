package monitor

// waitGated keeps a pod with scheduling gates as a scheduler would: not scheduled, so
// Pending, with PodScheduled False and reason SchedulingGated (package phase), and nothing of
// it created, until it is stopped. Nothing can remove a gate from a running monitor yet.
func (m *monitor) waitGated() {
	m.log.Info("scheduling gated", "gates", len(m.pod.Spec.SchedulingGates))
	m.mu.Lock()
	m.updateLocked()
	m.mu.Unlock()
	<-m.stopc
}
