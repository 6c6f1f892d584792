package sandbox

import (
	"fmt"

	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/volume"
)

// bindClaims adds the named volume of each persistentVolumeClaim of the pod to its volume
// sources, creating the volumes not made yet (what `podman kube play` does). The volumes
// outlive the pod: nothing of them is released with it.
func bindClaims(rec *state.Record, src volume.Sources) error {
	claims := volume.Claims{Dir: rec.Config.VolumesDir()}
	for i, v := range rec.Pod.Spec.Volumes {
		c := v.PersistentVolumeClaim
		if c == nil {
			continue
		}
		p, err := claims.Ensure(rec.Pod.Metadata.Namespace, c.ClaimName)
		if err != nil {
			return fmt.Errorf("spec.volumes[%d].persistentVolumeClaim: %w", i, err)
		}
		src[v.Name] = p
	}
	return nil
}
