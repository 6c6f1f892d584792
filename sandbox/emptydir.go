package sandbox

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/resources"
)

// sizedVolumes returns the pod's volumes with every memory-backed emptyDir given the size of
// the kubelet's tmpfs (pkg/volume/emptydir calculateEmptyDirMemorySize): the host's
// allocatable memory, lowered to the pod's memory limit and then to the volume's sizeLimit
// where those are smaller. allocatable is in bytes; 0 if unknown.
func sizedVolumes(spec *api.PodSpec, allocatable int64) []api.Volume {
	vols := spec.Volumes
	var out []api.Volume
	for i, v := range vols {
		if v.EmptyDir == nil || v.EmptyDir.Medium != api.StorageMediumMemory {
			continue
		}
		if out == nil {
			out = slices.Clone(vols)
		}
		size := allocatable
		if m := resources.ForPod(spec).Memory; m != nil && *m > 0 && (size == 0 || *m <= size) {
			size = *m
		}
		if l := v.EmptyDir.SizeLimit; l != nil && l.Sign() > 0 && (size == 0 || l.Value() <= size) {
			size = l.Value()
		}
		e := *v.EmptyDir
		if size > 0 {
			e.SizeLimit = resource.NewQuantity(size, resource.BinarySI)
		}
		out[i].EmptyDir = &e
	}
	if out == nil {
		return vols
	}
	return out
}

// allocatableMemory is the host's memory less --reserved memory; 0 if unknown.
func allocatableMemory(reserved api.ResourceList) int64 {
	capacity, err := resources.MemoryCapacity()
	if err != nil {
		return 0
	}
	return max(capacity-reserved.Value(api.ResourceMemory), 0)
}
