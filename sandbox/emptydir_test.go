package sandbox

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

func TestSizedVolumes(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	limited := api.Container{Name: "c", Resources: api.ResourceRequirements{
		Requests: api.ResourceList{"memory": resource.MustParse("64Mi")}, Limits: api.ResourceList{"memory": resource.MustParse("64Mi")}}}
	tests := []struct {
		name   string
		size   *resource.Quantity
		ctr    api.Container
		medium api.StorageMedium
		want   string // the tmpfs size; "" for none
	}{
		{name: "memory: allocatable when nothing is smaller", medium: api.StorageMediumMemory, ctr: api.Container{Name: "c"}, want: "1Gi"},
		{name: "memory: the pod's memory limit", medium: api.StorageMediumMemory, ctr: limited, want: "64Mi"},
		{name: "memory: the sizeLimit when smaller", medium: api.StorageMediumMemory, ctr: limited, size: q("1Mi"), want: "1Mi"},
		{name: "memory: not above the pod's limit", medium: api.StorageMediumMemory, ctr: limited, size: q("1Gi"), want: "64Mi"},
		{name: "disk: left alone", ctr: limited, size: q("5Mi"), want: "5Mi"},
	}
	for _, tt := range tests {
		spec := api.PodSpec{
			Containers: []api.Container{tt.ctr},
			Volumes:    []api.Volume{{Name: "v", EmptyDir: &api.EmptyDirVolumeSource{Medium: tt.medium, SizeLimit: tt.size}}},
		}
		got := sizedVolumes(&spec, 1<<30)[0].EmptyDir.SizeLimit
		if s := ""; got != nil {
			s = got.String()
			if s != tt.want {
				t.Errorf("%s: size %s, want %s", tt.name, s, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("%s: no size, want %s", tt.name, tt.want)
		}
		if spec.Volumes[0].EmptyDir.SizeLimit != tt.size {
			t.Errorf("%s: the pod's spec was modified", tt.name)
		}
	}
}
