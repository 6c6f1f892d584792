package api

import "k8s.io/apimachinery/pkg/api/resource"

// PodHostSpec holds the PodSpec fields that place a pod on its host: the host namespaces it
// shares, its names and DNS, and the fields that only steer a scheduler (accepted and, on one
// host, ignored). It is embedded in PodSpec, so its fields are PodSpec's own in JSON.
type PodHostSpec struct {
	HostNetwork           bool  `json:"hostNetwork,omitempty"`
	HostPID               bool  `json:"hostPID,omitempty"`
	HostIPC               bool  `json:"hostIPC,omitempty"`
	ShareProcessNamespace *bool `json:"shareProcessNamespace,omitempty"`

	Subdomain         string        `json:"subdomain,omitempty"`
	SetHostnameAsFQDN *bool         `json:"setHostnameAsFQDN,omitempty"`
	HostAliases       []HostAlias   `json:"hostAliases,omitempty"`
	DNSPolicy         DNSPolicy     `json:"dnsPolicy,omitempty"`
	DNSConfig         *PodDNSConfig `json:"dnsConfig,omitempty"`
	// EnableServiceLinks is accepted whatever its value: there are no Services to link.
	EnableServiceLinks *bool `json:"enableServiceLinks,omitempty"`

	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// DeprecatedServiceAccount is the old name of serviceAccountName.
	DeprecatedServiceAccount     string `json:"serviceAccount,omitempty"`
	AutomountServiceAccountToken *bool  `json:"automountServiceAccountToken,omitempty"`

	// Scheduling: a scheduler reads these to choose a node; on one host there is nothing to
	// choose, except that schedulingGates keep the pod from being scheduled at all.
	NodeSelector              map[string]string            `json:"nodeSelector,omitempty"`
	NodeName                  string                       `json:"nodeName,omitempty"`
	Affinity                  *Affinity                    `json:"affinity,omitempty"`
	Tolerations               []Toleration                 `json:"tolerations,omitempty"`
	TopologySpreadConstraints []TopologySpreadConstraint   `json:"topologySpreadConstraints,omitempty"`
	SchedulerName             string                       `json:"schedulerName,omitempty"`
	PriorityClassName         string                       `json:"priorityClassName,omitempty"`
	Priority                  *int32                       `json:"priority,omitempty"`
	PreemptionPolicy          *PreemptionPolicy            `json:"preemptionPolicy,omitempty"`
	Overhead                  map[string]resource.Quantity `json:"overhead,omitempty"`
	RuntimeClassName          *string                      `json:"runtimeClassName,omitempty"`
	ReadinessGates            []PodReadinessGate           `json:"readinessGates,omitempty"`
	SchedulingGates           []PodSchedulingGate          `json:"schedulingGates,omitempty"`
}

// SharesProcessNamespace reports whether the pod's containers share one PID namespace.
func (s *PodHostSpec) SharesProcessNamespace() bool {
	return s.ShareProcessNamespace != nil && *s.ShareProcessNamespace
}

type DNSPolicy string

const (
	DNSClusterFirstWithHostNet DNSPolicy = "ClusterFirstWithHostNet"
	DNSClusterFirst            DNSPolicy = "ClusterFirst"
	DNSDefault                 DNSPolicy = "Default"
	DNSNone                    DNSPolicy = "None"
)

type PodDNSConfig struct {
	Nameservers []string             `json:"nameservers,omitempty"`
	Searches    []string             `json:"searches,omitempty"`
	Options     []PodDNSConfigOption `json:"options,omitempty"`
}

type PodDNSConfigOption struct {
	Name  string  `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

type HostAlias struct {
	IP        string   `json:"ip"`
	Hostnames []string `json:"hostnames,omitempty"`
}

type PodReadinessGate struct {
	ConditionType PodConditionType `json:"conditionType"`
}

type PodSchedulingGate struct {
	Name string `json:"name"`
}

type PreemptionPolicy string

const (
	PreemptLowerPriority PreemptionPolicy = "PreemptLowerPriority"
	PreemptNever         PreemptionPolicy = "Never"
)

type TolerationOperator string

const (
	TolerationOpExists TolerationOperator = "Exists"
	TolerationOpEqual  TolerationOperator = "Equal"
	TolerationOpLt     TolerationOperator = "Lt"
	TolerationOpGt     TolerationOperator = "Gt"
)

type TaintEffect string

const (
	TaintEffectNoSchedule       TaintEffect = "NoSchedule"
	TaintEffectPreferNoSchedule TaintEffect = "PreferNoSchedule"
	TaintEffectNoExecute        TaintEffect = "NoExecute"
)

type Toleration struct {
	Key               string             `json:"key,omitempty"`
	Operator          TolerationOperator `json:"operator,omitempty"`
	Value             string             `json:"value,omitempty"`
	Effect            TaintEffect        `json:"effect,omitempty"`
	TolerationSeconds *int64             `json:"tolerationSeconds,omitempty"`
}

type Affinity struct {
	NodeAffinity    *NodeAffinity    `json:"nodeAffinity,omitempty"`
	PodAffinity     *PodAffinity     `json:"podAffinity,omitempty"`
	PodAntiAffinity *PodAntiAffinity `json:"podAntiAffinity,omitempty"`
}

type NodeAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution  *NodeSelector             `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	PreferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

type NodeSelector struct {
	NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms"`
}

type NodeSelectorTerm struct {
	MatchExpressions []NodeSelectorRequirement `json:"matchExpressions,omitempty"`
	MatchFields      []NodeSelectorRequirement `json:"matchFields,omitempty"`
}

type NodeSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

type PreferredSchedulingTerm struct {
	Weight     int32            `json:"weight"`
	Preference NodeSelectorTerm `json:"preference"`
}

type PodAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution  []PodAffinityTerm         `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

type PodAntiAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution  []PodAffinityTerm         `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	PreferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

type PodAffinityTerm struct {
	LabelSelector     *LabelSelector `json:"labelSelector,omitempty"`
	Namespaces        []string       `json:"namespaces,omitempty"`
	TopologyKey       string         `json:"topologyKey"`
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
	MatchLabelKeys    []string       `json:"matchLabelKeys,omitempty"`
	MismatchLabelKeys []string       `json:"mismatchLabelKeys,omitempty"`
}

type WeightedPodAffinityTerm struct {
	Weight          int32           `json:"weight"`
	PodAffinityTerm PodAffinityTerm `json:"podAffinityTerm"`
}

// LabelSelector is metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

type TopologySpreadConstraint struct {
	MaxSkew            int32          `json:"maxSkew"`
	TopologyKey        string         `json:"topologyKey"`
	WhenUnsatisfiable  string         `json:"whenUnsatisfiable"`
	LabelSelector      *LabelSelector `json:"labelSelector,omitempty"`
	MinDomains         *int32         `json:"minDomains,omitempty"`
	NodeAffinityPolicy *string        `json:"nodeAffinityPolicy,omitempty"`
	NodeTaintsPolicy   *string        `json:"nodeTaintsPolicy,omitempty"`
	MatchLabelKeys     []string       `json:"matchLabelKeys,omitempty"`
}
