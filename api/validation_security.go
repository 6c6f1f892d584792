package api

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateSecurity holds the API server's rules for the security fields of a pod
// (pkg/apis/core/validation: validatePodSpecSecurityContext, ValidateSecurityContext,
// validateHostUsers, the seccomp and AppArmor annotation checks), and refuses what minipod
// cannot do, each with its reason.
func validateSecurity(p *Pod) field.ErrorList {
	spec, fp := &p.Spec, field.NewPath("spec")
	var errs field.ErrorList
	hostUsers := true
	if spec.HostUsers != nil && !*spec.HostUsers {
		hostUsers = false
		// libcontainer could map the IDs, but the image layers are shared read-only by every
		// container and owned by the host's root: without idmapped layers (not done yet) the
		// container's root would not own its own root filesystem.
		errs = append(errs, &field.Error{Type: field.ErrorTypeNotSupported, Field: fp.Child("hostUsers").String(), BadValue: false,
			Detail: "user namespaces are not supported yet: the shared image layers would need idmapped mounts"})
	}
	if sc := spec.SecurityContext; sc != nil {
		errs = append(errs, validatePodSecurityContext(sc, fp.Child("securityContext"))...)
	}
	for _, l := range []struct {
		name string
		list []Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}, {"ephemeralContainers", ephemeralAsContainers(spec)}} {
		for i := range l.list {
			if sc := l.list[i].SecurityContext; sc != nil {
				errs = append(errs, validateSecurityContext(sc, fp.Child(l.name).Index(i).Child("securityContext"), hostUsers)...)
			}
		}
	}
	errs = append(errs, validateSecurityAnnotations(p)...)
	return errs
}

// validatePodSecurityContext is validatePodSpecSecurityContext.
func validatePodSecurityContext(sc *PodSecurityContext, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sc.FSGroup != nil {
		errs = append(errs, invalidEach(fp.Child("fsGroup"), *sc.FSGroup, validation.IsValidGroupID(*sc.FSGroup))...)
	}
	if sc.RunAsUser != nil {
		errs = append(errs, invalidEach(fp.Child("runAsUser"), *sc.RunAsUser, validation.IsValidUserID(*sc.RunAsUser))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, invalidEach(fp.Child("runAsGroup"), *sc.RunAsGroup, validation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, invalidEach(fp.Child("supplementalGroups").Index(i), g, validation.IsValidGroupID(g))...)
	}
	errs = append(errs, validateSysctls(sc.Sysctls, fp.Child("sysctls"))...)
	if p := sc.FSGroupChangePolicy; p != nil && *p != FSGroupChangeAlways && *p != FSGroupChangeOnRootMismatch {
		errs = append(errs, field.NotSupported(fp.Child("fsGroupChangePolicy"), *p, []PodFSGroupChangePolicy{FSGroupChangeAlways, FSGroupChangeOnRootMismatch}))
	}
	errs = append(errs, validateSeccompProfileField(sc.SeccompProfile, fp.Child("seccompProfile"))...)
	errs = append(errs, refuseWindowsOptions(sc.WindowsOptions, fp.Child("windowsOptions"))...)
	errs = append(errs, validateAppArmorProfileField(sc.AppArmorProfile, fp.Child("appArmorProfile"))...)
	if p := sc.SupplementalGroupsPolicy; p != nil && *p != SupplementalGroupsPolicyMerge && *p != SupplementalGroupsPolicyStrict {
		errs = append(errs, field.NotSupported(fp.Child("supplementalGroupsPolicy"), *p, []SupplementalGroupsPolicy{SupplementalGroupsPolicyMerge, SupplementalGroupsPolicyStrict}))
	}
	// Without SELinux labels there is nothing to relabel: any valid policy behaves the same.
	if p := sc.SELinuxChangePolicy; p != nil && *p != SELinuxChangePolicyMountOption && *p != SELinuxChangePolicyRecursive {
		errs = append(errs, field.NotSupported(fp.Child("seLinuxChangePolicy"), *p, []PodSELinuxChangePolicy{SELinuxChangePolicyMountOption, SELinuxChangePolicyRecursive}))
	}
	errs = append(errs, refuseSELinuxOptions(sc.SELinuxOptions, fp.Child("seLinuxOptions"))...)
	return errs
}

// validateSecurityContext is ValidateSecurityContext. privileged is allowed, as by a kubelet
// with its default --allow-privileged.
func validateSecurityContext(sc *SecurityContext, fp *field.Path, hostUsers bool) field.ErrorList {
	var errs field.ErrorList
	if sc.RunAsUser != nil {
		errs = append(errs, invalidEach(fp.Child("runAsUser"), *sc.RunAsUser, validation.IsValidUserID(*sc.RunAsUser))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, invalidEach(fp.Child("runAsGroup"), *sc.RunAsGroup, validation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	if pm := sc.ProcMount; pm != nil {
		if *pm != DefaultProcMount && *pm != UnmaskedProcMount {
			errs = append(errs, field.NotSupported(fp.Child("procMount"), *pm, []ProcMountType{DefaultProcMount, UnmaskedProcMount}))
		}
		if hostUsers && *pm == UnmaskedProcMount {
			errs = append(errs, field.Invalid(fp.Child("procMount"), *pm, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, validateSeccompProfileField(sc.SeccompProfile, fp.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fp, field.OmitValueType{}, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(fp, field.OmitValueType{}, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	errs = append(errs, refuseWindowsOptions(sc.WindowsOptions, fp.Child("windowsOptions"))...)
	errs = append(errs, validateAppArmorProfileField(sc.AppArmorProfile, fp.Child("appArmorProfile"))...)
	errs = append(errs, refuseSELinuxOptions(sc.SELinuxOptions, fp.Child("seLinuxOptions"))...)
	return errs
}

// validateSeccompProfileField is validateSeccompProfileField with validateSeccompProfileType.
func validateSeccompProfileField(sp *SeccompProfile, fp *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case SeccompProfileTypeLocalhost, SeccompProfileTypeRuntimeDefault, SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(fp.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fp.Child("type"), sp.Type,
			[]SeccompProfileType{SeccompProfileTypeLocalhost, SeccompProfileTypeRuntimeDefault, SeccompProfileTypeUnconfined}))
	}
	if sp.Type == SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil {
			errs = append(errs, field.Required(fp.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			errs = append(errs, validateLocalDescendingPath(*sp.LocalhostProfile, fp.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		errs = append(errs, field.Invalid(fp.Child("localhostProfile"), *sp.LocalhostProfile, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

// validateLocalDescendingPath is validateLocalDescendingPath: relative, without "..".
func validateLocalDescendingPath(p string, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(p) {
		errs = append(errs, field.Invalid(fp, p, "must be a relative path"))
	}
	return append(errs, validateNoBacksteps(p, fp)...)
}

// validateAppArmorProfileField is ValidateAppArmorProfileField.
func validateAppArmorProfileField(p *AppArmorProfile, fp *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	switch p.Type {
	case AppArmorProfileTypeLocalhost:
		if p.LocalhostProfile == nil {
			errs = append(errs, field.Required(fp.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
			break
		}
		name := strings.TrimSpace(*p.LocalhostProfile)
		if name != *p.LocalhostProfile {
			errs = append(errs, field.Invalid(fp.Child("localhostProfile"), *p.LocalhostProfile, "must not be padded with whitespace"))
		} else if name == "" {
			errs = append(errs, field.Required(fp.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		}
		const maxLocalhostProfileLength = 4095 // PATH_MAX - 1
		if len(*p.LocalhostProfile) > maxLocalhostProfileLength {
			errs = append(errs, field.TooLong(fp.Child("localhostProfile"), "", maxLocalhostProfileLength))
		}
	case AppArmorProfileTypeRuntimeDefault, AppArmorProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(fp.Child("localhostProfile"), *p.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(fp.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fp.Child("type"), p.Type,
			[]AppArmorProfileType{AppArmorProfileTypeLocalhost, AppArmorProfileTypeRuntimeDefault, AppArmorProfileTypeUnconfined}))
	}
	return errs
}

// sysctlNameRE and sysctlMaxLength are the API server's IsValidSysctlName.
const (
	sysctlSegmentFmt      = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
	sysctlContainSlashFmt = "(" + sysctlSegmentFmt + "[\\./])*" + sysctlSegmentFmt
	sysctlMaxLength       = 253
)

var sysctlNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^" + sysctlContainSlashFmt + "$") }) // compiled when first used: not in every process's start

// validateSysctls is validateSysctls. Whether a sysctl is allowed is the kubelet's
// admission's business (package sysctl), not the API server's.
func validateSysctls(sysctls []Sysctl, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, s := range sysctls {
		np := fp.Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(np, ""))
		case len(s.Name) > sysctlMaxLength || !sysctlNameRE().MatchString(s.Name):
			errs = append(errs, field.Invalid(np, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlNameRE())))
		case names[s.Name]:
			errs = append(errs, field.Duplicate(np, s.Name))
		}
		names[s.Name] = true
	}
	return errs
}

// refuseSELinuxOptions refuses SELinux labels: minipod gives containers none, and a label
// silently not applied would be a security setting silently dropped.
func refuseSELinuxOptions(o *SELinuxOptions, fp *field.Path) field.ErrorList {
	if o == nil || *o == (SELinuxOptions{}) {
		return nil
	}
	return field.ErrorList{&field.Error{Type: field.ErrorTypeNotSupported, Field: fp.String(), BadValue: field.OmitValueType{},
		Detail: "SELinux labels are not supported: minipod does not label containers"}}
}

// refuseWindowsOptions refuses Windows settings, which mean nothing to the Linux containers
// minipod runs.
func refuseWindowsOptions(o *WindowsSecurityContextOptions, fp *field.Path) field.ErrorList {
	if o == nil || (o.GMSACredentialSpecName == nil && o.GMSACredentialSpec == nil && o.RunAsUserName == nil && o.HostProcess == nil) {
		return nil
	}
	return field.ErrorList{&field.Error{Type: field.ErrorTypeNotSupported, Field: fp.String(), BadValue: field.OmitValueType{},
		Detail: "Windows options do not apply to Linux containers"}}
}

// validateSecurityAnnotations holds the checks of the deprecated seccomp and AppArmor
// annotations: ValidateSeccompPodAnnotations, ValidateAppArmorPodAnnotations,
// validateSeccompAnnotationsAndFields and validateAppArmorAnnotationsAndFieldsMatchOnCreate.
func validateSecurityAnnotations(p *Pod) field.ErrorList {
	var errs field.ErrorList
	ap := field.NewPath("metadata", "annotations")
	names := map[string]*Container{}
	for _, list := range [][]Container{p.Spec.InitContainers, p.Spec.Containers, ephemeralAsContainers(&p.Spec)} {
		for i := range list {
			names[list[i].Name] = &list[i]
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Metadata.Annotations)) {
		v := p.Metadata.Annotations[k]
		if k == SeccompPodAnnotationKey || strings.HasPrefix(k, SeccompContainerAnnotationKeyPrefix) {
			errs = append(errs, validateSeccompAnnotation(v, ap.Child(k))...)
		}
		if name, ok := strings.CutPrefix(k, AppArmorBetaContainerAnnotationKeyPrefix); ok {
			if names[name] == nil {
				errs = append(errs, field.Invalid(ap.Key(k), name, "container not found"))
			}
			if v != "" && v != AppArmorBetaProfileRuntimeDefault && v != AppArmorBetaProfileNameUnconfined && !strings.HasPrefix(v, AppArmorBetaProfileNamePrefix) {
				errs = append(errs, field.Invalid(ap.Key(k), v, fmt.Sprintf("invalid AppArmor profile name: %q", v)))
			}
		}
	}
	// When an annotation and a field both say something, they must agree.
	sp := field.NewPath("spec")
	if sc := p.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		if v, ok := p.Metadata.Annotations[SeccompPodAnnotationKey]; ok {
			errs = append(errs, seccompAnnotationMatches(v, sc.SeccompProfile, sp.Child("securityContext", "seccompProfile"))...)
		}
	}
	for _, l := range []struct {
		name string
		list []Container
	}{{"initContainers", p.Spec.InitContainers}, {"containers", p.Spec.Containers}, {"ephemeralContainers", ephemeralAsContainers(&p.Spec)}} {
		for i := range l.list {
			c := &l.list[i]
			cp := sp.Child(l.name).Index(i).Child("securityContext")
			if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
				if v, ok := p.Metadata.Annotations[SeccompContainerAnnotationKeyPrefix+c.Name]; ok {
					errs = append(errs, seccompAnnotationMatches(v, c.SecurityContext.SeccompProfile, cp.Child("seccompProfile"))...)
				}
			}
			// The AppArmor match is checked on create only, before any ephemeral container.
			if l.name != "ephemeralContainers" {
				errs = append(errs, appArmorAnnotationMatches(p, c, cp.Child("appArmorProfile"))...)
			}
		}
	}
	return errs
}

// validateSeccompAnnotation is ValidateSeccompProfile.
func validateSeccompAnnotation(v string, fp *field.Path) field.ErrorList {
	switch {
	case v == SeccompProfileRuntimeDefault || v == DeprecatedSeccompProfileDockerDefault || v == SeccompProfileNameUnconfined:
		return nil
	case strings.HasPrefix(v, SeccompLocalhostProfileNamePrefix):
		return validateLocalDescendingPath(strings.TrimPrefix(v, SeccompLocalhostProfileNamePrefix), fp)
	}
	return field.ErrorList{field.Invalid(fp, v, "must be a valid seccomp profile")}
}

// seccompAnnotationMatches is validateSeccompAnnotationsAndFieldsMatch.
func seccompAnnotationMatches(v string, f *SeccompProfile, fp *field.Path) field.ErrorList {
	const typeMsg = "seccomp type in annotation and field must match"
	switch f.Type {
	case SeccompProfileTypeUnconfined:
		if v != SeccompProfileNameUnconfined {
			return field.ErrorList{field.Forbidden(fp.Child("type"), typeMsg)}
		}
	case SeccompProfileTypeRuntimeDefault:
		if v != SeccompProfileRuntimeDefault && v != DeprecatedSeccompProfileDockerDefault {
			return field.ErrorList{field.Forbidden(fp.Child("type"), typeMsg)}
		}
	case SeccompProfileTypeLocalhost:
		if !strings.HasPrefix(v, SeccompLocalhostProfileNamePrefix) {
			return field.ErrorList{field.Forbidden(fp.Child("type"), typeMsg)}
		}
		if f.LocalhostProfile == nil || strings.TrimPrefix(v, SeccompLocalhostProfileNamePrefix) != *f.LocalhostProfile {
			return field.ErrorList{field.Forbidden(fp.Child("localhostProfile"), "seccomp profile in annotation and field must match")}
		}
	}
	return nil
}

// appArmorAnnotationMatches is the per-container check of
// validateAppArmorAnnotationsAndFieldsMatchOnCreate.
func appArmorAnnotationMatches(p *Pod, c *Container, fp *field.Path) field.ErrorList {
	var prof *AppArmorProfile
	if p.Spec.SecurityContext != nil {
		prof = p.Spec.SecurityContext.AppArmorProfile
	}
	if c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil {
		prof = c.SecurityContext.AppArmorProfile
	}
	v, ok := p.Metadata.Annotations[AppArmorBetaContainerAnnotationKeyPrefix+c.Name]
	if prof == nil || !ok {
		return nil
	}
	const typeMsg = "apparmor type in annotation and field must match"
	switch prof.Type {
	case AppArmorProfileTypeUnconfined:
		if v != AppArmorBetaProfileNameUnconfined {
			return field.ErrorList{field.Forbidden(fp.Child("type"), typeMsg)}
		}
	case AppArmorProfileTypeRuntimeDefault:
		if v != AppArmorBetaProfileRuntimeDefault {
			return field.ErrorList{field.Forbidden(fp.Child("type"), typeMsg)}
		}
	case AppArmorProfileTypeLocalhost:
		if !strings.HasPrefix(v, AppArmorBetaProfileNamePrefix) {
			return field.ErrorList{field.Forbidden(fp.Child("type"), typeMsg)}
		}
		if prof.LocalhostProfile == nil || strings.TrimPrefix(v, AppArmorBetaProfileNamePrefix) != *prof.LocalhostProfile {
			return field.ErrorList{field.Forbidden(fp.Child("localhostProfile"), "apparmor profile in annotation and field must match")}
		}
	}
	return nil
}
