package api

// setVolumeDefaults is SetDefaults_ImageVolumeSource (pkg/apis/core/v1/defaults.go): an
// image volume's pullPolicy defaults as a container's imagePullPolicy does, Always for the
// tag "latest" (or none) and IfNotPresent otherwise.
func setVolumeDefaults(s *PodSpec) {
	for i := range s.Volumes {
		if v := s.Volumes[i].Image; v != nil && v.PullPolicy == "" {
			v.PullPolicy = defaultPullPolicy(v.Reference)
		}
	}
}

// setClaimDefaults is SetDefaults_PersistentVolumeClaim and _Spec: the default namespace
// (kubectl's) and volumeMode Filesystem.
func setClaimDefaults(c *PersistentVolumeClaim) {
	if c.Metadata.Namespace == "" {
		c.Metadata.Namespace = DefaultNamespace
	}
	if c.Spec.VolumeMode == nil {
		m := PersistentVolumeFilesystem
		c.Spec.VolumeMode = &m
	}
}
