package kubeprint

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

func TestDescribeStorageVolumes(t *testing.T) {
	p := &api.Pod{
		Metadata: api.ObjectMeta{Name: "x", Namespace: "default"},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "img"}}, Volumes: []api.Volume{
			{Name: "data", PersistentVolumeClaim: &api.PersistentVolumeClaimVolumeSource{ClaimName: "db", ReadOnly: true}},
			{Name: "tools", Image: &api.ImageVolumeSource{Reference: "localhost/tools:1", PullPolicy: api.PullIfNotPresent}},
		}},
	}
	var buf bytes.Buffer
	if err := Describe(&buf, p, nil, DescribeOptions{Now: time.Now(), Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	want := `Volumes:
  data:
    Type:       PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)
    ClaimName:  db
    ReadOnly:   true
  tools:
    Type:        Image (a container image or OCI artifact)
    Reference:   localhost/tools:1
    PullPolicy:  IfNotPresent
`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("describe:\n%s\nwant the volumes\n%s", buf.String(), want)
	}
}
