package api

import "strings"

// DefaultNamespace is the namespace of a Pod whose manifest names none, as with kubectl.
const DefaultNamespace = "default"

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
	if p.Spec.TerminationGracePeriodSeconds == nil {
		grace := int64(30)
		p.Spec.TerminationGracePeriodSeconds = &grace
	}
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = defaultPullPolicy(c.Image)
		}
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
