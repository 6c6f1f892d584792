package main

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/volume"
)

func TestVolumeCells(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	created := api.NewTime(now.Add(-90 * time.Second))
	declared := &volume.Claim{Path: "/v/default/db/_data"}
	declared.Metadata = api.ObjectMeta{Name: "db", Namespace: "default", CreationTimestamp: &created}
	declared.Status = api.PersistentVolumeClaimStatus{Phase: api.ClaimBound,
		AccessModes: []api.PersistentVolumeAccessMode{api.ReadWriteOncePod, api.ReadWriteOnce},
		Capacity:    api.ResourceList{"storage": resource.MustParse("1Gi")}}
	if got, want := volumeCells(declared, []string{"api", "web"}, now), []string{"db", "1Gi", "RWO,RWOP", "api,web", "90s"}; !slices.Equal(got, want) {
		t.Errorf("volumeCells = %q, want %q", got, want)
	}
	// Made on first use: nothing declared, nobody using it.
	bare := &volume.Claim{}
	bare.Metadata = api.ObjectMeta{Name: "cache", Namespace: "default", CreationTimestamp: &created}
	if got, want := volumeCells(bare, nil, now), []string{"cache", "", "", "<none>", "90s"}; !slices.Equal(got, want) {
		t.Errorf("volumeCells = %q, want %q", got, want)
	}
	// -o json/yaml: the claim with its host directory, the stored annotations untouched.
	declared.Metadata.Annotations = map[string]string{"a": "b"}
	pvc := asClaim(declared)
	if pvc.Metadata.Annotations[volumePathAnnotation] != "/v/default/db/_data" || pvc.Metadata.Annotations["a"] != "b" || len(declared.Metadata.Annotations) != 1 {
		t.Errorf("asClaim annotations %v (stored: %v)", pvc.Metadata.Annotations, declared.Metadata.Annotations)
	}
}
