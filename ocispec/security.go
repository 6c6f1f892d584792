package ocispec

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/sysctl"
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

// maskedPaths and readonlyPaths are the kubelet's defaults, which it hands the runtime for
// procMount Default (pkg/securitycontext/util.go ConvertToRuntimeMaskedPaths and
// ConvertToRuntimeReadonlyPaths; the same as containerd's own): kernel interfaces that leak
// host information or allow host changes.
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

// withSecurity applies the container's security context the way containerd's CRI plugin
// builds a spec from what the kubelet hands it (internal/cri/server/container_create.go
// buildLinuxSpec, pkg/oci and internal/cri/opts):
//
//   - capabilities: the default set, with capabilities.add and .drop (names with or without
//     CAP_, in any case, as CRI-O accepts them; ALL adds or drops them all, before the single
//     ones), in the bounding, effective and permitted sets; never inheritable or ambient
//     (WithCapabilities, WithoutAmbientCaps).
//   - no_new_privs only when allowPrivilegeEscalation is false (the kubelet's
//     AddNoNewPrivileges; privileged or CAP_SYS_ADMIN with false is refused by validation).
//   - the masked and read-only /proc and /sys paths, none for procMount Unmasked.
//   - readOnlyRootFilesystem.
//   - privileged: every capability, no masked or read-only paths, writable /sys and
//     /sys/fs/cgroup, the host's devices, every device allowed, no AppArmor for
//     RuntimeDefault and no seccomp (WithPrivileged, WithHostDevices, WithAllDevicesAllowed).
//   - the pod's sysctls, which runc writes in the pod's namespaces.
//   - the AppArmor profile.
func withSecurity(s *specs.Spec, in *Input) error {
	sc := api.EffectiveSecurityContext(&in.Pod.Spec, in.Container)
	privileged := sc.Privileged != nil && *sc.Privileged

	caps, err := capabilities(sc.Capabilities, in.Host.Capabilities)
	if err != nil {
		return err
	}
	if privileged {
		caps = allCapabilities(in.Host.Capabilities)
	}
	s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: slices.Clone(caps), Permitted: slices.Clone(caps)}
	s.Process.NoNewPrivileges = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation

	if !privileged && (sc.ProcMount == nil || *sc.ProcMount != api.UnmaskedProcMount) {
		s.Linux.MaskedPaths = slices.Clone(maskedPaths)
		s.Linux.ReadonlyPaths = slices.Clone(readonlyPaths)
	}
	s.Root.Readonly = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem

	if privileged {
		for i := range s.Mounts {
			if t := s.Mounts[i].Type; t == "sysfs" || t == "cgroup" {
				s.Mounts[i].Options = slices.Clone(s.Mounts[i].Options)
				for j, o := range s.Mounts[i].Options {
					if o == "ro" {
						s.Mounts[i].Options[j] = "rw"
					}
				}
			}
		}
		s.Linux.Devices = append(s.Linux.Devices, in.Host.Devices...)
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}

	if psc := in.Pod.Spec.SecurityContext; psc != nil && len(psc.Sysctls) > 0 {
		s.Linux.Sysctl = make(map[string]string, len(psc.Sysctls))
		for _, sy := range psc.Sysctls {
			s.Linux.Sysctl[sysctl.ToDots(sy.Name)] = sy.Value
		}
	}

	// containerd's GenerateApparmorSpecOpts: Localhost names a profile loaded on the host,
	// RuntimeDefault the runtime's own, except for privileged containers.
	if p := api.AppArmorProfileOf(in.Pod, in.Container); p != nil {
		switch p.Type {
		case api.AppArmorProfileTypeLocalhost:
			s.Process.ApparmorProfile = strings.TrimPrefix(*p.LocalhostProfile, api.AppArmorBetaProfileNamePrefix)
		case api.AppArmorProfileTypeRuntimeDefault:
			if !privileged {
				s.Process.ApparmorProfile = in.Host.AppArmorDefault
			}
		}
	}
	return nil
}

// capabilities computes a container's capabilities from the defaults and its
// capabilities.add and .drop (internal/cri/opts/spec_linux_opts.go WithCapabilities).
func capabilities(c *api.Capabilities, host []string) ([]string, error) {
	caps := slices.Clone(DefaultCapabilities)
	if c == nil {
		return caps, nil
	}
	isAll := func(x api.Capability) bool { return strings.EqualFold(string(x), "ALL") }
	if slices.ContainsFunc(c.Add, isAll) {
		caps = allCapabilities(host)
	}
	if slices.ContainsFunc(c.Drop, isAll) {
		caps = nil
	}
	for _, list := range []struct {
		caps []api.Capability
		add  bool
	}{{c.Add, true}, {c.Drop, false}} {
		for _, x := range list.caps {
			if isAll(x) {
				continue
			}
			name := capName(x)
			if !knownCapabilities()[name] {
				// CRI-O's message (runtime-tools validate.CapValid); runc would skip it.
				return nil, createError("invalid capability specified: %s", name)
			}
			switch {
			case !list.add:
				caps = slices.DeleteFunc(caps, func(c string) bool { return c == name })
			case host != nil && !slices.Contains(host, name):
				// runc could not raise it: say why rather than fail in the runtime.
				return nil, createError("capability %s cannot be added: minipod itself does not hold it", name)
			case !slices.Contains(caps, name):
				caps = append(caps, name)
			}
		}
	}
	return caps, nil
}

// capName is a capability's name as the runtime spec writes it: upper case, CAP_ prefixed.
func capName(c api.Capability) string {
	n := strings.ToUpper(string(c))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	return n
}

// knownCapabilities are the capabilities Linux defines.
var knownCapabilities = sync.OnceValue(func() map[string]bool {
	known := map[string]bool{}
	for _, c := range capability.ListKnown() {
		known["CAP_"+strings.ToUpper(c.String())] = true
	}
	return known
})

// allCapabilities is what ALL and privileged give: the host's, else every known one.
func allCapabilities(host []string) []string {
	if host != nil {
		return slices.Clone(host)
	}
	return slices.Sorted(maps.Keys(knownCapabilities()))
}
