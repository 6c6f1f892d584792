package api

import "strings"

// DefaultNamespace is the namespace of a Pod whose manifest names none, as with kubectl.
const DefaultNamespace = "default"

// DefaultTerminationMessagePath is where a container writes its termination message.
const DefaultTerminationMessagePath = "/dev/termination-log"

// localImagePrefixes are minipod's image references that name local files, not registries:
// there is nothing to pull, so the pull policy defaults to IfNotPresent.
var localImagePrefixes = []string{"rootfs:", "oci:", "oci-archive:", "docker-archive:"}

// SetDefaults fills unset fields with Kubernetes' defaults (pkg/apis/core/v1/defaults.go).
// An unset hostPath.type stays unset: it means no check on the host path, as in Kubernetes.
func SetDefaults(p *Pod) {
	if p.Metadata.Namespace == "" {
		p.Metadata.Namespace = DefaultNamespace
	}
	if p.Spec.RestartPolicy == "" {
		p.Spec.RestartPolicy = RestartPolicyAlways
	}
	syncSeccompAnnotations(p)
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &PodSecurityContext{}
	}
	if p.Spec.TerminationGracePeriodSeconds == nil {
		grace := int64(30)
		p.Spec.TerminationGracePeriodSeconds = &grace
	}
	for _, list := range [][]Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			setContainerDefaults(&list[i])
		}
	}
	setEphemeralDefaults(&p.Spec)
	setHostDefaults(&p.Spec)
	setVolumeDefaults(&p.Spec)
	setResourceDefaults(p)
	setConfigDefaults(&p.Spec)
}

// setContainerDefaults is SetDefaults_Container, SetDefaults_ContainerPort, SetDefaults_Probe
// and SetDefaults_HTTPGetAction.
func setContainerDefaults(c *Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = defaultPullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = DefaultTerminationMessagePath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = ProtocolTCP
		}
	}
	for _, p := range []*Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p == nil {
			continue
		}
		if p.TimeoutSeconds == 0 {
			p.TimeoutSeconds = 1
		}
		if p.PeriodSeconds == 0 {
			p.PeriodSeconds = 10
		}
		if p.SuccessThreshold == 0 {
			p.SuccessThreshold = 1
		}
		if p.FailureThreshold == 0 {
			p.FailureThreshold = 3
		}
		setHTTPGetDefaults(p.HTTPGet)
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []*LifecycleHandler{l.PostStart, l.PreStop} {
			if h != nil {
				setHTTPGetDefaults(h.HTTPGet)
			}
		}
	}
}

func setHTTPGetDefaults(h *HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = URISchemeHTTP
	}
}

// defaultPullPolicy is Always for the tag "latest", or no tag and no digest, and IfNotPresent
// otherwise, as in Kubernetes.
func defaultPullPolicy(image string) PullPolicy {
	for _, prefix := range localImagePrefixes {
		if strings.HasPrefix(image, prefix) {
			return PullIfNotPresent
		}
	}
	name, _, digested := strings.Cut(image, "@")
	tag := ""
	// A colon before the last slash separates a registry's port, not a tag.
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		tag = name[i+1:]
	}
	if tag == "latest" || (tag == "" && !digested && image != "") {
		return PullAlways
	}
	return PullIfNotPresent
}
