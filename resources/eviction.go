package resources

import (
	"fmt"

	"github.com/minipod/minipod/api"
)

// EvictedReason is the pod status reason of an eviction (pkg/kubelet/eviction Reason).
const EvictedReason = "Evicted"

// LocalStorageUsage is what a pod's local storage holds, in bytes.
type LocalStorageUsage struct {
	// EmptyDirs: each disk-backed emptyDir volume, by name.
	EmptyDirs map[string]int64
	// Containers: each running container's writable layer and logs, by name.
	Containers map[string]int64
	// Pod: everything of the pod, emptyDirs included.
	Pod int64
}

// WatchesLocalStorage reports whether the pod has local storage limits to enforce: a
// disk-backed emptyDir with a sizeLimit, or an ephemeral-storage limit.
func WatchesLocalStorage(s *api.PodSpec) bool {
	for _, v := range s.Volumes {
		if e := v.EmptyDir; e != nil && e.Medium != api.StorageMediumMemory && e.SizeLimit != nil && e.SizeLimit.Sign() > 0 {
			return true
		}
	}
	for _, list := range [][]api.Container{s.InitContainers, s.Containers} {
		for i := range list {
			if list[i].Resources.Limits.Value(api.ResourceEphemeralStorage) != 0 {
				return true
			}
		}
	}
	return false
}

// LocalStorageEviction returns why the pod must be evicted for its local storage, as the
// kubelet's eviction manager decides in localStorageEviction (pkg/kubelet/eviction/
// eviction_manager.go), in its order: an emptyDir over its sizeLimit, the pod over the
// containers' total ephemeral-storage limit, a container over its own. The messages are the
// kubelet's, trailing space included. ok is false when everything is within its limits.
func LocalStorageEviction(s *api.PodSpec, u LocalStorageUsage) (message string, ok bool) {
	for _, v := range s.Volumes {
		e := v.EmptyDir
		if e == nil || e.SizeLimit == nil || e.SizeLimit.Sign() != 1 {
			continue
		}
		if used, found := u.EmptyDirs[v.Name]; found && used > e.SizeLimit.Value() {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", v.Name, e.SizeLimit.String()), true
		}
	}
	if limit, found := api.PodLimits(s, nil)[api.ResourceEphemeralStorage]; found && u.Pod > limit.Value() {
		return fmt.Sprintf("Pod ephemeral local storage usage exceeds the total limit of containers %s. ", limit.String()), true
	}
	for i := range s.Containers {
		c := &s.Containers[i]
		limit, found := c.Resources.Limits[api.ResourceEphemeralStorage]
		if !found || limit.Value() == 0 {
			continue
		}
		if used, found := u.Containers[c.Name]; found && used > limit.Value() {
			return fmt.Sprintf("Container %s exceeded its local ephemeral storage limit %q. ", c.Name, limit.String()), true
		}
	}
	return "", false
}
