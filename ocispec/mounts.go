package ocispec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/api"
)

// systemMounts are containerd's defaults (pkg/oci/mounts.go), with /sys/fs/cgroup read-only.
func systemMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

// withMounts adds, in order: the system mounts, the pod's /dev/shm, the pod's /etc/hosts,
// /etc/hostname and /etc/resolv.conf, the container's volumes, then the termination log
// (later mounts may cover earlier ones; the kubelet's makeMounts has the same order).
func withMounts(s *specs.Spec, in *Input) error {
	s.Mounts = systemMounts()
	sb := in.Sandbox
	if sb.Shm != "" {
		s.Mounts = append(s.Mounts, bind(Mount{Source: sb.Shm, Destination: "/dev/shm"}))
	} else {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	}
	// With a read-only root filesystem, containerd binds /etc/hostname and /etc/resolv.conf
	// read-only (linuxContainerMounts); /etc/hosts is the kubelet's, always writable.
	sc := api.EffectiveSecurityContext(&in.Pod.Spec, in.Container)
	ro := sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	for _, f := range []struct {
		src, dst string
		ro       bool
	}{
		{sb.EtcHosts, "/etc/hosts", false},
		{sb.EtcHostname, "/etc/hostname", ro},
		{sb.EtcResolvConf, "/etc/resolv.conf", ro},
	} {
		if f.src != "" {
			s.Mounts = append(s.Mounts, bind(Mount{Source: f.src, Destination: f.dst, ReadOnly: f.ro}))
		}
	}
	for _, m := range in.Volumes {
		s.Mounts = append(s.Mounts, bind(m))
	}
	if in.TerminationLog != "" {
		s.Mounts = append(s.Mounts, bind(Mount{Source: in.TerminationLog, Destination: in.Container.TerminationMessagePath}))
	}
	return nil
}

func bind(m Mount) specs.Mount {
	opts := []string{"rbind", "rprivate"}
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	opts = append(opts, m.Options...)
	return specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts}
}
