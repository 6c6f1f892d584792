package pods

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/volume"
)

// recordPod writes a pod's record as Create does; tornDown marks it released.
func recordPod(t *testing.T, cfg state.Config, ns, name string, tornDown bool, claims ...string) {
	t.Helper()
	p := api.Pod{Metadata: api.ObjectMeta{Name: name, Namespace: ns, UID: state.NewUID()}}
	for i, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, api.Volume{Name: "v" + string(rune('a'+i)), PersistentVolumeClaim: &api.PersistentVolumeClaimVolumeSource{ClaimName: c}})
	}
	dir := cfg.PodDir(ns, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, state.RecordFile), &state.Record{Config: cfg, Pod: p}, 0o600); err != nil {
		t.Fatal(err)
	}
	if tornDown {
		if err := os.WriteFile(filepath.Join(dir, state.TornDownFile), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVolumeUsersAndDelete(t *testing.T) {
	base := t.TempDir()
	cfg := state.Config{StateDir: filepath.Join(base, "state"), Root: filepath.Join(base, "root")}
	claims := volume.Claims{Dir: cfg.VolumesDir()}
	for _, k := range [][2]string{{"default", "data"}, {"default", "logs"}, {"other", "data"}, {"default", "free"}} {
		if _, err := claims.Ensure(k[0], k[1]); err != nil {
			t.Fatal(err)
		}
	}
	recordPod(t, cfg, "default", "web", false, "data", "logs")
	recordPod(t, cfg, "default", "api", false, "data", "data")
	recordPod(t, cfg, "default", "done", true, "free") // finished: uses nothing
	recordPod(t, cfg, "other", "web", false, "data")
	if err := os.MkdirAll(cfg.PodDir("default", "creating"), 0o700); err != nil { // no record yet
		t.Fatal(err)
	}
	users, err := VolumeUsers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"default/data": {"api", "web"}, "default/logs": {"web"}, "other/data": {"web"}}
	if len(users) != len(want) {
		t.Errorf("VolumeUsers = %v, want %v", users, want)
	}
	for k, w := range want {
		if !slices.Equal(users[k], w) {
			t.Errorf("users of %s = %v, want %v", k, users[k], w)
		}
	}

	err = DeleteVolume(cfg, "default", "data")
	var inUse *VolumeInUseError
	if !errors.As(err, &inUse) || err.Error() != `volume "data" is in use by pods "api", "web": delete the pods first` {
		t.Errorf("DeleteVolume in use = %v", err)
	}
	if err := DeleteVolume(cfg, "default", "logs"); err == nil || err.Error() != `volume "logs" is in use by pod "web": delete the pod first` {
		t.Errorf("DeleteVolume in use = %v", err)
	}
	if err := DeleteVolume(cfg, "default", "free"); err != nil {
		t.Errorf("DeleteVolume of a volume only a finished pod used: %v", err)
	}
	if err := DeleteVolume(cfg, "default", "free"); !errors.Is(err, volume.ErrClaimNotFound) {
		t.Errorf("DeleteVolume of a missing volume: %v", err)
	}
	if l, _ := claims.List(); len(l) != 3 {
		t.Errorf("volumes left: %d, want 3", len(l))
	}
}
