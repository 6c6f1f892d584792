package api

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// rl builds a ResourceList from name, quantity pairs.
func rl(kv ...string) ResourceList {
	l := ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = resource.MustParse(kv[i+1])
	}
	return l
}

func ctr(name string, requests, limits ResourceList) Container {
	return Container{Name: name, Image: "busybox", Resources: ResourceRequirements{Requests: requests, Limits: limits}}
}

func TestResourceDefaults(t *testing.T) {
	p, err := Load([]byte(pod(
		"    resources:",
		"      limits: {cpu: 0.5, memory: 100Mi, ephemeral-storage: 1Gi}",
		"      requests: {memory: 50Mi}",
		"  initContainers:",
		"  - name: init",
		"    image: busybox",
		"    resources: {limits: {cpu: 0.0001}}",
	)))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Spec.Containers[0].Resources
	for name, want := range map[string]string{"cpu": "500m", "memory": "50Mi", "ephemeral-storage": "1Gi"} {
		if q := c.Requests[name]; q.String() != want {
			t.Errorf("requests[%s] = %s, want %s (defaulted from the limit unless set)", name, q.String(), want)
		}
	}
	// Rounded up to the milli scale (SetDefaults_ResourceList).
	if q := p.Spec.InitContainers[0].Resources.Requests["cpu"]; q.String() != "1m" {
		t.Errorf("init requests[cpu] = %s, want 1m", q.String())
	}
}

func TestPodLevelDefaults(t *testing.T) {
	tests := []struct {
		name             string
		pod              string
		wantReq, wantLim ResourceList
	}{
		{name: "requests from container requests, else from pod limits",
			pod: pod("    resources: {requests: {cpu: 100m}}", "  resources: {limits: {cpu: 1, memory: 1Gi}}"),
			// memory: no container asks, so the pod limit; cpu: the containers' 100m.
			wantReq: rl("cpu", "100m", "memory", "1Gi"), wantLim: rl("cpu", "1", "memory", "1Gi")},
		{name: "limits from containers when all have one",
			pod: pod("    resources: {limits: {memory: 64Mi}}",
				"  - name: b", "    image: busybox", "    resources: {limits: {memory: 32Mi, cpu: 1}}",
				"  resources: {requests: {memory: 96Mi}}"),
			wantReq: rl("memory", "96Mi"), wantLim: rl("memory", "96Mi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load([]byte(tt.pod))
			if err != nil {
				t.Fatal(err)
			}
			r := p.Spec.Resources
			if !equalLists(r.Requests, tt.wantReq) || !equalLists(r.Limits, tt.wantLim) {
				t.Errorf("pod resources = %v / %v, want requests %v limits %v", r.Requests, r.Limits, tt.wantReq, tt.wantLim)
			}
		})
	}
}

func equalLists(a, b ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestResourceValidation(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error lines, in order; none: valid
	}{
		{name: "cpu memory ephemeral-storage", in: pod("    resources: {requests: {cpu: 250m, memory: 64Mi, ephemeral-storage: 1Gi}, limits: {cpu: '1', memory: 128Mi}}")},
		{name: "numbers as quantities", in: pod("    resources: {limits: {cpu: 2, memory: 1000000}, requests: {cpu: 0.5}}")},
		{name: "request over limit",
			in:   pod("    resources: {requests: {cpu: 2}, limits: {cpu: 1}}"),
			want: []string{`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{name: "negative", in: pod("    resources: {requests: {memory: -1}}"),
			want: []string{`spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`}},
		{name: "not a quantity", in: pod("    resources: {limits: {cpu: lots}}"),
			want: []string{`spec.containers[0].resources.limits[cpu]: Invalid value: "lots": quantities must match`}},
		{name: "unknown name", in: pod("    resources: {limits: {cpus: 1}}"),
			want: []string{
				`spec.containers[0].resources.limits[cpus]: Invalid value: "cpus": must be a standard resource type or fully qualified`,
				`spec.containers[0].resources.limits[cpus]: Invalid value: "cpus": must be a standard resource for containers`,
				`spec.containers[0].resources.requests[cpus]: Invalid value: "cpus": must be a standard resource type or fully qualified`,
				`spec.containers[0].resources.requests[cpus]: Invalid value: "cpus": must be a standard resource for containers`,
			}},
		{name: "not for containers", in: pod("    resources: {requests: {pods: 1}}"),
			want: []string{`spec.containers[0].resources.requests[pods]: Invalid value: "pods": must be a standard resource for containers`}},
		{name: "huge pages refused", in: pod("    resources: {limits: {hugepages-2Mi: 4Mi, memory: 64Mi}}"),
			want: []string{`spec.containers[0].resources.limits[hugepages-2Mi]: Unsupported value: "hugepages-2Mi": not supported: this host sets no huge pages aside for pods`}},
		{name: "huge pages need cpu or memory and whole pages", in: pod("    resources: {limits: {hugepages-2Mi: 3Mi}}"),
			want: []string{
				`spec.containers[0].resources.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
				`spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
				`spec.containers[0].resources: Forbidden: HugePages require cpu or memory`,
				`spec.containers[0].resources.limits[hugepages-2Mi]: Unsupported value: "hugepages-2Mi": not supported`,
			}},
		{name: "extended resource refused", in: pod("    resources: {limits: {example.com/gpu: 1}}"),
			want: []string{`spec.containers[0].resources.limits[example.com/gpu]: Unsupported value: "example.com/gpu": not supported: no device plugin on this host provides extended resources`}},
		{name: "extended resource rules", in: pod("    resources: {requests: {example.com/gpu: 0.5}}"),
			want: []string{
				`spec.containers[0].resources.requests[example.com/gpu]: Invalid value: "500m": must be an integer`,
				`spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources`,
				`spec.containers[0].resources.requests[example.com/gpu]: Unsupported value: "example.com/gpu": not supported`,
			}},
		{name: "init container resources", in: pod("  initContainers:", "  - name: i", "    image: busybox", "    resources: {requests: {cpu: 2}, limits: {cpu: 1}}"),
			want: []string{`spec.initContainers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{name: "resizePolicy accepted", in: pod("    resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}, {resourceName: memory, restartPolicy: RestartContainer}]")},
		{name: "resizePolicy rules", in: pod(
			"    resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}, {resourceName: cpu, restartPolicy: Sometimes}, {resourceName: storage, restartPolicy: NotRequired}]"),
			want: []string{
				`spec.containers[0].resizePolicy[1]: Duplicate value: "cpu"`,
				`spec.containers[0].resizePolicy: Unsupported value: "Sometimes": supported values: "NotRequired", "RestartContainer"`,
				`spec.containers[0].resizePolicy: Unsupported value: "storage": supported values: "cpu", "memory"`,
			}},
		{name: "resizePolicy with restartPolicy Never", in: pod("    resizePolicy: [{resourceName: memory, restartPolicy: RestartContainer}]", "  restartPolicy: Never"),
			want: []string{`spec.containers[0].resizePolicy: Invalid value: "RestartContainer": must be 'NotRequired' when ` + "`restartPolicy`" + ` is 'Never'`}},
		{name: "pod-level resources", in: pod("    resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}", "  resources: {requests: {cpu: 500m}, limits: {cpu: 1, memory: 128Mi}}")},
		{name: "pod-level resource not supported", in: pod("  resources: {limits: {ephemeral-storage: 1Gi}}"),
			want: []string{
				// Pod-level requests are defaulted for supported resources only.
				`spec.resources.limits[ephemeral-storage]: Unsupported value: "ephemeral-storage": supported values: "cpu", "hugepages-", "memory"`,
			}},
		{name: "pod-level requests below the containers'", in: pod("    resources: {requests: {cpu: 2}}", "  resources: {requests: {cpu: 1}}"),
			want: []string{`spec.resources.requests[cpu]: Invalid value: "1": must be greater than or equal to aggregate container requests of 2`}},
		{name: "container limit over the pod's", in: pod("    resources: {limits: {memory: 2Gi}}", "  resources: {limits: {memory: 1Gi}}"),
			want: []string{
				// The pod-level request defaults to the containers' 2Gi.
				`spec.resources.requests: Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi`,
				`spec.resources.containers[0][memory].limits: Invalid value: "2Gi": must be less than or equal to pod limits of 1Gi`,
			}},
		{name: "pod-level claims are not supported", in: pod("  resources: {claims: [{name: x}]}"),
			want: []string{"spec.resources.claims: not supported: dynamic resource allocation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load([]byte(tt.in))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if err := Validate(p); err != nil {
					t.Fatalf("Validate after Load: %v", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Load error %v, want %q", err, tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got errors:\n%v\nwant %d lines like %q", err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error line %d: %q does not contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestComputePodQOS(t *testing.T) {
	g := func(name string) Container {
		return ctr(name, rl("cpu", "1", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"))
	}
	be := func(name string) Container { return ctr(name, nil, nil) }
	tests := []struct {
		name string
		spec PodSpec
		want PodQOSClass
	}{
		{"no resources", PodSpec{Containers: []Container{be("a"), be("b")}}, PodQOSBestEffort},
		{"requests equal limits", PodSpec{Containers: []Container{g("a")}}, PodQOSGuaranteed},
		{"all guaranteed, init too", PodSpec{InitContainers: []Container{g("i")}, Containers: []Container{g("a"), g("b")}}, PodQOSGuaranteed},
		{"guaranteed and besteffort", PodSpec{Containers: []Container{g("a"), be("b")}}, PodQOSBurstable},
		{"besteffort init", PodSpec{InitContainers: []Container{be("i")}, Containers: []Container{g("a")}}, PodQOSBurstable},
		{"memory only", PodSpec{Containers: []Container{ctr("a", rl("memory", "1Gi"), rl("memory", "1Gi"))}}, PodQOSBurstable},
		{"request below limit", PodSpec{Containers: []Container{ctr("a", rl("cpu", "1", "memory", "1Gi"), rl("cpu", "2", "memory", "1Gi"))}}, PodQOSBurstable},
		{"ephemeral-storage only", PodSpec{Containers: []Container{ctr("a", rl("ephemeral-storage", "1Gi"), nil)}}, PodQOSBestEffort},
		{"extra resources do not matter", PodSpec{Containers: []Container{ctr("a", rl("cpu", "1", "memory", "1Gi", "ephemeral-storage", "1Gi"), rl("cpu", "1", "memory", "1Gi"))}}, PodQOSGuaranteed},
		{"pod level decides: guaranteed", PodSpec{Resources: &ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")},
			Containers: []Container{be("a")}}, PodQOSGuaranteed},
		{"pod level decides: burstable", PodSpec{Resources: &ResourceRequirements{Requests: rl("cpu", "1"), Limits: rl("cpu", "2")},
			Containers: []Container{g("a")}}, PodQOSBurstable},
	}
	for _, tt := range tests {
		if got := ComputePodQOS(&tt.spec); got != tt.want {
			t.Errorf("%s: ComputePodQOS = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPodRequestsAndLimits(t *testing.T) {
	sidecar := ContainerRestartPolicyAlways
	side := ctr("side", rl("cpu", "50m", "memory", "64Mi"), rl("memory", "64Mi"))
	side.RestartPolicy = &sidecar
	// pods/multi-container/resources.yaml, defaulted.
	spec := PodSpec{
		InitContainers: []Container{ctr("setup", rl("cpu", "200m", "memory", "64Mi"), rl("memory", "64Mi")), side},
		Containers:     []Container{ctr("app", rl("cpu", "300m", "memory", "128Mi"), rl("memory", "128Mi"))},
	}
	// max(setup 200m/64Mi, app + sidecar 350m/192Mi).
	if got, want := PodRequests(&spec), rl("cpu", "350m", "memory", "192Mi"); !equalLists(got, want) {
		t.Errorf("PodRequests = %v, want %v", got, want)
	}
	if got, want := PodLimits(&spec, nil), rl("memory", "192Mi"); !equalLists(got, want) {
		t.Errorf("PodLimits = %v, want %v", got, want)
	}
	// A regular init container bigger than the rest sets the pod's size, with the sidecars
	// started before it.
	big := ctr("big", rl("cpu", "2", "memory", "1Gi"), nil)
	spec.InitContainers = []Container{side, big}
	if got, want := PodRequests(&spec), rl("cpu", "2050m", "memory", "1088Mi"); !equalLists(got, want) {
		t.Errorf("PodRequests with a big init container = %v, want %v", got, want)
	}
	spec.Resources = &ResourceRequirements{Requests: rl("cpu", "3")}
	if got, want := PodRequests(&spec), rl("cpu", "3", "memory", "1088Mi"); !equalLists(got, want) {
		t.Errorf("PodRequests with pod-level cpu = %v, want %v", got, want)
	}
}
