package api

import "strings"

// EffectiveSecurityContext merges the pod's security context into a container's, the
// container's fields winning (pkg/securitycontext/util.go DetermineEffectiveSecurityContext):
// seLinuxOptions, windowsOptions, runAsUser, runAsGroup and runAsNonRoot come from the pod
// unless the container sets them; the rest are the container's own. The seccomp and AppArmor
// profiles are resolved separately (SeccompProfileOf, AppArmorProfileOf). The result shares
// no pointer with the pod.
func EffectiveSecurityContext(spec *PodSpec, c *Container) SecurityContext {
	var sc SecurityContext
	if p := spec.SecurityContext; p != nil {
		sc.SELinuxOptions = clonePtr(p.SELinuxOptions)
		sc.WindowsOptions = clonePtr(p.WindowsOptions)
		sc.RunAsUser = clonePtr(p.RunAsUser)
		sc.RunAsGroup = clonePtr(p.RunAsGroup)
		sc.RunAsNonRoot = clonePtr(p.RunAsNonRoot)
	}
	cs := c.SecurityContext
	if cs == nil {
		return sc
	}
	if cs.SELinuxOptions != nil {
		sc.SELinuxOptions = clonePtr(cs.SELinuxOptions)
	}
	if cs.WindowsOptions != nil {
		sc.WindowsOptions = clonePtr(cs.WindowsOptions)
	}
	if cs.Capabilities != nil {
		sc.Capabilities = &Capabilities{Add: cs.Capabilities.Add, Drop: cs.Capabilities.Drop}
	}
	sc.Privileged = clonePtr(cs.Privileged)
	if cs.RunAsUser != nil {
		sc.RunAsUser = clonePtr(cs.RunAsUser)
	}
	if cs.RunAsGroup != nil {
		sc.RunAsGroup = clonePtr(cs.RunAsGroup)
	}
	if cs.RunAsNonRoot != nil {
		sc.RunAsNonRoot = clonePtr(cs.RunAsNonRoot)
	}
	sc.ReadOnlyRootFilesystem = clonePtr(cs.ReadOnlyRootFilesystem)
	sc.AllowPrivilegeEscalation = clonePtr(cs.AllowPrivilegeEscalation)
	sc.ProcMount = clonePtr(cs.ProcMount)
	return sc
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// SeccompProfileOf is the seccomp profile a container runs with, or nil for none set: the
// container's, else the pod's (pkg/kubelet/kuberuntime/helpers.go getSeccompProfile).
func SeccompProfileOf(spec *PodSpec, c *Container) *SeccompProfile {
	if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
		return c.SecurityContext.SeccompProfile
	}
	if spec.SecurityContext != nil {
		return spec.SecurityContext.SeccompProfile
	}
	return nil
}

// AppArmorProfileOf is the AppArmor profile a container runs with, or nil for none set: the
// container's field, else its (deprecated) annotation, else the pod's field
// (pkg/security/apparmor/helpers.go GetProfile).
func AppArmorProfileOf(pod *Pod, c *Container) *AppArmorProfile {
	if c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil {
		return c.SecurityContext.AppArmorProfile
	}
	if v, ok := pod.Metadata.Annotations[AppArmorBetaContainerAnnotationKeyPrefix+c.Name]; ok {
		switch {
		case v == AppArmorBetaProfileRuntimeDefault:
			return &AppArmorProfile{Type: AppArmorProfileTypeRuntimeDefault}
		case v == AppArmorBetaProfileNameUnconfined:
			return &AppArmorProfile{Type: AppArmorProfileTypeUnconfined}
		case strings.HasPrefix(v, AppArmorBetaProfileNamePrefix):
			name := strings.TrimPrefix(v, AppArmorBetaProfileNamePrefix)
			return &AppArmorProfile{Type: AppArmorProfileTypeLocalhost, LocalhostProfile: &name}
		}
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.AppArmorProfile
	}
	return nil
}

// AppArmorRequired reports whether a pod needs AppArmor on the host: some profile other than
// Unconfined is set (pkg/security/apparmor/helpers.go isRequired).
func AppArmorRequired(pod *Pod) bool {
	for _, list := range [][]Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if p := AppArmorProfileOf(pod, &list[i]); p != nil && p.Type != AppArmorProfileTypeUnconfined {
				return true
			}
		}
	}
	return false
}

// syncSeccompAnnotations gives a pod that sets its seccomp profile only through the
// deprecated annotations the equivalent fields, as the API server does on create
// (pkg/registry/core/pod/strategy.go applySeccompVersionSkew).
func syncSeccompAnnotations(p *Pod) {
	if v, ok := p.Metadata.Annotations[SeccompPodAnnotationKey]; ok {
		if sc := p.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil {
			if f := seccompFieldForAnnotation(v); f != nil {
				if p.Spec.SecurityContext == nil {
					p.Spec.SecurityContext = &PodSecurityContext{}
				}
				p.Spec.SecurityContext.SeccompProfile = f
			}
		}
	}
	for _, list := range [][]Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			c := &list[i]
			v, ok := p.Metadata.Annotations[SeccompContainerAnnotationKeyPrefix+c.Name]
			if !ok || (c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil) {
				continue
			}
			if f := seccompFieldForAnnotation(v); f != nil {
				if c.SecurityContext == nil {
					c.SecurityContext = &SecurityContext{}
				}
				c.SecurityContext.SeccompProfile = f
			}
		}
	}
}

// seccompFieldForAnnotation is pkg/api/pod/util.go SeccompFieldForAnnotation.
func seccompFieldForAnnotation(v string) *SeccompProfile {
	switch {
	case v == SeccompProfileNameUnconfined:
		return &SeccompProfile{Type: SeccompProfileTypeUnconfined}
	case v == SeccompProfileRuntimeDefault || v == DeprecatedSeccompProfileDockerDefault:
		return &SeccompProfile{Type: SeccompProfileTypeRuntimeDefault}
	case strings.HasPrefix(v, SeccompLocalhostProfileNamePrefix):
		name := strings.TrimPrefix(v, SeccompLocalhostProfileNamePrefix)
		if name == "" {
			return nil
		}
		return &SeccompProfile{Type: SeccompProfileTypeLocalhost, LocalhostProfile: &name}
	}
	return nil
}
