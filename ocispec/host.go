package ocispec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Host is what a container's spec takes from the host, found by the caller: for its
// security settings, and for its resources (the host's memory and cgroups).
type Host struct {
	// Capabilities are the capabilities minipod itself holds: what "ALL" and privileged give
	// (containerd gives cap.Current()), and the only ones a container can be given. Nil means
	// unknown: every capability the kernel may know.
	Capabilities []string
	// Devices are the host's devices, which a privileged container gets (HostDevices).
	Devices []specs.LinuxDevice
	// SeccompDefault makes RuntimeDefault the seccomp profile of containers that name none
	// (the kubelet's --seccomp-default).
	SeccompDefault bool
	// SeccompProfile is the content of the container's Localhost seccomp profile
	// (LocalhostSeccompProfile says which file), nil if it has none.
	SeccompProfile []byte
	// AppArmorDefault is the AppArmor profile RuntimeDefault applies; empty where the host
	// has no AppArmor (the pod is then refused before it gets here).
	AppArmorDefault string

	// MemoryCapacity is the host's memory in bytes (MemTotal).
	MemoryCapacity int64
	// OOMScoreAdjMin is the lowest oom_score_adj that may be given: this process's own when it
	// lacks CAP_SYS_RESOURCE (lowering it needs that), else -1000.
	OOMScoreAdjMin int
	// CgroupV2 is true on a cgroup v2 (unified) host.
	CgroupV2 bool
	// SwapController is true when the memory controller accounts swap (memory.memsw.* on v1,
	// memory.swap.max on v2).
	SwapController bool
}
