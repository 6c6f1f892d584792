package sandbox

import (
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
)

// createCgroup creates the pod's parent cgroup (in every hierarchy the manager handles, v1
// or v2) without moving any process into it; containers get cgroups below it.
func createCgroup(path string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return err
	}
	return m.Apply(-1)
}

// destroyCgroup removes the pod's cgroup; its containers' are gone by then.
func destroyCgroup(path string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return err
	}
	return m.Destroy()
}
