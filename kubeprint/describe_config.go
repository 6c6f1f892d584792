package kubeprint

import (
	"strings"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/podconfig"
)

// env is kubectl's describeContainerEnvFrom (when there is envFrom) and
// describeContainerEnvVars: values as written, fields of the pod with their value, resources
// with theirs ("node allocatable" for an unset limit), keys of ConfigMaps and Secrets named.
func (d *describer) env(c *api.Container) {
	w := d.w
	if len(c.EnvFrom) > 0 {
		w.write(2, "Environment Variables from:\n")
		for _, e := range c.EnvFrom {
			from, name, optional := "", "", false
			switch {
			case e.ConfigMapRef != nil:
				from, name, optional = "ConfigMap", e.ConfigMapRef.Name, isTrue(e.ConfigMapRef.Optional)
			case e.SecretRef != nil:
				from, name, optional = "Secret", e.SecretRef.Name, isTrue(e.SecretRef.Optional)
			}
			if e.Prefix == "" {
				w.write(3, "%s\t%s\tOptional: %t\n", name, from, optional)
			} else {
				w.write(3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, from, e.Prefix, optional)
			}
		}
	}
	if len(c.Env) == 0 {
		w.write(2, "Environment:\t<none>\n")
		return
	}
	w.write(2, "Environment:\n")
	for _, e := range c.Env {
		from := e.ValueFrom
		switch {
		case from == nil:
			for i, s := range strings.Split(e.Value, "\n") {
				if i == 0 {
					w.write(3, "%s:\t%s\n", e.Name, s)
				} else {
					w.write(3, "\t%s\n", s)
				}
			}
		case from.FieldRef != nil:
			// kubectl's EnvValueRetriever: what the pod's object holds.
			v, _ := podconfig.FieldValue(from.FieldRef, d.p, podconfig.Facts{NodeName: d.o.Node, PodIPs: podIPs(d.p), HostIPs: hostIPs(d.p)})
			w.write(3, "%s:\t%s (%s:%s)\n", e.Name, v, from.FieldRef.APIVersion, from.FieldRef.FieldPath)
		case from.ResourceFieldRef != nil:
			// The container's own value; an unset limit is the node's.
			r := *from.ResourceFieldRef
			r.ContainerName = ""
			v, err := podconfig.ResourceValue(&r, d.p, c, nil)
			if err != nil {
				v = ""
			}
			if v == "0" && (r.Resource == "limits.cpu" || r.Resource == "limits.memory") {
				v = "node allocatable"
			}
			w.write(3, "%s:\t%s (%s)\n", e.Name, v, r.Resource)
		case from.SecretKeyRef != nil:
			w.write(3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, from.SecretKeyRef.Key, from.SecretKeyRef.Name, isTrue(from.SecretKeyRef.Optional))
		case from.ConfigMapKeyRef != nil:
			w.write(3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, from.ConfigMapKeyRef.Key, from.ConfigMapKeyRef.Name, isTrue(from.ConfigMapKeyRef.Optional))
		case from.FileKeyRef != nil:
			w.write(3, "%s:\t<set to the key '%s' in file '%s' of volume '%s'>\tOptional: %t\n", e.Name, from.FileKeyRef.Key, from.FileKeyRef.Path, from.FileKeyRef.VolumeName, isTrue(from.FileKeyRef.Optional))
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// optional is how kubectl prints a projection's *bool optional (%v): <nil> when unset.
func optional(b *bool) string {
	if b == nil {
		return "<nil>"
	}
	if *b {
		return "true"
	}
	return "false"
}

func podIPs(p *api.Pod) []string {
	var out []string
	for _, ip := range p.Status.PodIPs {
		out = append(out, ip.IP)
	}
	return out
}

func hostIPs(p *api.Pod) []string {
	var out []string
	for _, ip := range p.Status.HostIPs {
		out = append(out, ip.IP)
	}
	return out
}

// configVolume is kubectl's print{ConfigMap,Secret,DownwardAPI,Projected}VolumeSource; false
// for a volume of another type.
func (d *describer) configVolume(v *api.Volume) bool {
	w := d.w
	switch {
	case v.ConfigMap != nil:
		w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"+
			"    Name:\t%v\n"+
			"    Optional:\t%v\n", v.ConfigMap.Name, isTrue(v.ConfigMap.Optional))
	case v.Secret != nil:
		w.write(2, "Type:\tSecret (a volume populated by a Secret)\n"+
			"    SecretName:\t%v\n"+
			"    Optional:\t%v\n", v.Secret.SecretName, isTrue(v.Secret.Optional))
	case v.DownwardAPI != nil:
		w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
		for _, it := range v.DownwardAPI.Items {
			if it.FieldRef != nil {
				w.write(3, "%v -> %v\n", it.FieldRef.FieldPath, it.Path)
			}
			if it.ResourceFieldRef != nil {
				w.write(3, "%v -> %v\n", it.ResourceFieldRef.Resource, it.Path)
			}
		}
	case v.Projected != nil:
		w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
		for _, s := range v.Projected.Sources {
			switch {
			case s.Secret != nil:
				w.write(2, "SecretName:\t%v\n    Optional:\t%v\n", s.Secret.Name, optional(s.Secret.Optional))
			case s.DownwardAPI != nil:
				w.write(2, "DownwardAPI:\ttrue\n")
			case s.ConfigMap != nil:
				w.write(2, "ConfigMapName:\t%v\n    Optional:\t%v\n", s.ConfigMap.Name, optional(s.ConfigMap.Optional))
			}
		}
	default:
		return false
	}
	return true
}
