package api

import (
	"maps"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// totalAnnotationSizeLimit is the API server's limit on the summed size of annotation keys and values.
const totalAnnotationSizeLimit = 256 << 10

// Validate checks a defaulted Pod like the Kubernetes API server does
// (pkg/apis/core/validation), with Kubernetes' messages. It returns an *InvalidError or nil.
// apiVersion and kind are Load's business: they are not part of a Pod's validation there either.
func Validate(p *Pod) error {
	errs := &InvalidError{}
	errs.add(validateMeta(&p.Metadata, field.NewPath("metadata"))...)
	errs.add(validateSpec(&p.Spec, field.NewPath("spec"))...)
	return errs.orNil()
}

func validateMeta(m *ObjectMeta, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Name == "" {
		errs = append(errs, field.Required(fp.Child("name"), "name or generateName is required"))
	} else {
		errs = append(errs, invalidEach(fp.Child("name"), m.Name, validation.IsDNS1123Subdomain(m.Name))...)
	}
	if m.Namespace == "" {
		errs = append(errs, field.Required(fp.Child("namespace"), ""))
	} else {
		errs = append(errs, invalidEach(fp.Child("namespace"), m.Namespace, validation.IsDNS1123Label(m.Namespace))...)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Labels)) {
		errs = append(errs, invalidEach(fp.Child("labels"), k, content.IsLabelKey(k))...)
		errs = append(errs, invalidEach(fp.Child("labels"), m.Labels[k], content.IsLabelValue(m.Labels[k]))...)
	}
	size := 0
	for _, k := range slices.Sorted(maps.Keys(m.Annotations)) {
		// Annotation keys are label keys, except that case does not matter.
		errs = append(errs, invalidEach(fp.Child("annotations"), k, content.IsLabelKey(strings.ToLower(k)))...)
		size += len(k) + len(m.Annotations[k])
	}
	if size > totalAnnotationSizeLimit {
		errs = append(errs, field.TooLong(fp.Child("annotations"), "", totalAnnotationSizeLimit))
	}
	return errs
}

func validateSpec(s *PodSpec, fp *field.Path) field.ErrorList {
	volumes, errs := validateVolumes(s.Volumes, fp.Child("volumes"))
	errs = append(errs, validateContainers(s.Containers, volumes, fp.Child("containers"))...)
	switch s.RestartPolicy {
	case RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever:
	case "":
		errs = append(errs, field.Required(fp.Child("restartPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(fp.Child("restartPolicy"), s.RestartPolicy,
			[]RestartPolicy{RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever}))
	}
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		errs = append(errs, field.Invalid(fp.Child("terminationGracePeriodSeconds"), *g, "must be greater than or equal to 0"))
	}
	if s.Hostname != "" {
		errs = append(errs, invalidEach(fp.Child("hostname"), s.Hostname, validation.IsDNS1123Label(s.Hostname))...)
	}
	return errs
}

var hostPathTypes = []HostPathType{HostPathUnset, HostPathBlockDev, HostPathCharDev, HostPathDirectory,
	HostPathDirectoryOrCreate, HostPathFile, HostPathFileOrCreate, HostPathSocket}

// validateVolumes returns the set of valid volume names for the volume mounts to refer to.
func validateVolumes(volumes []Volume, fp *field.Path) (map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, v := range volumes {
		idx := fp.Index(i)
		errs = append(errs, validateUniqueName(v.Name, idx.Child("name"), names)...)
		sources := 0
		if e := v.EmptyDir; e != nil {
			sources++
			ep := idx.Child("emptyDir")
			if e.Medium != StorageMediumDefault && e.Medium != StorageMediumMemory {
				errs = append(errs, field.NotSupported(ep.Child("medium"), e.Medium,
					[]StorageMedium{StorageMediumDefault, StorageMediumMemory}))
			}
			if e.SizeLimit != nil && e.SizeLimit.Cmp(resource.Quantity{}) < 0 {
				errs = append(errs, field.Forbidden(ep.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
			}
		}
		if h := v.HostPath; h != nil {
			hp := idx.Child("hostPath")
			if sources++; sources > 1 {
				errs = append(errs, field.Forbidden(hp, "may not specify more than 1 volume type"))
			} else {
				// Kubernetes requires no absolute path here, only no "..".
				if h.Path == "" {
					errs = append(errs, field.Required(hp.Child("path"), ""))
				}
				errs = append(errs, validateNoBacksteps(h.Path, hp.Child("path"))...)
				if h.Type != nil && !slices.Contains(hostPathTypes, *h.Type) {
					errs = append(errs, field.NotSupported(hp.Child("type"), *h.Type, hostPathTypes))
				}
			}
		}
		if sources == 0 {
			errs = append(errs, field.Required(idx, "must specify a volume type"))
		}
	}
	return names, errs
}

func validateContainers(containers []Container, volumes map[string]bool, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(containers) == 0 {
		errs = append(errs, field.Required(fp, ""))
	}
	names := map[string]bool{}
	for i, c := range containers {
		idx := fp.Index(i)
		errs = append(errs, validateUniqueName(c.Name, idx.Child("name"), names)...)
		if c.Image == "" {
			errs = append(errs, field.Required(idx.Child("image"), ""))
		} else if c.Image != strings.TrimSpace(c.Image) {
			errs = append(errs, field.Invalid(idx.Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
		switch c.ImagePullPolicy {
		case PullAlways, PullIfNotPresent, PullNever:
		case "":
			errs = append(errs, field.Required(idx.Child("imagePullPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(idx.Child("imagePullPolicy"), c.ImagePullPolicy,
				[]PullPolicy{PullAlways, PullIfNotPresent, PullNever}))
		}
		for j, e := range c.Env {
			np := idx.Child("env").Index(j).Child("name")
			if e.Name == "" {
				errs = append(errs, field.Required(np, ""))
			} else {
				// The API server's rule since Kubernetes 1.34 (RelaxedEnvironmentVariableValidation
				// is GA): any printable ASCII but '='; IsEnvVarName is the older, stricter one.
				errs = append(errs, invalidEach(np, e.Name, validation.IsRelaxedEnvVarName(e.Name))...)
			}
		}
		errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, idx.Child("volumeMounts"))...)
	}
	return errs
}

func validateVolumeMounts(mounts []VolumeMount, volumes map[string]bool, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	mountPaths := map[string]bool{}
	for i, m := range mounts {
		idx := fp.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		} else if !volumes[m.Name] {
			errs = append(errs, field.NotFound(idx.Child("name"), m.Name))
		}
		mp := idx.Child("mountPath")
		switch {
		case m.MountPath == "":
			errs = append(errs, field.Required(mp, ""))
		case !path.IsAbs(m.MountPath):
			// Kubernetes leaves relative mount paths to the container runtime; minipod
			// rejects them rather than guess what they are relative to.
			errs = append(errs, field.Invalid(mp, m.MountPath, "must be an absolute path"))
		case mountPaths[m.MountPath]:
			errs = append(errs, field.Invalid(mp, m.MountPath, "must be unique"))
		}
		mountPaths[m.MountPath] = true
		if m.SubPath != "" {
			sp := idx.Child("subPath")
			if path.IsAbs(m.SubPath) {
				errs = append(errs, field.Invalid(sp, m.SubPath, "must be a relative path"))
			}
			errs = append(errs, validateNoBacksteps(m.SubPath, sp)...)
		}
	}
	return errs
}

// validateNoBacksteps rejects ".." elements, like Kubernetes' validatePathNoBacksteps.
func validateNoBacksteps(p string, fp *field.Path) field.ErrorList {
	if slices.Contains(strings.Split(p, "/"), "..") {
		return field.ErrorList{field.Invalid(fp, p, "must not contain '..'")}
	}
	return nil
}

func invalidEach(fp *field.Path, value string, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fp, value, msg))
	}
	return errs
}

// validateUniqueName checks a container or volume name: a DNS-1123 label, unique among seen.
func validateUniqueName(name string, p *field.Path, seen map[string]bool) field.ErrorList {
	switch msgs := validation.IsDNS1123Label(name); {
	case name == "":
		return field.ErrorList{field.Required(p, "")}
	case len(msgs) > 0:
		return invalidEach(p, name, msgs)
	case seen[name]:
		return field.ErrorList{field.Duplicate(p, name)}
	}
	seen[name] = true
	return nil
}
