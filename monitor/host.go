package monitor

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs2"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/resources"
)

// readHost reads what the containers' resources depend on: the host's memory, the lowest
// oom_score_adj this process may give, and the cgroup version and swap accounting, as the
// kubelet reads them (cAdvisor's machine info, kuberuntime's swapControllerAvailable).
func readHost() ocispec.Host {
	h := ocispec.Host{CgroupV2: cgroups.IsCgroup2UnifiedMode(), OOMScoreAdjMin: -1000}
	h.MemoryCapacity, _ = resources.MemoryCapacity()
	if !hasCapSysResource() {
		// Lowering one's oom_score_adj needs CAP_SYS_RESOURCE.
		if b, err := os.ReadFile("/proc/self/oom_score_adj"); err == nil {
			if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				h.OOMScoreAdjMin = v
			}
		}
	}
	h.SwapController = swapController(h.CgroupV2)
	return h
}

// swapController reports whether the memory controller accounts swap: memory.memsw.* in the
// v1 memory hierarchy, memory.swap.max in this process's own v2 cgroup (the root has none).
func swapController(v2 bool) bool {
	var p string
	if v2 {
		cg, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
		if err != nil {
			return false
		}
		p = filepath.Join(fs2.UnifiedMountpoint, cg[""], "memory.swap.max")
	} else {
		mnt, err := cgroups.FindCgroupMountpoint("", "memory")
		if err != nil {
			return false
		}
		p = filepath.Join(mnt, "memory.memsw.limit_in_bytes")
	}
	_, err := os.Stat(p)
	return err == nil
}

// hasCapSysResource reports whether this process has CAP_SYS_RESOURCE in its effective set.
func hasCapSysResource() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<unix.CAP_SYS_RESOURCE) != 0
		}
	}
	return false
}
