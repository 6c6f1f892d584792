package api

import (
	"fmt"
	"strings"
)

// Warnings says what of a valid pod minipod accepts without doing what a cluster would, one
// message per concern, for `minipod run` to print once:
//   - the fields that only steer a scheduler: on one host there is nothing to choose, so
//     they are ignored (unless they hold the API server's own default);
//   - readiness gates, whose conditions nothing on one host sets, so the pod never becomes
//     Ready (the kubelet's rule, which minipod keeps);
//   - a service account, whose token needs an API server: none is mounted.
func Warnings(p *Pod) []string {
	s := &p.Spec
	var ignored []string
	add := func(name string, set bool) {
		if set {
			ignored = append(ignored, "spec."+name)
		}
	}
	add("nodeSelector", len(s.NodeSelector) > 0)
	add("nodeName", s.NodeName != "")
	add("affinity", s.Affinity != nil && (s.Affinity.NodeAffinity != nil || s.Affinity.PodAffinity != nil || s.Affinity.PodAntiAffinity != nil))
	add("tolerations", len(s.Tolerations) > 0)
	add("topologySpreadConstraints", len(s.TopologySpreadConstraints) > 0)
	add("schedulerName", s.SchedulerName != "" && s.SchedulerName != DefaultSchedulerName)
	add("priorityClassName", s.PriorityClassName != "")
	add("priority", s.Priority != nil && *s.Priority != 0)
	add("preemptionPolicy", s.PreemptionPolicy != nil && *s.PreemptionPolicy != PreemptLowerPriority)
	add("overhead", len(s.Overhead) > 0)
	add("runtimeClassName", s.RuntimeClassName != nil)
	var msgs []string
	if w := metaWarning(&p.Metadata); w != "" {
		msgs = append(msgs, w)
	}
	if len(ignored) > 0 {
		msgs = append(msgs, "ignored on one host: "+strings.Join(ignored, ", "))
	}
	if len(s.ReadinessGates) > 0 {
		gates := make([]string, len(s.ReadinessGates))
		for i, g := range s.ReadinessGates {
			gates[i] = string(g.ConditionType)
		}
		msgs = append(msgs, fmt.Sprintf("spec.readinessGates: nothing sets the condition %s on one host, so the pod will not become Ready", strings.Join(gates, ", ")))
	}
	automount := s.AutomountServiceAccountToken
	switch sa := s.ServiceAccount(); {
	case sa != "" && (automount == nil || *automount):
		msgs = append(msgs, fmt.Sprintf("spec.serviceAccountName: no token of service account %q is mounted: that needs a Kubernetes API server", sa))
	case automount != nil && *automount:
		msgs = append(msgs, "spec.automountServiceAccountToken: no service account token is mounted: that needs a Kubernetes API server")
	}
	return msgs
}
