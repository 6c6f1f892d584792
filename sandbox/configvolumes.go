package sandbox

import (
	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/resources"
)

// configTmpfsSize is the size of the tmpfs of a secret or projected volume: the kubelet's
// plugins wrap a memory emptyDir without a sizeLimit, which gets the host's allocatable
// memory, or the pod's memory limit where that is smaller (calculateEmptyDirMemorySize).
// allocatable is in bytes; 0 if unknown.
func configTmpfsSize(spec *api.PodSpec, allocatable int64) int64 {
	size := allocatable
	if m := resources.ForPod(spec).Memory; m != nil && *m > 0 && (size == 0 || *m <= size) {
		size = *m
	}
	return size
}
