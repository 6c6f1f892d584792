package pods

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/minipod/minipod/state"
)

// ImagesInUse returns whether an image ID or layer directory is used by a pod on this host:
// one whose resources are not released yet (its monitor runs, or died without tearing down).
func ImagesInUse(cfg state.Config) (func(imageID string) bool, error) {
	entries, err := os.ReadDir(cfg.PodsDir())
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	used := map[string]bool{}
	for _, e := range entries {
		dir := filepath.Join(cfg.PodsDir(), e.Name())
		if state.TornDown(dir) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, state.ImagesFile))
		if err != nil {
			continue
		}
		var ids []string
		if json.Unmarshal(b, &ids) == nil {
			for _, id := range ids {
				used[id] = true
			}
		}
	}
	return func(id string) bool { return used[id] }, nil
}
