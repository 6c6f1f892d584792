package monitor

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/sys/capability"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/sysctl"
)

// The host's AppArmor, as runc and the kubelet find it.
const (
	appArmorEnabledFile  = "/sys/module/apparmor/parameters/enabled"
	appArmorProfilesFile = "/sys/kernel/security/apparmor/profiles"
)

// appArmorDefaults are the profiles RuntimeDefault may use: containerd's and Docker's. minipod
// loads none of its own; a host with AppArmor usually has one of these loaded.
var appArmorDefaults = []string{"cri-containerd.apparmor.d", "docker-default"}

// appArmorEnabled is runc's apparmor.IsEnabled: the module is loaded and enabled.
var appArmorEnabled = sync.OnceValue(func() bool {
	b, err := os.ReadFile(appArmorEnabledFile)
	return err == nil && len(b) > 0 && b[0] == 'Y'
})

// appArmorLoaded reports whether a profile is loaded (containerd's appArmorProfileExists).
func appArmorLoaded(name string) bool {
	f, err := os.Open(appArmorProfilesFile)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "name (enforce)"
		if n, _, _ := strings.Cut(sc.Text(), " ("); n == name {
			return true
		}
	}
	return false
}

// appArmorDefault is the loaded profile RuntimeDefault applies, or "".
func appArmorDefault() string {
	for _, p := range appArmorDefaults {
		if appArmorLoaded(p) {
			return p
		}
	}
	return ""
}

// hostCapabilities are the capabilities this process holds, what ALL and privileged give
// (containerd's cap.Current()).
var hostCapabilities = sync.OnceValues(func() ([]string, error) {
	c, err := capability.NewPid2(0)
	if err == nil {
		err = c.Load()
	}
	if err != nil {
		return nil, fmt.Errorf("read minipod's capabilities: %w", err)
	}
	var caps []string
	for _, k := range capability.ListKnown() {
		if c.Get(capability.EFFECTIVE, k) {
			caps = append(caps, "CAP_"+strings.ToUpper(k.String()))
		}
	}
	return caps, nil
})

// admit runs the kubelet's admission checks of a pod's security settings before anything of
// it is created, and rejects the pod as the kubelet's rejectPod does (phase Failed, the
// handler's reason, "Pod was rejected: " and its message, a Warning event): sysctls not on
// the safe list nor allowed with --allowed-unsafe-sysctls (pkg/kubelet/sysctl Admit), and
// AppArmor profiles on a host without AppArmor (pkg/kubelet/lifecycle/handlers.go
// appArmorAdmitHandler), or naming a RuntimeDefault profile minipod has not got.
func (m *monitor) admit() bool {
	reason, msg := m.admitSecurity()
	if reason == "" {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.event(nil, api.EventWarning, reason, msg)
	st := &m.pod.Status
	st.Phase, st.Reason, st.Message = api.PodFailed, reason, "Pod was rejected: "+msg
	m.updateLocked()
	return false
}

func (m *monitor) admitSecurity() (reason, msg string) {
	pod := &m.pod
	if sc := pod.Spec.SecurityContext; sc != nil && len(sc.Sysctls) > 0 {
		w, err := sysctl.NewAllowlist(m.rec.Config.AllowedUnsafeSysctls)
		if err != nil {
			return sysctl.ForbiddenReason, err.Error()
		}
		names := make([]string, len(sc.Sysctls))
		for i, s := range sc.Sysctls {
			names[i] = s.Name
		}
		// No pod shares the host's network or IPC namespace here.
		if msg, ok := w.Admit(names, false, false); !ok {
			return sysctl.ForbiddenReason, msg
		}
	}
	if api.AppArmorRequired(pod) {
		if !appArmorEnabled() {
			return "AppArmor", "Cannot enforce AppArmor: AppArmor is not enabled on the host"
		}
		for _, list := range [][]api.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range list {
				p := api.AppArmorProfileOf(pod, &list[i])
				if p != nil && p.Type == api.AppArmorProfileTypeRuntimeDefault && appArmorDefault() == "" {
					return "AppArmor", fmt.Sprintf("Cannot enforce AppArmor: RuntimeDefault needs one of the profiles %s loaded, and none is", strings.Join(appArmorDefaults, ", "))
				}
			}
		}
	}
	return "", ""
}

// containerHost checks what the kubelet and containerd check before creating a container, and
// finds what its spec takes from the host: for its security settings, and the host's memory
// and cgroups (read with the sandbox) for its resources. A problem is an *ocispec.CreateError:
// runAsNonRoot with a root user (CreateContainerConfigError, with the kubelet's message), a
// Localhost seccomp or AppArmor profile that is not there (CreateContainerError, with
// containerd's).
func (w *worker) containerHost(img ocispec.ImageConfig) (ocispec.Host, error) {
	m, c := w.m, w.c
	if err := ocispec.VerifyRunAsNonRoot(&m.pod, c, img.User); err != nil {
		return ocispec.Host{}, err
	}
	caps, err := hostCapabilities()
	if err != nil {
		return ocispec.Host{}, err
	}
	h := m.host // the host's memory and cgroups, read with the sandbox setup
	h.Capabilities, h.SeccompDefault = caps, m.rec.Config.SeccompDefault
	if path := ocispec.LocalhostSeccompProfile(&m.pod, c, m.rec.Config.SeccompDir()); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			// containerd's contrib/seccomp WithProfile, through CreateContainer.
			return ocispec.Host{}, &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
				Message: fmt.Sprintf("failed to create container: cannot load seccomp profile %q: %v", path, err)}
		}
		h.SeccompProfile = b
	}
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
	if p := api.AppArmorProfileOf(&m.pod, c); p != nil && appArmorEnabled() {
		switch {
		case p.Type == api.AppArmorProfileTypeLocalhost && !appArmorLoaded(*p.LocalhostProfile):
			return ocispec.Host{}, &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
				Message: fmt.Sprintf("failed to create container: failed to generate apparmor spec opts: apparmor profile not found %s", *p.LocalhostProfile)}
		case p.Type == api.AppArmorProfileTypeRuntimeDefault && !privileged:
			h.AppArmorDefault = appArmorDefault()
		}
	}
	if privileged {
		if h.Devices, err = ocispec.HostDevices("/dev"); err != nil {
			return ocispec.Host{}, err
		}
	}
	return h, nil
}

// createFailed handles a container that could not be created as the pod asks: it waits with
// the kubelet's reason and message, and the next attempt comes after the kubelet's back-off
// between failed pod syncs (backOffPeriod, 10 s, here --backoff-initial), without a restart
// counted. It returns false if the pod began stopping meanwhile.
func (w *worker) createFailed(err *ocispec.CreateError, first func()) bool {
	w.event(api.EventWarning, "Failed", "Error: "+err.Message)
	w.setWaiting(err.Reason, err.Message)
	first()
	select {
	case <-time.After(w.m.rec.Config.BackoffInitial):
		return true
	case <-w.m.stopc:
		return false
	}
}

// asCreateError returns err as a create failure, or nil if it is another kind of error.
func asCreateError(err error) *ocispec.CreateError {
	var ce *ocispec.CreateError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// containerUser is status.containerStatuses[].user as containerd reports it: the process's
// uid, gid and supplementary groups.
func containerUser(uid, gid uint32, groups []uint32) *api.ContainerUser {
	u := &api.LinuxContainerUser{UID: int64(uid), GID: int64(gid)}
	for _, g := range groups {
		u.SupplementalGroups = append(u.SupplementalGroups, int64(g))
	}
	slices.Sort(u.SupplementalGroups)
	return &api.ContainerUser{Linux: u}
}
