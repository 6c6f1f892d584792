// Package ocispec translates a resolved container (its process, root filesystem, pod
// namespaces and mounts) into an OCI runtime spec. It is pure: no file is touched here, so
// every rule is table-tested without root.
package ocispec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultCapabilities is the set containerd and Docker give a container by default
// (containerd pkg/oci/spec.go defaultUnixCaps).
var DefaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// maskedPaths and readonlyPaths are containerd's defaults (pkg/oci/spec.go): kernel interfaces
// that leak host information or allow host changes.
var maskedPaths = []string{
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
}

var readonlyPaths = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

// Mount is a bind mount from the host into the container.
type Mount struct {
	Source      string
	Destination string
	ReadOnly    bool
}

// Input is everything the spec depends on, already resolved by the caller.
type Input struct {
	Args []string
	Env  []string
	Cwd  string

	RootfsPath string

	// Pinned pod namespaces the container joins.
	NetNSPath string
	IPCNSPath string
	UTSNSPath string

	// CgroupsPath is the container's cgroup, relative to the cgroup root(s).
	CgroupsPath string

	// ShmPath is the pod's shared /dev/shm (a tmpfs owned by the pod), bind-mounted so
	// that the containers sharing the IPC namespace also share POSIX shared memory.
	ShmPath string

	// Mounts are bind mounts applied after the system mounts, in order (pod files such as
	// /etc/hosts first, then volumes).
	Mounts []Mount
}

// Build returns the OCI runtime spec for one container of a pod.
func Build(in Input) *specs.Spec {
	caps := append([]string(nil), DefaultCapabilities...)
	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: in.Args,
			Env:  in.Env,
			Cwd:  in.Cwd,
			User: specs.User{UID: 0, GID: 0},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			NoNewPrivileges: true,
		},
		Root: &specs.Root{Path: in.RootfsPath},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: in.CgroupsPath,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.NetworkNamespace, Path: in.NetNSPath},
				{Type: specs.IPCNamespace, Path: in.IPCNSPath},
				{Type: specs.UTSNamespace, Path: in.UTSNSPath},
			},
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
		},
	}
	if in.ShmPath != "" {
		s.Mounts = append(s.Mounts, bind(Mount{Source: in.ShmPath, Destination: "/dev/shm"}))
	} else {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	}
	for _, m := range in.Mounts {
		s.Mounts = append(s.Mounts, bind(m))
	}
	return s
}

func bind(m Mount) specs.Mount {
	opts := []string{"rbind", "rprivate"}
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts}
}
