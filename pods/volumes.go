package pods

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/volume"
)

// VolumeUsers returns, by "namespace/claim", the names of the pods that use each named
// volume: the pods whose record claims it and whose resources are not released yet (a pod
// being created, running, stopping, or whose monitor died without tearing down). A finished
// pod kept with --rm=false uses nothing.
func VolumeUsers(cfg state.Config) (map[string][]string, error) {
	entries, err := os.ReadDir(cfg.PodsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	users := map[string][]string{}
	for _, e := range entries {
		dir := filepath.Join(cfg.PodsDir(), e.Name())
		if state.TornDown(dir) {
			continue
		}
		rec, err := state.ReadRecord(dir)
		if err != nil {
			continue // no record yet: nothing of it exists; its monitor binds claims later
		}
		p := &rec.Pod
		for _, v := range p.Spec.Volumes {
			if c := v.PersistentVolumeClaim; c != nil {
				key := p.Metadata.Namespace + "/" + c.ClaimName
				if !slices.Contains(users[key], p.Metadata.Name) {
					users[key] = append(users[key], p.Metadata.Name)
				}
			}
		}
	}
	for _, u := range users {
		slices.Sort(u)
	}
	return users, nil
}

// VolumeInUseError is a named volume that a pod still uses.
type VolumeInUseError struct {
	Name string
	Pods []string
}

func (e *VolumeInUseError) Error() string {
	q := make([]string, len(e.Pods))
	for i, p := range e.Pods {
		q[i] = fmt.Sprintf("%q", p)
	}
	word := "pod"
	if len(q) > 1 {
		word = "pods"
	}
	return fmt.Sprintf("volume %q is in use by %s %s: delete the %s first", e.Name, word, strings.Join(q, ", "), word)
}

// DeleteVolume deletes a named volume and its content, unless a pod uses it (a
// *VolumeInUseError naming them), as `podman volume rm` refuses a volume in use. The check
// and the removal hold the volume store's lock, which a pod's monitor also takes to bind
// its claims: a pod recorded before the check is seen by it, one recorded after it finds
// the volume gone and gets a new one.
func DeleteVolume(cfg state.Config, namespace, name string) error {
	claims := volume.Claims{Dir: cfg.VolumesDir()}
	return claims.Delete(namespace, name, func() error {
		users, err := VolumeUsers(cfg)
		if err != nil {
			return fmt.Errorf("delete volume %s/%s: %w", namespace, name, err)
		}
		if pods := users[namespace+"/"+name]; len(pods) > 0 {
			return &VolumeInUseError{Name: name, Pods: pods}
		}
		return nil
	})
}
