package resources

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

func rl(kv ...string) api.ResourceList {
	l := api.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = resource.MustParse(kv[i+1])
	}
	return l
}

func ctr(name string, requests, limits api.ResourceList) api.Container {
	return api.Container{Name: name, Resources: api.ResourceRequirements{Requests: requests, Limits: limits}}
}

func TestMilliCPUConversions(t *testing.T) {
	for _, tt := range []struct {
		milli  int64
		shares uint64
		quota  int64
	}{
		{0, 2, 0},
		{1, 2, 1000}, // both at their minimum
		{10, 10, 1000},
		{100, 102, 10000},
		{250, 256, 25000},
		{500, 512, 50000},
		{700, 716, 70000},
		{1000, 1024, 100000},
		{1500, 1536, 150000},
		{100000, 102400, 10000000},
		{300000, 262144, 30000000}, // shares capped
	} {
		if got := MilliCPUToShares(tt.milli); got != tt.shares {
			t.Errorf("MilliCPUToShares(%d) = %d, want %d", tt.milli, got, tt.shares)
		}
		if got := MilliCPUToQuota(tt.milli, QuotaPeriod); got != tt.quota {
			t.Errorf("MilliCPUToQuota(%d) = %d, want %d", tt.milli, got, tt.quota)
		}
	}
}

func TestForContainer(t *testing.T) {
	tests := []struct {
		name string
		spec api.PodSpec
		want Container
	}{
		{name: "best effort", spec: api.PodSpec{Containers: []api.Container{ctr("c", nil, nil)}},
			want: Container{CPUShares: 2, CPUPeriod: 100000}},
		{name: "requests and limits", spec: api.PodSpec{Containers: []api.Container{ctr("c", rl("cpu", "500m", "memory", "100Mi"), rl("cpu", "1", "memory", "200Mi"))}},
			want: Container{CPUShares: 512, CPUQuota: 100000, CPUPeriod: 100000, MemoryLimit: 200 << 20}},
		{name: "limit without request: shares follow the limit", spec: api.PodSpec{Containers: []api.Container{ctr("c", nil, rl("cpu", "250m"))}},
			want: Container{CPUShares: 256, CPUQuota: 25000, CPUPeriod: 100000}},
		{name: "tiny limit gets the minimum quota", spec: api.PodSpec{Containers: []api.Container{ctr("c", rl("cpu", "1m"), rl("cpu", "1m"))}},
			want: Container{CPUShares: 2, CPUQuota: 1000, CPUPeriod: 100000}},
		{name: "pod-level limits stand in for missing ones",
			spec: api.PodSpec{Resources: &api.ResourceRequirements{Limits: rl("cpu", "2", "memory", "1Gi")},
				Containers: []api.Container{ctr("c", rl("cpu", "100m"), rl("memory", "256Mi"))}},
			want: Container{CPUShares: 102, CPUQuota: 200000, CPUPeriod: 100000, MemoryLimit: 256 << 20}},
	}
	for _, tt := range tests {
		if got := ForContainer(&tt.spec, &tt.spec.Containers[0]); got != tt.want {
			t.Errorf("%s: ForContainer = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestForPod(t *testing.T) {
	sidecar := api.ContainerRestartPolicyAlways
	side := ctr("log-shipper", rl("cpu", "50m", "memory", "64Mi"), rl("memory", "64Mi"))
	side.RestartPolicy = &sidecar
	u := func(v uint64) *uint64 { return &v }
	i := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		spec api.PodSpec
		want Pod
	}{
		{name: "best effort: minimal shares only", spec: api.PodSpec{Containers: []api.Container{ctr("a", nil, nil)}},
			want: Pod{CPUShares: u(2)}},
		{name: "guaranteed: sums", spec: api.PodSpec{Containers: []api.Container{
			ctr("a", rl("cpu", "700m", "memory", "200Mi"), rl("cpu", "700m", "memory", "200Mi")),
			ctr("b", rl("cpu", "300m", "memory", "100Mi"), rl("cpu", "300m", "memory", "100Mi"))}},
			want: Pod{CPUShares: u(1024), CPUQuota: i(100000), CPUPeriod: u(100000), Memory: i(300 << 20)}},
		{name: "burstable, all have memory limits, not all cpu", spec: api.PodSpec{Containers: []api.Container{
			ctr("a", rl("cpu", "100m", "memory", "50Mi"), rl("cpu", "1", "memory", "100Mi")),
			ctr("b", rl("memory", "10Mi"), rl("memory", "20Mi"))}},
			want: Pod{CPUShares: u(102), Memory: i(120 << 20)}},
		{name: "burstable, one container without limits", spec: api.PodSpec{Containers: []api.Container{
			ctr("a", rl("cpu", "1", "memory", "100Mi"), rl("cpu", "1", "memory", "100Mi")),
			ctr("b", nil, nil)}},
			want: Pod{CPUShares: u(1024)}},
		{name: "pods/multi-container/resources.yaml: init max and sidecar", spec: api.PodSpec{
			InitContainers: []api.Container{ctr("setup", rl("cpu", "200m", "memory", "64Mi"), rl("memory", "64Mi")), side},
			Containers:     []api.Container{ctr("app", rl("cpu", "300m", "memory", "128Mi"), rl("memory", "128Mi"))}},
			want: Pod{CPUShares: u(358), Memory: i(192 << 20)}},
		{name: "pod-level limits override", spec: api.PodSpec{
			Resources:  &api.ResourceRequirements{Requests: rl("cpu", "500m", "memory", "100Mi"), Limits: rl("cpu", "1", "memory", "200Mi")},
			Containers: []api.Container{ctr("a", nil, nil)}},
			want: Pod{CPUShares: u(512), CPUQuota: i(100000), CPUPeriod: u(100000), Memory: i(200 << 20)}},
	}
	for _, tt := range tests {
		got := ForPod(&tt.spec)
		if s := podString(got); s != podString(tt.want) {
			t.Errorf("%s: ForPod = %s, want %s", tt.name, s, podString(tt.want))
		}
	}
}

func podString(p Pod) string {
	f := func(v any) string {
		switch v := v.(type) {
		case *uint64:
			if v != nil {
				return resource.NewQuantity(int64(*v), resource.DecimalSI).String()
			}
		case *int64:
			if v != nil {
				return resource.NewQuantity(*v, resource.DecimalSI).String()
			}
		}
		return "-"
	}
	return "shares=" + f(p.CPUShares) + " quota=" + f(p.CPUQuota) + " period=" + f(p.CPUPeriod) + " memory=" + f(p.Memory)
}

func TestOOMScoreAdj(t *testing.T) {
	const capacity = 1000 << 20
	sidecar := api.ContainerRestartPolicyAlways
	side := ctr("side", rl("memory", "10Mi"), rl("memory", "20Mi"))
	side.RestartPolicy = &sidecar
	tests := []struct {
		name string
		spec api.PodSpec
		c    *api.Container
		want int
	}{
		{name: "guaranteed", spec: api.PodSpec{Containers: []api.Container{ctr("a", rl("cpu", "1", "memory", "1Mi"), rl("cpu", "1", "memory", "1Mi"))}}, want: -997},
		{name: "best effort", spec: api.PodSpec{Containers: []api.Container{ctr("a", nil, nil)}}, want: 1000},
		{name: "burstable 10%", spec: api.PodSpec{Containers: []api.Container{ctr("a", rl("memory", "100Mi"), nil)}}, want: 900},
		{name: "burstable without memory request", spec: api.PodSpec{Containers: []api.Container{ctr("a", rl("cpu", "1"), nil)}}, want: 999},
		{name: "burstable asking for everything", spec: api.PodSpec{Containers: []api.Container{ctr("a", rl("memory", "2000Mi"), nil)}}, want: 3},
		{name: "sidecar no higher than the smallest regular container",
			spec: api.PodSpec{InitContainers: []api.Container{side}, Containers: []api.Container{ctr("a", rl("memory", "500Mi"), nil)}}, want: 500},
	}
	for _, tt := range tests {
		c := &tt.spec.Containers[0]
		if len(tt.spec.InitContainers) > 0 {
			c = &tt.spec.InitContainers[0]
		}
		if got := OOMScoreAdj(&tt.spec, c, capacity); got != tt.want {
			t.Errorf("%s: OOMScoreAdj = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestAdmit(t *testing.T) {
	node := NewNode(rl("cpu", "2", "memory", "4Gi", "ephemeral-storage", "100Gi", "pods", "110"), rl("cpu", "500m", "memory", "1Gi"))
	pod := func(requests api.ResourceList) *api.Pod {
		return &api.Pod{Spec: api.PodSpec{Containers: []api.Container{ctr("c", requests, nil)}}}
	}
	tests := []struct {
		name   string
		pod    *api.Pod
		others []*api.Pod
		want   *Rejection
	}{
		{name: "no requests always fit", pod: pod(nil), others: []*api.Pod{pod(rl("cpu", "1500m"))}},
		{name: "fits exactly", pod: pod(rl("cpu", "1", "memory", "1Gi")), others: []*api.Pod{pod(rl("cpu", "500m", "memory", "2Gi"))}},
		{name: "cpu", pod: pod(rl("cpu", "1")), others: []*api.Pod{pod(rl("cpu", "600m"))},
			want: &Rejection{"OutOfcpu", "Node didn't have enough resource: cpu, requested: 1000, used: 600, capacity: 1500"}},
		{name: "memory", pod: pod(rl("memory", "1000Gi")),
			want: &Rejection{"OutOfmemory", "Node didn't have enough resource: memory, requested: 1073741824000, used: 0, capacity: 3221225472"}},
		{name: "cpu is checked before memory", pod: pod(rl("cpu", "100", "memory", "1000Gi")),
			want: &Rejection{"OutOfcpu", "Node didn't have enough resource: cpu, requested: 100000, used: 0, capacity: 1500"}},
		{name: "ephemeral-storage", pod: pod(rl("ephemeral-storage", "200Gi")),
			want: &Rejection{"OutOfephemeral-storage", "Node didn't have enough resource: ephemeral-storage, requested: 214748364800, used: 0, capacity: 107374182400"}},
		{name: "init containers count by the max rule", pod: &api.Pod{Spec: api.PodSpec{
			InitContainers: []api.Container{ctr("i", rl("cpu", "1200m"), nil)},
			Containers:     []api.Container{ctr("c", rl("cpu", "100m"), nil)}}},
			others: []*api.Pod{pod(rl("cpu", "400m"))},
			want:   &Rejection{"OutOfcpu", "Node didn't have enough resource: cpu, requested: 1200, used: 400, capacity: 1500"}},
		{name: "linux pod", pod: &api.Pod{Spec: api.PodSpec{OS: &api.PodOS{Name: api.Linux}, Containers: []api.Container{ctr("c", nil, nil)}}}},
		{name: "windows pod, before resources", pod: &api.Pod{Spec: api.PodSpec{OS: &api.PodOS{Name: api.Windows}, Containers: []api.Container{ctr("c", rl("cpu", "100"), nil)}}},
			want: &Rejection{"PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS"}},
	}
	for _, tt := range tests {
		got := Admit(tt.pod, node, tt.others)
		switch {
		case got == nil && tt.want == nil:
		case got == nil || tt.want == nil || *got != *tt.want:
			t.Errorf("%s: Admit = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	full := make([]*api.Pod, 110)
	for i := range full {
		full[i] = pod(nil)
	}
	if got := Admit(pod(nil), node, full); got == nil || got.Reason != "OutOfpods" ||
		got.Message != "Node didn't have enough resource: pods, requested: 1, used: 110, capacity: 110" {
		t.Errorf("111th pod: Admit = %+v, want OutOfpods", got)
	}
	// Reserving more than the host has leaves nothing, not a negative amount.
	if a := NewNode(rl("cpu", "2"), rl("cpu", "3")).Allocatable[api.ResourceCPU]; a.Sign() != 0 {
		t.Errorf("allocatable cpu = %s, want 0", a.String())
	}
}

func TestLocalStorageEviction(t *testing.T) {
	limit := resource.MustParse("1Mi")
	spec := api.PodSpec{
		Volumes: []api.Volume{
			{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory, SizeLimit: &limit}},
			{Name: "cache", EmptyDir: &api.EmptyDirVolumeSource{SizeLimit: &limit}},
		},
		Containers: []api.Container{ctr("a", nil, rl("ephemeral-storage", "2Mi")), ctr("b", nil, nil)},
	}
	if !WatchesLocalStorage(&spec) {
		t.Error("WatchesLocalStorage = false")
	}
	if WatchesLocalStorage(&api.PodSpec{Containers: []api.Container{ctr("a", nil, nil)}}) {
		t.Error("WatchesLocalStorage = true for a pod without limits")
	}
	tests := []struct {
		name string
		u    LocalStorageUsage
		want string
	}{
		{name: "within", u: LocalStorageUsage{EmptyDirs: map[string]int64{"cache": 1 << 20}, Containers: map[string]int64{"a": 2 << 20}, Pod: 2 << 20}},
		{name: "emptyDir", u: LocalStorageUsage{EmptyDirs: map[string]int64{"cache": 1<<20 + 1}},
			want: `Usage of EmptyDir volume "cache" exceeds the limit "1Mi". `},
		{name: "pod total", u: LocalStorageUsage{Pod: 3 << 20},
			want: "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. "},
		{name: "container", u: LocalStorageUsage{Containers: map[string]int64{"a": 2<<20 + 1}, Pod: 2 << 20},
			want: `Container a exceeded its local ephemeral storage limit "2Mi". `},
	}
	for _, tt := range tests {
		got, ok := LocalStorageEviction(&spec, tt.u)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: LocalStorageEviction = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
}
