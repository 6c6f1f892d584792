package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/state"
)

// InstancePaths locates what the container instance id of the pod owns.
func InstancePaths(rec *state.Record, id string) container.Paths {
	return container.Paths{
		StateRoot: rec.Config.ContainersDir(),
		StateFile: filepath.Join(rec.PodDir(), state.InstancesDir, id+".json"),
		Dir:       filepath.Join(rec.DataDir(), "containers", id),
	}
}

// releaseInstances releases every container instance of the pod, whoever created it: those
// with a state file, and those libcontainer knows of (created before their state was written).
func releaseInstances(rec *state.Record) error {
	ids := map[string]bool{}
	states, _ := os.ReadDir(filepath.Join(rec.PodDir(), state.InstancesDir))
	for _, e := range states {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			ids[id] = true
		}
	}
	lcs, _ := os.ReadDir(rec.Config.ContainersDir())
	for _, e := range lcs {
		if uid, _, _, ok := state.ParseContainerID(e.Name()); ok && uid == rec.UID() {
			ids[e.Name()] = true
		}
	}
	var errs []error
	for id := range ids {
		if err := container.Release(InstancePaths(rec, id), id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
