package api

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of a pod's DNS configuration (pkg/apis/core/validation: MaxDNSNameservers,
// MaxDNSSearchPaths, MaxDNSSearchListChars), from the resolver of glibc.
const (
	MaxDNSNameservers     = 3
	MaxDNSSearchPaths     = 32
	MaxDNSSearchListChars = 2048
)

// validateHostSpec holds the API server's rules (pkg/apis/core/validation ValidatePodSpec,
// validatePodMetadataAndSpec and ValidatePodCreate) for the host and scheduling fields.
func validateHostSpec(s *PodSpec, fp *field.Path) field.ErrorList {
	errs := validateContainerHostFields(s, fp)
	errs = append(errs, validateHostNetworkPorts(s, fp)...)
	switch s.DNSPolicy {
	case DNSClusterFirstWithHostNet, DNSClusterFirst, DNSDefault, DNSNone:
	case "":
		errs = append(errs, field.Required(fp.Child("dnsPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(fp.Child("dnsPolicy"), s.DNSPolicy,
			[]DNSPolicy{DNSClusterFirstWithHostNet, DNSClusterFirst, DNSDefault, DNSNone}))
	}
	errs = append(errs, validateLabels(s.NodeSelector, fp.Child("nodeSelector"))...)
	// The internal API keeps shareProcessNamespace in the pod's security context, hence the path.
	if s.SharesProcessNamespace() && s.HostPID {
		errs = append(errs, field.Invalid(fp.Child("securityContext", "shareProcessNamespace"), true, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	errs = append(errs, validateAffinity(s.Affinity, fp.Child("affinity"))...)
	errs = append(errs, validateDNSConfig(s.DNSConfig, s.DNSPolicy, fp.Child("dnsConfig"))...)
	for i, g := range s.ReadinessGates {
		errs = append(errs, invalidEach(fp.Child("readinessGates").Index(i).Child("conditionType"), g.ConditionType, content.IsLabelKey(string(g.ConditionType)))...)
	}
	gates := map[string]bool{}
	for i, g := range s.SchedulingGates {
		gp := fp.Child("schedulingGates").Index(i)
		errs = append(errs, invalidEach(gp, g.Name, content.IsLabelKey(g.Name))...)
		if gates[g.Name] {
			errs = append(errs, field.Duplicate(gp, g.Name))
		}
		gates[g.Name] = true
	}
	errs = append(errs, validateTopologySpreadConstraints(s.TopologySpreadConstraints, fp.Child("topologySpreadConstraints"))...)
	for _, f := range []struct {
		name, value string
	}{{"serviceAccountName", s.ServiceAccountName}, {"nodeName", s.NodeName}} {
		if f.value != "" {
			errs = append(errs, invalidEach(fp.Child(f.name), f.value, validation.IsDNS1123Subdomain(f.value))...)
		}
	}
	if s.Subdomain != "" {
		errs = append(errs, invalidEach(fp.Child("subdomain"), s.Subdomain, validation.IsDNS1123Label(s.Subdomain))...)
	}
	errs = append(errs, validateTolerations(s.Tolerations, fp.Child("tolerations"))...)
	for i, a := range s.HostAliases {
		ap := fp.Child("hostAliases").Index(i)
		errs = append(errs, validation.IsValidIPForLegacyField(ap.Child("ip"), a.IP, true, nil)...)
		for j, h := range a.Hostnames {
			errs = append(errs, invalidEach(ap.Child("hostnames").Index(j), h, validation.IsDNS1123Subdomain(h))...)
		}
	}
	if n := s.PriorityClassName; n != "" {
		errs = append(errs, invalidEach(fp.Child("priorityClassName"), n, validation.IsDNS1123Subdomain(n))...)
	}
	if n := s.RuntimeClassName; n != nil {
		errs = append(errs, invalidEach(fp.Child("runtimeClassName"), *n, validation.IsDNS1123Subdomain(*n))...)
	}
	if p := s.PreemptionPolicy; p != nil {
		switch *p {
		case PreemptLowerPriority, PreemptNever:
		case "":
			errs = append(errs, field.Required(fp.Child("preemptionPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(fp.Child("preemptionPolicy"), *p, []PreemptionPolicy{PreemptLowerPriority, PreemptNever}))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Overhead)) {
		op := fp.Child("overhead").Key(name)
		errs = append(errs, invalidEach(op, name, content.IsLabelKey(name))...)
		if q := s.Overhead[name]; q.Cmp(resource.Quantity{}) < 0 {
			errs = append(errs, field.Invalid(op, q.String(), "must be greater than or equal to 0"))
		}
	}
	// ValidatePodCreate: a pod cannot be bound to a node while it is gated.
	if s.NodeName != "" && len(s.SchedulingGates) > 0 {
		errs = append(errs, field.Forbidden(fp.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	// A token is issued by the API server, which one host does not have (the rule:
	// a pod that asks for the token of a service account it names is refused).
	if t := s.AutomountServiceAccountToken; t != nil && *t {
		if sa := s.ServiceAccount(); sa != "" {
			errs = append(errs, field.Forbidden(fp.Child("automountServiceAccountToken"),
				fmt.Sprintf("mounting the token of service account %q needs a Kubernetes API server, which minipod does not have (set it to false, or leave it out)", sa)))
		}
	}
	return errs
}

// ServiceAccount is the pod's service account: serviceAccountName, else the deprecated
// serviceAccount, as the API server reconciles the two.
func (s *PodHostSpec) ServiceAccount() string {
	if s.ServiceAccountName != "" {
		return s.ServiceAccountName
	}
	return s.DeprecatedServiceAccount
}

// validateHostNetworkPorts is validatePodHostNetworkDeps: on the host's network a container
// port is the host port (the defaults made them equal unless both were given).
func validateHostNetworkPorts(s *PodSpec, fp *field.Path) field.ErrorList {
	if !s.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	for i, c := range s.Containers {
		for j, p := range c.Ports {
			if p.HostPort != p.ContainerPort {
				errs = append(errs, field.Invalid(fp.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), p.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

// validateHostPort checks a port's hostPort and hostIP. Kubernetes checks the port's range
// and leaves hostIP to the network plugin, which drops a mapping whose address is not of
// the pod's family (portmap); minipod's pods are IPv4, so an unusable hostIP is refused
// here rather than silently published nowhere.
func validateHostPort(p ContainerPort, idx *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.HostPort != 0 {
		errs = append(errs, invalidEach(idx.Child("hostPort"), p.HostPort, validation.IsValidPortNum(int(p.HostPort)))...)
	}
	if p.HostIP != "" {
		if ip, err := netip.ParseAddr(p.HostIP); err != nil {
			errs = append(errs, field.Invalid(idx.Child("hostIP"), p.HostIP, "must be a valid IP address"))
		} else if !ip.Is4() {
			errs = append(errs, field.Invalid(idx.Child("hostIP"), p.HostIP, "must be an IPv4 address: minipod's pods have IPv4 addresses only"))
		}
	}
	return errs
}

// validateContainerHostFields checks what containers publish on the host and their resize
// policies. Host ports: checkHostPortConflicts (AccumulateUniqueHostPorts), one protocol,
// host address and port once across the regular containers, which run together, and
// within each init container, which run one at a time. Resize policies:
// validateResizePolicy, not on a regular init container.
func validateContainerHostFields(s *PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i := range s.Containers {
		c, cp := &s.Containers[i], fp.Child("containers").Index(i)
		errs = append(errs, hostPortConflicts(c, seen, cp)...)
		errs = append(errs, validateResizePolicy(c.ResizePolicy, s.RestartPolicy, cp.Child("resizePolicy"))...)
	}
	for i := range s.InitContainers {
		c, cp := &s.InitContainers[i], fp.Child("initContainers").Index(i)
		errs = append(errs, hostPortConflicts(c, map[string]bool{}, cp)...)
		switch {
		case c.IsSidecar():
			errs = append(errs, validateResizePolicy(c.ResizePolicy, s.RestartPolicy, cp.Child("resizePolicy"))...)
		case len(c.ResizePolicy) > 0:
			errs = append(errs, field.Invalid(cp.Child("resizePolicy"), c.ResizePolicy, "must not be set for init containers"))
		}
	}
	return errs
}

func hostPortConflicts(c *Container, seen map[string]bool, cp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, p := range c.Ports {
		if p.HostPort == 0 {
			continue
		}
		key := fmt.Sprintf("%s/%s/%d", p.Protocol, p.HostIP, p.HostPort)
		if seen[key] {
			errs = append(errs, field.Duplicate(cp.Child("ports").Index(j).Child("hostPort"), key))
		}
		seen[key] = true
	}
	return errs
}

// validateDNSConfig is validatePodDNSConfig, with the relaxed search rules (underscores, and
// "." for no search) the API server applies by default.
func validateDNSConfig(c *PodDNSConfig, policy DNSPolicy, fp *field.Path) field.ErrorList {
	if policy == DNSNone {
		if c == nil {
			return field.ErrorList{field.Required(fp, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", DNSNone))}
		}
		if len(c.Nameservers) == 0 {
			return field.ErrorList{field.Required(fp.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", DNSNone))}
		}
	}
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	if len(c.Nameservers) > MaxDNSNameservers {
		errs = append(errs, field.Invalid(fp.Child("nameservers"), c.Nameservers, fmt.Sprintf("must not have more than %v nameservers", MaxDNSNameservers)))
	}
	for i, ns := range c.Nameservers {
		errs = append(errs, validation.IsValidIPForLegacyField(fp.Child("nameservers").Index(i), ns, true, nil)...)
	}
	if len(c.Searches) > MaxDNSSearchPaths {
		errs = append(errs, field.Invalid(fp.Child("searches"), c.Searches, fmt.Sprintf("must not have more than %v search paths", MaxDNSSearchPaths)))
	}
	if len(strings.Join(c.Searches, " ")) > MaxDNSSearchListChars {
		errs = append(errs, field.Invalid(fp.Child("searches"), c.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", MaxDNSSearchListChars)))
	}
	for i, s := range c.Searches {
		if s != "." {
			s = strings.TrimSuffix(s, ".")
			errs = append(errs, invalidEach(fp.Child("searches").Index(i), s, validation.IsDNS1123SubdomainWithUnderscore(s))...)
		}
	}
	for i, o := range c.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(fp.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

// validateLabels is ValidateLabels: qualified names as keys, label values as values.
func validateLabels(labels map[string]string, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		errs = append(errs, invalidEach(fp, k, content.IsLabelKey(k))...)
		errs = append(errs, invalidEach(fp, labels[k], content.IsLabelValue(labels[k]))...)
	}
	return errs
}

// validateTolerations is ValidateTolerations, with the numeric operators Lt and Gt of the
// TaintTolerationComparisonOperators feature (their value must be an integer).
func validateTolerations(tolerations []Toleration, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		idx := fp.Index(i)
		if t.Key != "" {
			errs = append(errs, invalidEach(idx.Child("key"), t.Key, content.IsLabelKey(t.Key))...)
		}
		// An empty key with Exists matches every taint.
		if t.Key == "" && t.Operator != TolerationOpExists {
			errs = append(errs, field.Invalid(idx.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != TaintEffectNoExecute {
			errs = append(errs, field.Invalid(idx.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case TolerationOpEqual, "":
			if msgs := content.IsLabelValue(t.Value); len(msgs) > 0 {
				errs = append(errs, field.Invalid(idx.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(idx.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		case TolerationOpLt, TolerationOpGt:
			if _, err := strconv.ParseInt(t.Value, 10, 64); err != nil {
				errs = append(errs, field.Invalid(idx.Child("value"), t.Value, "must be an integer when `operator` is 'Lt' or 'Gt'"))
			}
		default:
			errs = append(errs, field.NotSupported(idx.Child("operator"), t.Operator,
				[]TolerationOperator{TolerationOpEqual, TolerationOpExists, TolerationOpLt, TolerationOpGt}))
		}
		switch t.Effect {
		case "", TaintEffectNoSchedule, TaintEffectPreferNoSchedule, TaintEffectNoExecute:
		default:
			errs = append(errs, field.NotSupported(idx.Child("effect"), t.Effect,
				[]TaintEffect{TaintEffectNoSchedule, TaintEffectPreferNoSchedule, TaintEffectNoExecute}))
		}
	}
	return errs
}

// validateAffinity is validateAffinity with validateNodeAffinity, validatePodAffinity and
// validatePodAntiAffinity.
func validateAffinity(a *Affinity, fp *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		np := fp.Child("nodeAffinity")
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			rp := np.Child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			if len(r.NodeSelectorTerms) == 0 {
				errs = append(errs, field.Required(rp, "must have at least one node selector term"))
			}
			for i, term := range r.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(term, false, rp.Index(i))...)
			}
		}
		pp := np.Child("preferredDuringSchedulingIgnoredDuringExecution")
		for i, term := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			errs = append(errs, validateWeight(term.Weight, pp.Index(i).Child("weight"))...)
			// Preferred terms may hold invalid label values: they can still match on one node.
			errs = append(errs, validateNodeSelectorTerm(term.Preference, true, pp.Index(i).Child("preference"))...)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution, fp.Child("podAffinity"))...)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution, fp.Child("podAntiAffinity"))...)
	}
	return errs
}

func validateWeight(w int32, fp *field.Path) field.ErrorList {
	if w <= 0 || w > 100 {
		return field.ErrorList{field.Invalid(fp, w, "must be in the range 1-100")}
	}
	return nil
}

// validateNodeSelectorTerm is ValidateNodeSelectorTerm with ValidateNodeSelectorRequirement
// and ValidateNodeFieldSelectorRequirement.
func validateNodeSelectorTerm(term NodeSelectorTerm, anyValue bool, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, r := range term.MatchExpressions {
		rp := fp.Child("matchExpressions").Index(j)
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				errs = append(errs, field.Forbidden(rp.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		case "Gt", "Lt":
			if len(r.Values) != 1 {
				errs = append(errs, field.Required(rp.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
			}
		default:
			errs = append(errs, field.Invalid(rp.Child("operator"), r.Operator, "not a valid selector operator"))
		}
		errs = append(errs, invalidEach(rp.Child("key"), r.Key, content.IsLabelKey(r.Key))...)
		if !anyValue {
			for k, v := range r.Values {
				errs = append(errs, invalidEach(rp.Child("values").Index(k), v, content.IsLabelValue(v))...)
			}
		}
	}
	for j, r := range term.MatchFields {
		rp := fp.Child("matchFields").Index(j)
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) != 1 {
				errs = append(errs, field.Required(rp.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
			}
		default:
			errs = append(errs, field.Invalid(rp.Child("operator"), r.Operator, "not a valid selector operator"))
		}
		if r.Key != "metadata.name" {
			errs = append(errs, field.Invalid(rp.Child("key"), r.Key, "not a valid field selector key"))
		} else {
			for k, v := range r.Values {
				errs = append(errs, invalidEach(rp.Child("values").Index(k), v, validation.IsDNS1123Subdomain(v))...)
			}
		}
	}
	return errs
}

func validatePodAffinityTerms(required []PodAffinityTerm, preferred []WeightedPodAffinityTerm, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, term := range required {
		errs = append(errs, validatePodAffinityTerm(term, fp.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i, w := range preferred {
		wp := fp.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		errs = append(errs, validateWeight(w.Weight, wp.Child("weight"))...)
		errs = append(errs, validatePodAffinityTerm(w.PodAffinityTerm, wp.Child("podAffinityTerm"))...)
	}
	return errs
}

// validatePodAffinityTerm is validatePodAffinityTerm (its namespaces errors name the field
// "namespace", as the API server's do).
func validatePodAffinityTerm(term PodAffinityTerm, fp *field.Path) field.ErrorList {
	errs := validateLabelSelector(term.LabelSelector, fp.Child("labelSelector"))
	errs = append(errs, validateLabelSelector(term.NamespaceSelector, fp.Child("namespaceSelector"))...)
	for _, ns := range term.Namespaces {
		errs = append(errs, invalidEach(fp.Child("namespace"), ns, validation.IsDNS1123Label(ns))...)
	}
	for _, list := range []struct {
		name string
		keys []string
	}{{"matchLabelKeys", term.MatchLabelKeys}, {"mismatchLabelKeys", term.MismatchLabelKeys}} {
		for i, k := range list.keys {
			errs = append(errs, invalidEach(fp.Child(list.name).Index(i), k, content.IsLabelKey(k))...)
		}
	}
	if term.TopologyKey == "" {
		errs = append(errs, field.Required(fp.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, invalidEach(fp.Child("topologyKey"), term.TopologyKey, content.IsLabelKey(term.TopologyKey))...)
	}
	return errs
}

// validateLabelSelector is metav1validation.ValidateLabelSelector.
func validateLabelSelector(s *LabelSelector, fp *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	errs := validateLabels(s.MatchLabels, fp.Child("matchLabels"))
	for i, r := range s.MatchExpressions {
		rp := fp.Child("matchExpressions").Index(i)
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				errs = append(errs, field.Forbidden(rp.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		default:
			errs = append(errs, field.Invalid(rp.Child("operator"), r.Operator, "not a valid selector operator"))
		}
		errs = append(errs, invalidEach(rp.Child("key"), r.Key, content.IsLabelKey(r.Key))...)
		for k, v := range r.Values {
			errs = append(errs, invalidEach(rp.Child("values").Index(k), v, content.IsLabelValue(v))...)
		}
	}
	return errs
}

// validateTopologySpreadConstraints is validateTopologySpreadConstraints.
func validateTopologySpreadConstraints(constraints []TopologySpreadConstraint, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range constraints {
		cp := fp.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(cp.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(cp.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, invalidEach(cp.Child("topologyKey"), c.TopologyKey, content.IsLabelKey(c.TopologyKey))...)
		}
		actions := []string{"DoNotSchedule", "ScheduleAnyway"}
		if !slices.Contains(actions, c.WhenUnsatisfiable) {
			errs = append(errs, field.NotSupported(cp.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, actions))
		}
		// The tuple {topologyKey, whenUnsatisfiable} denotes one kind of constraint.
		for _, later := range constraints[i+1:] {
			if later.TopologyKey == c.TopologyKey && later.WhenUnsatisfiable == c.WhenUnsatisfiable {
				errs = append(errs, field.Duplicate(cp.Child("{topologyKey, whenUnsatisfiable}"), fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
			}
		}
		if m := c.MinDomains; m != nil {
			if *m <= 0 {
				errs = append(errs, field.Invalid(cp.Child("minDomains"), *m, "must be greater than 0"))
			} else if c.WhenUnsatisfiable != "DoNotSchedule" {
				errs = append(errs, field.Invalid(cp.Child("minDomains"), *m, "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not "+c.WhenUnsatisfiable))
			}
		}
		for _, pol := range []struct {
			name string
			v    *string
		}{{"nodeAffinityPolicy", c.NodeAffinityPolicy}, {"nodeTaintsPolicy", c.NodeTaintsPolicy}} {
			if pol.v != nil && *pol.v != "Honor" && *pol.v != "Ignore" {
				errs = append(errs, field.NotSupported(cp.Child(pol.name), *pol.v, []string{"Honor", "Ignore"}))
			}
		}
		errs = append(errs, validateLabelSelector(c.LabelSelector, cp.Child("labelSelector"))...)
		for j, k := range c.MatchLabelKeys {
			errs = append(errs, invalidEach(cp.Child("matchLabelKeys").Index(j), k, content.IsLabelKey(k))...)
		}
	}
	return errs
}
