package kubeprint

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

// Environment sources and configuration volumes, in kubectl's words.
func TestDescribeConfig(t *testing.T) {
	yes := true
	p := &api.Pod{
		Metadata: api.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: api.PodSpec{
			Containers: []api.Container{{
				Name: "c", Image: "busybox",
				Resources: api.ResourceRequirements{Limits: api.ResourceList{"memory": resource.MustParse("64Mi")}},
				EnvFrom: []api.EnvFromSource{
					{ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "cm"}}},
					{Prefix: "S_", SecretRef: &api.SecretEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "s"}, Optional: &yes}},
				},
				Env: []api.EnvVar{
					{Name: "PLAIN", Value: "v"},
					{Name: "NAME", ValueFrom: &api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
					{Name: "MEM", ValueFrom: &api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "limits.memory"}}},
					{Name: "CPU", ValueFrom: &api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "limits.cpu"}}},
					{Name: "K", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "cm"}, Key: "k"}}},
					{Name: "PW", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "s"}, Key: "pw", Optional: &yes}}},
				},
			}},
			Volumes: []api.Volume{
				{Name: "cm", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cm"}}},
				{Name: "sec", Secret: &api.SecretVolumeSource{SecretName: "s", Optional: &yes}},
				{Name: "info", DownwardAPI: &api.DownwardAPIVolumeSource{Items: []api.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &api.ObjectFieldSelector{FieldPath: "metadata.labels"}},
					{Path: "mem", ResourceFieldRef: &api.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory"}}}}},
				{Name: "all", Projected: &api.ProjectedVolumeSource{Sources: []api.VolumeProjection{
					{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "s"}}},
					{DownwardAPI: &api.DownwardAPIProjection{}},
					{ConfigMap: &api.ConfigMapProjection{LocalObjectReference: api.LocalObjectReference{Name: "cm"}, Optional: &yes}}}}},
			},
		},
	}
	var b bytes.Buffer
	if err := Describe(&b, p, nil, DescribeOptions{Now: time.Now(), Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"    Environment Variables from:\n      cm  ConfigMap                Optional: false\n      s   Secret with prefix 'S_'  Optional: true\n",
		"    Environment:\n      PLAIN:  v\n      NAME:   p (v1:metadata.name)\n      MEM:    67108864 (limits.memory)\n      CPU:    node allocatable (limits.cpu)\n",
		"      K:      <set to the key 'k' of config map 'cm'>  Optional: false\n      PW:     <set to the key 'pw' in secret 's'>      Optional: true\n",
		"  cm:\n    Type:      ConfigMap (a volume populated by a ConfigMap)\n    Name:      cm\n    Optional:  false\n",
		"  sec:\n    Type:        Secret (a volume populated by a Secret)\n    SecretName:  s\n    Optional:    true\n",
		"  info:\n    Type:  DownwardAPI (a volume populated by information about the pod)\n    Items:\n      metadata.labels -> labels\n      limits.memory -> mem\n",
		"  all:\n    Type:           Projected (a volume that contains injected data from multiple sources)\n    SecretName:     s\n    Optional:       <nil>\n    DownwardAPI:    true\n    ConfigMapName:  cm\n    Optional:       true\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks\n%s\nin\n%s", want, out)
		}
	}
}
