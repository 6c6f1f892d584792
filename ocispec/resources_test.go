package ocispec

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

func TestResources(t *testing.T) {
	q := resource.MustParse
	res := func(req, lim api.ResourceList) api.ResourceRequirements {
		return api.ResourceRequirements{Requests: req, Limits: lim}
	}
	v1 := Host{MemoryCapacity: 1000 << 20, OOMScoreAdjMin: -1000, SwapController: true}
	v2 := Host{MemoryCapacity: 1000 << 20, OOMScoreAdjMin: -1000, CgroupV2: true, SwapController: true}
	tests := []struct {
		name string
		res  api.ResourceRequirements
		host Host
		want string // linux.resources as JSON
		adj  int
	}{
		{name: "best effort: minimal shares, no limits, no CFS period written", host: v1,
			want: `{"cpu":{"shares":2}}`, adj: 1000},
		{name: "burstable: shares from the request, quota and memory from the limits, swap off", host: v1,
			res:  res(api.ResourceList{"cpu": q("500m"), "memory": q("100Mi")}, api.ResourceList{"cpu": q("1"), "memory": q("200Mi")}),
			want: `{"memory":{"limit":209715200,"swap":209715200},"cpu":{"shares":512,"quota":100000,"period":100000}}`, adj: 900},
		{name: "guaranteed", host: v1,
			res:  res(api.ResourceList{"cpu": q("700m"), "memory": q("200Mi")}, api.ResourceList{"cpu": q("700m"), "memory": q("200Mi")}),
			want: `{"memory":{"limit":209715200,"swap":209715200},"cpu":{"shares":716,"quota":70000,"period":100000}}`, adj: -997},
		{name: "no swap controller: no swap limit", host: Host{MemoryCapacity: 1000 << 20, OOMScoreAdjMin: -1000},
			res:  res(api.ResourceList{"memory": q("64Mi")}, api.ResourceList{"memory": q("64Mi")}),
			want: `{"memory":{"limit":67108864},"cpu":{"shares":2}}`, adj: 936},
		{name: "cgroup v2: swap.max 0 and oom.group", host: v2,
			res:  res(api.ResourceList{"memory": q("64Mi")}, api.ResourceList{"memory": q("64Mi")}),
			want: `{"memory":{"limit":67108864,"swap":67108864},"cpu":{"shares":2},"unified":{"memory.oom.group":"1","memory.swap.max":"0"}}`, adj: 936},
		{name: "oom_score_adj not below what this process may set", host: Host{MemoryCapacity: 1000 << 20},
			res:  res(api.ResourceList{"cpu": q("1"), "memory": q("1Gi")}, api.ResourceList{"cpu": q("1"), "memory": q("1Gi")}),
			want: `{"memory":{"limit":1073741824},"cpu":{"shares":1024,"quota":100000,"period":100000}}`, adj: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := api.Container{Name: "c", Command: []string{"true"}, Resources: tt.res}
			s, err := Generate(&Input{Pod: &api.Pod{Spec: api.PodSpec{Containers: []api.Container{c}}}, Container: &c, Cgroup: "p/c", Host: tt.host})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(s.Linux.Resources)
			if string(b) != tt.want {
				t.Errorf("linux.resources = %s\nwant              %s", b, tt.want)
			}
			if s.Process.OOMScoreAdj == nil || *s.Process.OOMScoreAdj != tt.adj {
				t.Errorf("oomScoreAdj = %v, want %d", s.Process.OOMScoreAdj, tt.adj)
			}
		})
	}
}
