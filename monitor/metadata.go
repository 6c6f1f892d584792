package monitor

// setMetadata replaces the pod's labels and annotations, the part of a pod's metadata the
// API server lets an update change (ValidatePodUpdate); the new status carries them.
func (m *monitor) setMetadata(labels, annotations map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pod.Metadata.Labels = labels
	m.pod.Metadata.Annotations = annotations
	m.updateLocked()
}
