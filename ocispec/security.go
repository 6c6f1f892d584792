package ocispec

import (
	"slices"

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

// withSecurity applies containerd's defaults: the default capability set (bounding,
// effective and permitted; no inheritable or ambient ones), no_new_privs, and the masked and
// read-only kernel paths.
func withSecurity(s *specs.Spec, in *Input) error {
	caps := slices.Clone(DefaultCapabilities)
	s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	s.Process.NoNewPrivileges = true
	s.Linux.MaskedPaths = slices.Clone(maskedPaths)
	s.Linux.ReadonlyPaths = slices.Clone(readonlyPaths)
	return nil
}
