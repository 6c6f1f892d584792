package api

import (
	"fmt"
	"maps"
	"math"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// totalAnnotationSizeLimit is the API server's limit on the summed size of annotation keys and values.
const totalAnnotationSizeLimit = 256 << 10

// Validate checks a defaulted Pod like the Kubernetes API server does on create
// (pkg/apis/core/validation ValidatePodCreate), with Kubernetes' messages. It returns an
// *InvalidError or nil. apiVersion and kind are Load's business: they are not part of a Pod's
// validation there either.
func Validate(p *Pod) error {
	errs := &InvalidError{}
	errs.add(validateMeta(&p.Metadata, field.NewPath("metadata"))...)
	errs.add(validateMetaExtra(&p.Metadata, field.NewPath("metadata"))...)
	errs.add(validateSpec(&p.Spec, field.NewPath("spec"))...)
	errs.add(validateSecurity(p)...)
	errs.add(forbidEphemeralOnCreate(p)...)
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
	// Container names are unique across init and regular containers.
	names := map[string]bool{}
	grace := int64(30)
	if s.TerminationGracePeriodSeconds != nil {
		grace = *s.TerminationGracePeriodSeconds
	}
	errs = append(errs, validateInitContainers(s.InitContainers, volumes, names, grace, fp.Child("initContainers"))...)
	errs = append(errs, validateContainers(s.Containers, volumes, names, grace, fp.Child("containers"))...)
	errs = append(errs, validateEphemeralContainers(s, volumes, names, fp.Child("ephemeralContainers"))...)
	errs = append(errs, validateResources(s, fp)...)
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
	if d := s.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, field.Invalid(fp.Child("activeDeadlineSeconds"), *d, validation.InclusiveRangeError(1, math.MaxInt32)))
	}
	if s.Hostname != "" {
		errs = append(errs, invalidEach(fp.Child("hostname"), s.Hostname, validation.IsDNS1123Label(s.Hostname))...)
	}
	errs = append(errs, validateHostSpec(s, fp)...)
	errs = append(errs, validatePodConfig(s, fp)...)
	errs = append(errs, validateOS(s, fp)...)
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
		var cerrs, serrs field.ErrorList
		sources, cerrs = validateConfigVolumeSources(&v, idx, sources)
		errs = append(errs, cerrs...)
		sources, serrs = validateStorageSources(&v, idx, sources)
		errs = append(errs, serrs...)
		if sources == 0 {
			errs = append(errs, field.Required(idx, "must specify a volume type"))
		}
	}
	return names, errs
}

// validateInitContainers is the API server's validateInitContainers: common container rules,
// restartPolicy only Always (a sidecar), and no probes or hooks on a regular init container.
func validateInitContainers(containers []Container, volumes, names map[string]bool, grace int64, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range containers {
		c := &containers[i]
		idx := fp.Index(i)
		errs = append(errs, validateContainer(c, volumes, names, grace, idx)...)
		if c.RestartPolicy != nil && *c.RestartPolicy != ContainerRestartPolicyAlways {
			errs = append(errs, field.NotSupported(idx.Child("restartPolicy"), *c.RestartPolicy, []ContainerRestartPolicy{ContainerRestartPolicyAlways}))
		}
		if c.IsSidecar() {
			continue
		}
		const msg = "may not be set for init containers without restartPolicy=Always"
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(idx.Child("lifecycle"), msg))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(idx.Child("livenessProbe"), msg))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(idx.Child("readinessProbe"), msg))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(idx.Child("startupProbe"), msg))
		}
	}
	return errs
}

func validateContainers(containers []Container, volumes, names map[string]bool, grace int64, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(containers) == 0 {
		errs = append(errs, field.Required(fp, ""))
	}
	for i := range containers {
		c := &containers[i]
		idx := fp.Index(i)
		errs = append(errs, validateContainer(c, volumes, names, grace, idx)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(idx.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	return errs
}

// validateContainer holds the rules regular and init containers share: validateContainerCommon
// and the checks of their probes and hooks.
func validateContainer(c *Container, volumes, names map[string]bool, grace int64, idx *field.Path) field.ErrorList {
	return append(validateContainerCommon(c, volumes, names, idx), validateHandlers(c, grace, idx)...)
}

// validateContainerCommon holds the rules every kind of container shares, ephemeral ones too
// (the API server's validateContainerCommon).
func validateContainerCommon(c *Container, volumes, names map[string]bool, idx *field.Path) field.ErrorList {
	errs := validateUniqueName(c.Name, idx.Child("name"), names)
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
	errs = append(errs, validatePorts(c.Ports, idx.Child("ports"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, idx.Child("volumeMounts"))...)
	errs = append(errs, validateMountFields(c, idx.Child("volumeMounts"))...)
	switch c.TerminationMessagePolicy {
	case TerminationMessageReadFile, TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(idx.Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(idx.Child("terminationMessagePolicy"), c.TerminationMessagePolicy,
			[]TerminationMessagePolicy{TerminationMessageReadFile, TerminationMessageFallbackToLogsOnError}))
	}
	// Kubernetes leaves the path to the runtime; minipod bind-mounts a file there, so it must
	// be absolute.
	if p := c.TerminationMessagePath; p != "" && !path.IsAbs(p) {
		errs = append(errs, field.Invalid(idx.Child("terminationMessagePath"), p, "must be an absolute path"))
	}
	return errs
}

// validateHandlers checks the probes and lifecycle hooks of a container that may have them.
func validateHandlers(c *Container, grace int64, idx *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateProbe(c.LivenessProbe, true, idx.Child("livenessProbe"))...)
	errs = append(errs, validateProbe(c.ReadinessProbe, false, idx.Child("readinessProbe"))...)
	errs = append(errs, validateProbe(c.StartupProbe, true, idx.Child("startupProbe"))...)
	if c.ReadinessProbe != nil && c.ReadinessProbe.TerminationGracePeriodSeconds != nil {
		errs = append(errs, field.Invalid(idx.Child("readinessProbe", "terminationGracePeriodSeconds"), *c.ReadinessProbe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
	}
	if l := c.Lifecycle; l != nil {
		errs = append(errs, validateLifecycleHandler(l.PostStart, grace, idx.Child("lifecycle", "postStart"))...)
		errs = append(errs, validateLifecycleHandler(l.PreStop, grace, idx.Child("lifecycle", "preStop"))...)
	}
	return errs
}

// validatePorts is validateContainerPorts.
func validatePorts(ports []ContainerPort, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		idx := fp.Index(i)
		if p.Name != "" {
			if msgs := validation.IsValidPortName(p.Name); len(msgs) > 0 {
				errs = append(errs, invalidEach(idx.Child("name"), p.Name, msgs)...)
			} else if names[p.Name] {
				errs = append(errs, field.Duplicate(idx.Child("name"), p.Name))
			} else {
				names[p.Name] = true
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(idx.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalidEach(idx.Child("containerPort"), p.ContainerPort, validation.IsValidPortNum(int(p.ContainerPort)))...)
		}
		errs = append(errs, validateHostPort(p, idx)...)
		switch p.Protocol {
		case ProtocolTCP, ProtocolUDP, ProtocolSCTP:
		case "":
			errs = append(errs, field.Required(idx.Child("protocol"), ""))
		default:
			errs = append(errs, field.NotSupported(idx.Child("protocol"), p.Protocol, []Protocol{ProtocolTCP, ProtocolUDP, ProtocolSCTP}))
		}
	}
	return errs
}

// validateProbe is validateProbe with validateHandler: exactly one action, non-negative
// numbers, successThreshold 1 for liveness and startup probes.
func validateProbe(p *Probe, successMustBeOne bool, fp *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	h := p.ProbeHandler
	errs := validateHandler(fp, []handlerField{
		{"exec", h.Exec != nil, func(p *field.Path) field.ErrorList { return validateExec(h.Exec, p) }},
		{"httpGet", h.HTTPGet != nil, func(p *field.Path) field.ErrorList { return validateHTTPGet(h.HTTPGet, p) }},
		{"tcpSocket", h.TCPSocket != nil, func(p *field.Path) field.ErrorList { return validatePortNumOrName(h.TCPSocket.Port, p.Child("port")) }},
		{"grpc", h.GRPC != nil, func(p *field.Path) field.ErrorList {
			return invalidEach(p.Child("port"), h.GRPC.Port, validation.IsValidPortNum(int(h.GRPC.Port)))
		}},
	})
	for _, n := range []struct {
		name string
		v    int32
	}{{"initialDelaySeconds", p.InitialDelaySeconds}, {"timeoutSeconds", p.TimeoutSeconds}, {"periodSeconds", p.PeriodSeconds},
		{"successThreshold", p.SuccessThreshold}, {"failureThreshold", p.FailureThreshold}} {
		if n.v < 0 {
			errs = append(errs, field.Invalid(fp.Child(n.name), n.v, "must be greater than or equal to 0"))
		}
	}
	if successMustBeOne && p.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(fp.Child("successThreshold"), p.SuccessThreshold, "must be 1"))
	}
	if g := p.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(fp.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	return errs
}

// validateLifecycleHandler is validateLifecycle's check of one hook.
func validateLifecycleHandler(h *LifecycleHandler, grace int64, fp *field.Path) field.ErrorList {
	if h == nil {
		return nil
	}
	return validateHandler(fp, []handlerField{
		{"exec", h.Exec != nil, func(p *field.Path) field.ErrorList { return validateExec(h.Exec, p) }},
		{"httpGet", h.HTTPGet != nil, func(p *field.Path) field.ErrorList { return validateHTTPGet(h.HTTPGet, p) }},
		{"tcpSocket", h.TCPSocket != nil, func(p *field.Path) field.ErrorList { return validatePortNumOrName(h.TCPSocket.Port, p.Child("port")) }},
		{"sleep", h.Sleep != nil, func(p *field.Path) field.ErrorList {
			if s := h.Sleep.Seconds; s < 0 || s > grace {
				return field.ErrorList{field.Invalid(p.Child("seconds"), s, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", grace))}
			}
			return nil
		}},
	})
}

type handlerField struct {
	name     string
	set      bool
	validate func(*field.Path) field.ErrorList
}

// validateHandler requires exactly one of the handlers, checked in the API server's order.
func validateHandler(fp *field.Path, handlers []handlerField) field.ErrorList {
	var errs field.ErrorList
	n := 0
	for _, h := range handlers {
		if !h.set {
			continue
		}
		if n++; n > 1 {
			errs = append(errs, field.Forbidden(fp.Child(h.name), "may not specify more than 1 handler type"))
			continue
		}
		errs = append(errs, h.validate(fp.Child(h.name))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(fp, "must specify a handler type"))
	}
	return errs
}

func validateExec(e *ExecAction, fp *field.Path) field.ErrorList {
	if len(e.Command) == 0 {
		return field.ErrorList{field.Required(fp.Child("command"), "")}
	}
	return nil
}

var httpHeaderNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[-A-Za-z0-9]+$`) }) // compiled when first used: not in every process's start

func validateHTTPGet(h *HTTPGetAction, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(fp.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, fp.Child("port"))...)
	if h.Scheme != URISchemeHTTP && h.Scheme != URISchemeHTTPS {
		errs = append(errs, field.NotSupported(fp.Child("scheme"), h.Scheme, []URIScheme{URISchemeHTTP, URISchemeHTTPS}))
	}
	for i, hd := range h.HTTPHeaders {
		if !httpHeaderNameRE().MatchString(hd.Name) {
			errs = append(errs, field.Invalid(fp.Child("httpHeaders").Index(i).Child("name"), hd.Name, "name must match regex [-A-Za-z0-9]+"))
		}
	}
	return errs
}

// validatePortNumOrName is ValidatePortNumOrName: a number in range, or an IANA service name
// (resolved against the container's ports when the probe runs).
func validatePortNumOrName(port intstr.IntOrString, fp *field.Path) field.ErrorList {
	if port.Type == intstr.Int {
		return invalidEach(fp, port.IntVal, validation.IsValidPortNum(int(port.IntVal)))
	}
	if port.StrVal == "" {
		return field.ErrorList{field.Required(fp, "")}
	}
	return invalidEach(fp, port.StrVal, validation.IsValidPortName(port.StrVal))
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

func invalidEach(fp *field.Path, value any, msgs []string) field.ErrorList {
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
