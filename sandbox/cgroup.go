package sandbox

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/resources"
)

// createCgroup creates the pod's parent cgroup (in every hierarchy the manager handles, v1
// or v2) without moving any process into it, and sets the pod's values on it as the kubelet's
// pod container manager does (the sums of the containers' requests and limits, see
// resources.ForPod); containers get cgroups below it.
func createCgroup(cgPath string, spec *api.PodSpec) error {
	res := podResources(resources.ForPod(spec))
	m, err := manager.New(&cgroups.Cgroup{Path: cgPath, Resources: res})
	if err != nil {
		return err
	}
	cloneCpusetMasks(m, path.Dir(cgPath))
	if err := m.Apply(-1); err != nil {
		return err
	}
	if err := m.Set(res); err != nil {
		return fmt.Errorf("set pod cgroup resources: %w", err)
	}
	return nil
}

// cloneCpusetMasks has the kernel give every new cgroup below the pods' parent (parent, the
// parent cgroup of pod's manager m) the CPUs and memory nodes of its own parent: cgroup v1's
// cgroup.clone_children on the cpuset controller, which new children inherit. Without it,
// libcontainer copies them into each new cpuset cgroup (a pod's and each container's) by
// writing cpuset.cpus, and on v1 every such write rebuilds the scheduler's domains, walking
// every cpuset cgroup on the host (dl_rebuild_rd_accounting, update_domain_attr_tree): a cost
// per start that grew with the number of pods (README Density). The flag is set once per
// installation, on its parent cgroup, which libcontainer's manager creates in every hierarchy
// first; a later start only reads it. Nothing to do on cgroup v2, where a cpuset inherits its
// parent's effective masks. Best effort: where the flag cannot be set, libcontainer copies
// the masks as before, and the pod's own cgroup creation reports what is wrong.
func cloneCpusetMasks(m cgroups.Manager, parent string) {
	if cgroups.IsCgroup2UnifiedMode() {
		return
	}
	podDir := m.Path("cpuset")
	if podDir == "" {
		return // no cpuset controller mounted
	}
	dir := filepath.Dir(podDir)
	const flag = "cgroup.clone_children"
	if v, err := cgroups.ReadFile(dir, flag); err == nil && strings.TrimSpace(v) == "1" {
		return
	}
	pm, err := manager.New(&cgroups.Cgroup{Path: parent, Resources: &cgroups.Resources{SkipDevices: true}})
	if err != nil || pm.Apply(-1) != nil {
		return
	}
	_ = cgroups.WriteFile(dir, flag, "1")
}

// podResources converts the pod's values for libcontainer's manager as the kubelet's
// cgroup manager does (pkg/kubelet/cm/cgroup_manager_linux.go toResources): CPU shares
// become a weight on cgroup v2; devices and the freezer are left alone.
func podResources(p resources.Pod) *cgroups.Resources {
	r := &cgroups.Resources{SkipDevices: true, SkipFreezeOnSet: true}
	if p.Memory != nil {
		r.Memory = *p.Memory
	}
	if p.CPUShares != nil {
		if cgroups.IsCgroup2UnifiedMode() {
			r.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(*p.CPUShares)
		} else {
			r.CpuShares = *p.CPUShares
		}
	}
	if p.CPUQuota != nil {
		r.CpuQuota = *p.CPUQuota
	}
	if p.CPUPeriod != nil {
		r.CpuPeriod = *p.CPUPeriod
	}
	return r
}

// destroyCgroup removes the pod's cgroup; its containers' are gone by then.
func destroyCgroup(path string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return err
	}
	// A cgroup stays busy until the kernel has finished the exit of its last tasks, which on
	// a loaded host (1,000 pods deleted at once) takes longer than libcontainer's own retries
	// (~1 s): the v1 memory cgroups of half of them were left. Destroy again (it keeps only
	// the paths not yet removed) for a while before giving up.
	err = m.Destroy()
	for delay, deadline := 50*time.Millisecond, time.Now().Add(cgroupRemoveWait); err != nil && time.Now().Before(deadline); delay = min(2*delay, time.Second) {
		time.Sleep(delay)
		err = m.Destroy()
	}
	return err
}

// cgroupRemoveWait bounds how long a pod's release waits for its cgroup to become removable.
const cgroupRemoveWait = 15 * time.Second
