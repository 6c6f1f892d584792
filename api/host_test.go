package api

import (
	"reflect"
	"testing"
)

// The host and scheduling fields (pkg/apis/core/validation, pkg/apis/core/v1/defaults.go).
var hostLoadCases = []loadCase{
	{name: "API server defaults of the host fields", in: pod(), check: func(t *testing.T, p *Pod) {
		s := p.Spec
		if s.DNSPolicy != DNSClusterFirst || s.SchedulerName != "default-scheduler" || s.EnableServiceLinks == nil || !*s.EnableServiceLinks {
			t.Errorf("defaults: dnsPolicy %q schedulerName %q enableServiceLinks %v", s.DNSPolicy, s.SchedulerName, s.EnableServiceLinks)
		}
	}},
	{name: "hostNetwork: hostPort defaults to containerPort", in: pod(
		"    ports: [{containerPort: 8080}, {containerPort: 53, hostPort: 53, protocol: UDP}]",
		"  initContainers: [{name: i, image: b, ports: [{containerPort: 9000}]}]",
		"  hostNetwork: true",
	), check: func(t *testing.T, p *Pod) {
		ports := p.Spec.Containers[0].Ports
		if ports[0].HostPort != 8080 || ports[1].HostPort != 53 || p.Spec.InitContainers[0].Ports[0].HostPort != 9000 {
			t.Errorf("ports %+v %+v", ports, p.Spec.InitContainers[0].Ports)
		}
	}},
	{name: "hostNetwork: hostPort must match", in: pod("    ports: [{containerPort: 8080, hostPort: 80}]", "  hostNetwork: true"),
		want: []string{"spec.containers[0].ports[0].hostPort: Invalid value: 80: must match `containerPort` when `hostNetwork` is true"}},
	{name: "every host and process field", in: pod(
		"    ports: [{containerPort: 80, hostPort: 8080, hostIP: 127.0.0.1}, {containerPort: 81, hostPort: 8080, protocol: UDP}]",
		"    resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}, {resourceName: memory, restartPolicy: RestartContainer}]",
		"  hostPID: true",
		"  hostIPC: true",
		"  subdomain: sub",
		"  setHostnameAsFQDN: true",
		"  hostAliases: [{ip: 10.1.2.3, hostnames: [foo.local, bar]}, {ip: 'fe80::1'}]",
		"  dnsPolicy: None",
		"  dnsConfig: {nameservers: [1.2.3.4], searches: [ns1.svc.cluster-domain.example, my_dns.example, '.'], options: [{name: ndots, value: '2'}, {name: edns0}]}",
		"  enableServiceLinks: false",
		"  serviceAccountName: build-robot",
		"  automountServiceAccountToken: false",
	), check: func(t *testing.T, p *Pod) {
		s := p.Spec
		if !s.HostPID || !s.HostIPC || s.Subdomain != "sub" || !*s.SetHostnameAsFQDN || *s.EnableServiceLinks {
			t.Errorf("spec %+v", s.PodHostSpec)
		}
		want := []HostAlias{{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar"}}, {IP: "fe80::1"}}
		if !reflect.DeepEqual(s.HostAliases, want) {
			t.Errorf("hostAliases %+v", s.HostAliases)
		}
		if c := s.DNSConfig; len(c.Options) != 2 || *c.Options[0].Value != "2" || c.Options[1].Value != nil {
			t.Errorf("dnsConfig %+v", c)
		}
	}},
	{name: "host field rules", in: pod(
		"    ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 8080}, {containerPort: 82, hostIP: '::1', hostPort: 1}, {containerPort: 83, hostIP: nope}]",
		"  - name: b",
		"    image: b",
		"    ports: [{containerPort: 80, hostPort: 8080}]",
		"    resizePolicy: [{resourceName: cpu, restartPolicy: RestartContainer}, {resourceName: cpu, restartPolicy: Sometimes}, {resourceName: gpu, restartPolicy: NotRequired}]",
		"  initContainers: [{name: i, image: b, resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]}]",
		"  hostPID: true",
		"  shareProcessNamespace: true",
		"  subdomain: Sub",
		"  hostAliases: [{ip: 10.1.2, hostnames: [UPPER]}]",
		"  dnsPolicy: Sometimes",
		"  dnsConfig: {nameservers: [1.1.1.1, 1.1.1.2, 1.1.1.3, x], searches: [-bad-], options: [{value: x}]}",
		"  serviceAccountName: Robot",
		"  automountServiceAccountToken: true",
		"  restartPolicy: Never",
	), want: []string{
		`spec.containers[0].ports[2].hostIP: Invalid value: "::1": must be an IPv4 address`,
		`spec.containers[0].ports[3].hostIP: Invalid value: "nope": must be a valid IP address`,
		`spec.containers[0].ports[1].hostPort: Duplicate value: "TCP//8080"`,
		`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`,
		`spec.containers[1].resizePolicy: Invalid value: "RestartContainer": must be 'NotRequired' when ` + "`restartPolicy`" + ` is 'Never'`,
		`spec.containers[1].resizePolicy[1]: Duplicate value: "cpu"`,
		`spec.containers[1].resizePolicy: Unsupported value: "Sometimes": supported values: "NotRequired", "RestartContainer"`,
		`spec.containers[1].resizePolicy: Invalid value: "Sometimes": must be 'NotRequired'`,
		`spec.containers[1].resizePolicy: Unsupported value: "gpu": supported values: "cpu", "memory"`,
		`spec.initContainers[0].resizePolicy: Invalid value:`,
		`spec.dnsPolicy: Unsupported value: "Sometimes"`,
		`spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled`,
		`spec.dnsConfig.nameservers: Invalid value:`,
		`spec.dnsConfig.nameservers[3]: Invalid value: "x": must be a valid IP address`,
		`spec.dnsConfig.searches[0]: Invalid value: "-bad-"`,
		`spec.dnsConfig.options[0]: Required value: must not be empty`,
		`spec.serviceAccountName: Invalid value: "Robot"`,
		`spec.subdomain: Invalid value: "Sub"`,
		`spec.hostAliases[0].ip: Invalid value: "10.1.2": must be a valid IP address`,
		`spec.hostAliases[0].hostnames[0]: Invalid value: "UPPER"`,
		`spec.automountServiceAccountToken: Forbidden: mounting the token of service account "Robot" needs a Kubernetes API server`,
	}},
	{name: "dnsPolicy None needs a nameserver", in: pod("  dnsPolicy: None", "  dnsConfig: {searches: [a.b]}"),
		want: []string{"spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"}},
	{name: "every scheduling field", in: pod(
		"  nodeSelector: {disktype: ssd, kubernetes.io/os: linux}",
		"  nodeName: node-1",
		"  affinity:",
		"    nodeAffinity:",
		"      requiredDuringSchedulingIgnoredDuringExecution:",
		"        nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a, b]}, {key: gpu, operator: Exists}], matchFields: [{key: metadata.name, operator: NotIn, values: [n2]}]}]",
		"      preferredDuringSchedulingIgnoredDuringExecution: [{weight: 50, preference: {matchExpressions: [{key: cores, operator: Gt, values: ['8']}]}}]",
		"    podAffinity:",
		"      requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchExpressions: [{key: security, operator: In, values: [S1]}]}, topologyKey: topology.kubernetes.io/zone, namespaces: [a], matchLabelKeys: [app]}]",
		"    podAntiAffinity:",
		"      preferredDuringSchedulingIgnoredDuringExecution: [{weight: 100, podAffinityTerm: {labelSelector: {matchLabels: {security: S2}}, namespaceSelector: {}, topologyKey: kubernetes.io/hostname}}]",
		"  tolerations: [{key: k, operator: Equal, value: v, effect: NoExecute, tolerationSeconds: 60}, {operator: Exists}, {key: level, operator: Lt, value: '10', effect: NoSchedule}]",
		"  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule, minDomains: 2, labelSelector: {matchLabels: {app: x}}, nodeAffinityPolicy: Honor, nodeTaintsPolicy: Ignore, matchLabelKeys: [pod-template-hash]}]",
		"  schedulerName: my-scheduler",
		"  priorityClassName: high-priority",
		"  priority: 1000",
		"  preemptionPolicy: Never",
		"  overhead: {cpu: 250m, memory: 120Mi}",
		"  runtimeClassName: gvisor",
		"  readinessGates: [{conditionType: www.example.com/feature-1}]",
	), check: func(t *testing.T, p *Pod) {
		s := p.Spec
		if s.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values[1] != "b" ||
			s.Tolerations[2].Operator != TolerationOpLt || *s.Priority != 1000 || overheadCPU(s) != "250m" || *s.RuntimeClassName != "gvisor" {
			t.Errorf("spec %+v", s.PodHostSpec)
		}
		want := []string{"ignored on one host: spec.nodeSelector, spec.nodeName, spec.affinity, spec.tolerations, spec.topologySpreadConstraints, spec.schedulerName, spec.priorityClassName, spec.priority, spec.preemptionPolicy, spec.overhead, spec.runtimeClassName",
			"spec.readinessGates: nothing sets the condition www.example.com/feature-1 on one host, so the pod will not become Ready"}
		if got := Warnings(p); !reflect.DeepEqual(got, want) {
			t.Errorf("Warnings =\n%q\nwant\n%q", got, want)
		}
	}},
	{name: "scheduling field rules", in: pod(
		"  nodeSelector: {'bad key': v}",
		"  nodeName: Node_1",
		"  affinity:",
		"    nodeAffinity:",
		"      requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In}, {key: a, operator: Exists, values: [x]}, {key: a, operator: Near}], matchFields: [{key: metadata.uid, operator: In, values: [a, b]}]}]}",
		"      preferredDuringSchedulingIgnoredDuringExecution: [{weight: 0, preference: {}}]",
		"    podAffinity:",
		"      requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchExpressions: [{key: k, operator: In}]}}]",
		"  tolerations: [{operator: Equal, value: v}, {key: k, operator: Exists, value: v, tolerationSeconds: 5}, {key: k, operator: Gt, value: ten}, {key: k, operator: Near, effect: Never}]",
		"  topologySpreadConstraints: [{maxSkew: 0, whenUnsatisfiable: Maybe, minDomains: 1}, {maxSkew: 1, topologyKey: z, whenUnsatisfiable: DoNotSchedule}, {maxSkew: 1, topologyKey: z, whenUnsatisfiable: DoNotSchedule}]",
		"  preemptionPolicy: Sometimes",
		"  readinessGates: [{conditionType: 'bad gate'}]",
		"  schedulingGates: [{name: a}, {name: a}]",
	), want: []string{
		`spec.nodeSelector: Invalid value: "bad key"`,
		`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when ` + "`operator`" + ` is 'In' or 'NotIn'`,
		`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values: Forbidden: may not be specified when`,
		`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[2].operator: Invalid value: "Near": not a valid selector operator`,
		`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values: Required value: must be only one value`,
		`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key: Invalid value: "metadata.uid": not a valid field selector key`,
		`spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100`,
		`spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values: Required value`,
		`spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty`,
		`spec.readinessGates[0].conditionType: Invalid value: "bad gate"`,
		`spec.schedulingGates[1]: Duplicate value: "a"`,
		`spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero`,
		`spec.topologySpreadConstraints[0].topologyKey: Required value: can not be empty`,
		`spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe"`,
		`spec.topologySpreadConstraints[0].minDomains: Invalid value: 1: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not Maybe`,
		`spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}: Duplicate value: "{z, DoNotSchedule}"`,
		`spec.nodeName: Invalid value: "Node_1"`,
		`spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when ` + "`key`" + ` is empty`,
		`spec.tolerations[1].effect: Invalid value: "": effect must be 'NoExecute' when ` + "`tolerationSeconds`" + ` is set`,
		`spec.tolerations[1].operator: Invalid value: "v": value must be empty when ` + "`operator`" + ` is 'Exists'`,
		`spec.tolerations[2].value: Invalid value: "ten": must be an integer when`,
		`spec.tolerations[3].operator: Unsupported value: "Near"`,
		`spec.tolerations[3].effect: Unsupported value: "Never"`,
		`spec.preemptionPolicy: Unsupported value: "Sometimes"`,
		`spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared`,
	}},
	{name: "scheduling gates", in: pod("  schedulingGates: [{name: example.com/foo}, {name: example.com/bar}]"), check: func(t *testing.T, p *Pod) {
		if len(p.Spec.SchedulingGates) != 2 || p.Spec.SchedulingGates[1].Name != "example.com/bar" {
			t.Errorf("schedulingGates %+v", p.Spec.SchedulingGates)
		}
		if w := Warnings(p); len(w) != 0 {
			t.Errorf("warnings %q, want none: a gate is honoured, not ignored", w)
		}
	}},
	{name: "defaults are not warned about", in: pod("  schedulerName: default-scheduler", "  priority: 0", "  preemptionPolicy: PreemptLowerPriority", "  affinity: {}"),
		check: func(t *testing.T, p *Pod) {
			if w := Warnings(p); len(w) != 0 {
				t.Errorf("warnings %q", w)
			}
		}},
	{name: "service account warnings", in: pod("  serviceAccount: build-robot"), check: func(t *testing.T, p *Pod) {
		want := []string{`spec.serviceAccountName: no token of service account "build-robot" is mounted: that needs a Kubernetes API server`}
		if got := Warnings(p); !reflect.DeepEqual(got, want) {
			t.Errorf("Warnings = %q, want %q", got, want)
		}
	}},
	{name: "no token wanted, no warning", in: pod("  serviceAccountName: build-robot", "  automountServiceAccountToken: false"), check: func(t *testing.T, p *Pod) {
		if got := Warnings(p); len(got) != 0 {
			t.Errorf("Warnings = %q", got)
		}
	}},
}

func init() { loadCases = append(loadCases, hostLoadCases...) }

func overheadCPU(s PodSpec) string {
	q := s.Overhead["cpu"]
	return q.String()
}
