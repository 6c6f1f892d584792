package api

import (
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// OSName is spec.os.name.
type OSName string

const (
	Linux   OSName = "linux"
	Windows OSName = "windows"
)

// PodOS is spec.os: the operating system the pod needs. minipod runs on Linux, so a
// windows pod passes validation (as the API server accepts it) and is refused at admission
// with the kubelet's PodOSNotSupported (resources.Admit).
type PodOS struct {
	Name OSName `json:"name"`
}

// Signal is lifecycle.stopSignal: a signal name as the API server accepts it.
type Signal string

// StopSignalsLinux are the stop signals the API server accepts for a linux pod
// (supportedStopSignalsLinux, pkg/apis/core/validation/validation.go).
var StopSignalsLinux = func() []Signal {
	s := []Signal{"SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGFPE", "SIGHUP",
		"SIGILL", "SIGINT", "SIGIO", "SIGIOT", "SIGKILL", "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR",
		"SIGQUIT", "SIGSEGV", "SIGSTKFLT", "SIGSTOP", "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTSTP",
		"SIGTTIN", "SIGTTOU", "SIGURG", "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGWINCH", "SIGXCPU",
		"SIGXFSZ", "SIGRTMIN", "SIGRTMAX"}
	for i := 1; i <= 15; i++ {
		s = append(s, Signal("SIGRTMIN+"+itoa(i)))
	}
	for i := 1; i <= 14; i++ {
		s = append(s, Signal("SIGRTMAX-"+itoa(i)))
	}
	slices.Sort(s)
	return s
}()

// stopSignalsWindows is the API server's supportedStopSignalsWindows.
var stopSignalsWindows = []Signal{"SIGKILL", "SIGTERM"}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// validateOS is the API server's validateOS, then validateLinux or validateWindows
// (ValidatePodSpec, pkg/apis/core/validation/validation.go), and validateStopSignal for each
// container's lifecycle.stopSignal (validateLifecycle).
func validateOS(s *PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if os := s.OS; os != nil {
		op := fp.Child("os")
		switch {
		case os.Name == "":
			errs = append(errs, field.Required(op.Child("name"), ""))
		case os.Name != Linux && os.Name != Windows:
			errs = append(errs, field.NotSupported(op, os.Name, []OSName{Linux, Windows}))
		case os.Name == Windows:
			errs = append(errs, validateWindows(s, fp)...)
		}
		// validateLinux forbids windowsOptions, which refuseWindowsOptions refuses anyway.
	}
	for _, l := range []struct {
		cs []Container
		fp *field.Path
	}{{s.InitContainers, fp.Child("initContainers")}, {s.Containers, fp.Child("containers")}} {
		for i := range l.cs {
			if lc := l.cs[i].Lifecycle; lc != nil && lc.StopSignal != nil {
				errs = append(errs, validateStopSignal(*lc.StopSignal, s.OS, l.fp.Index(i).Child("lifecycle", "stopSignal"))...)
			}
		}
	}
	return errs
}

// validateStopSignal is the API server's validateStopSignal: a stop signal needs spec.os.name
// and one of that OS's signals.
func validateStopSignal(sig Signal, os *PodOS, fp *field.Path) field.ErrorList {
	switch {
	case os == nil:
		return field.ErrorList{field.Forbidden(fp, "may not be set for containers with empty `spec.os.name`")}
	case os.Name == Windows && !slices.Contains(stopSignalsWindows, sig):
		return field.ErrorList{field.NotSupported(fp, sig, stopSignalsWindows)}
	case os.Name == Linux && !slices.Contains(StopSignalsLinux, sig):
		return field.ErrorList{field.NotSupported(fp, sig, StopSignalsLinux)}
	}
	return nil
}

// validateWindows is the API server's validateWindows: Linux-only settings that minipod
// supports are forbidden in a windows pod (the others are refused as unsupported anyway).
func validateWindows(s *PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	const msg = "cannot be set for a windows pod"
	forbid := func(set bool, p *field.Path) {
		if set {
			errs = append(errs, field.Forbidden(p, msg))
		}
	}
	if sc := s.SecurityContext; sc != nil {
		sp := fp.Child("securityContext")
		forbid(sc.AppArmorProfile != nil, sp.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, sp.Child("seLinuxOptions"))
		forbid(sc.SeccompProfile != nil, sp.Child("seccompProfile"))
		forbid(sc.FSGroup != nil, sp.Child("fsGroup"))
		forbid(sc.FSGroupChangePolicy != nil, sp.Child("fsGroupChangePolicy"))
		forbid(len(sc.Sysctls) > 0, sp.Child("sysctls"))
		forbid(sc.RunAsUser != nil, sp.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, sp.Child("runAsGroup"))
		forbid(sc.SupplementalGroups != nil, sp.Child("supplementalGroups"))
		forbid(sc.SupplementalGroupsPolicy != nil, sp.Child("supplementalGroupsPolicy"))
		forbid(sc.SELinuxChangePolicy != nil, sp.Child("seLinuxChangePolicy"))
	}
	forbid(s.HostUsers != nil, fp.Child("hostUsers"))
	forbid(s.HostPID, fp.Child("hostPID"))
	forbid(s.HostIPC, fp.Child("hostIPC"))
	forbid(s.ShareProcessNamespace != nil, fp.Child("shareProcessNamespace"))
	visit := func(cs []Container, cp *field.Path) {
		for i := range cs {
			sc := cs[i].SecurityContext
			if sc == nil {
				continue
			}
			sp := cp.Index(i).Child("securityContext")
			forbid(sc.AppArmorProfile != nil, sp.Child("appArmorProfile"))
			forbid(sc.SELinuxOptions != nil, sp.Child("seLinuxOptions"))
			forbid(sc.SeccompProfile != nil, sp.Child("seccompProfile"))
			forbid(sc.Capabilities != nil, sp.Child("capabilities"))
			forbid(sc.ReadOnlyRootFilesystem != nil, sp.Child("readOnlyRootFilesystem"))
			forbid(sc.Privileged != nil, sp.Child("privileged"))
			forbid(sc.AllowPrivilegeEscalation != nil, sp.Child("allowPrivilegeEscalation"))
			forbid(sc.ProcMount != nil, sp.Child("procMount"))
			forbid(sc.RunAsUser != nil, sp.Child("runAsUser"))
			forbid(sc.RunAsGroup != nil, sp.Child("runAsGroup"))
		}
	}
	visit(s.InitContainers, fp.Child("initContainers"))
	visit(s.Containers, fp.Child("containers"))
	return errs
}
