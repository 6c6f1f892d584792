package pods

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// MonitorState is where a pod's monitor is in its life, as the pod's files tell.
type MonitorState int

const (
	MonitorStarting MonitorState = iota // the pod is being created
	MonitorRunning                      // the monitor holds the pod's lock
	MonitorEnded                        // it released everything and exited
	MonitorDied                         // it exited without tearing the pod down
	PodGone                             // the pod directory is gone
)

func (s MonitorState) String() string {
	switch s {
	case MonitorStarting:
		return "starting"
	case MonitorRunning:
		return "running"
	case MonitorEnded:
		return "ended"
	case MonitorDied:
		return "died"
	}
	return "gone"
}

// MonitorStateOf reads the pod directory's liveness files. The lock is taken before the
// status file is first written and held by the monitor for its whole life, so a status
// without a lock holder is a monitor that is gone.
func MonitorStateOf(dir string) MonitorState {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return PodGone
	}
	return monitorStateOf(dir)
}

// monitorStateOf is MonitorStateOf for a pod directory known to exist.
func monitorStateOf(dir string) MonitorState {
	if state.MonitorAlive(dir) {
		return MonitorRunning
	}
	if _, err := os.Lstat(filepath.Join(dir, state.StatusFile)); err != nil {
		return MonitorStarting
	}
	if state.TornDown(dir) {
		return MonitorEnded
	}
	if _, err := os.Lstat(filepath.Join(dir, state.PIDFile)); err != nil {
		// It never got as far as starting anything.
		return MonitorEnded
	}
	return MonitorDied
}

// ErrMonitorDied is what a client reports when a pod's monitor vanished under it.
func ErrMonitorDied(name string) error {
	return fmt.Errorf("the monitor of pod %s exited unexpectedly; its containers are no longer supervised (minipod delete pod %s cleans up)", name, name)
}

// Get returns a pod's status. A pod whose monitor died without tearing down is Unknown,
// Kubernetes' phase for a pod whose state cannot be obtained; a pod being created, which has
// no status yet, does not exist yet.
func Get(cfg state.Config, namespace, name string) (*api.Pod, error) {
	dir := cfg.PodDir(namespace, name)
	p, err := state.ReadStatus(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pod %s/%s: %w", namespace, name, ErrPodNotFound)
	}
	if err != nil {
		return nil, err
	}
	MarkUnknown(dir, p)
	return p, nil
}

// MarkUnknown applies Get's rule to a status read from the pod directory dir.
func MarkUnknown(dir string, p *api.Pod) {
	if MonitorStateOf(dir) == MonitorDied {
		p.Status.Phase = api.PodUnknown
	}
}
