// Package container is the mechanism of one container instance (one attempt of one
// container of a pod): its verbs, one file each (create, start, signal, wait, exec, delete),
// and its state, persisted on every change so that another process can read it. It knows
// nothing of pods or restart policies; the monitor decides when to call which verb.
//
// An instance owns, and releases in delete.go whatever happened before: its copy-on-write
// root filesystem (rootfs.go), its libcontainer container with its cgroup, its log file
// handle and its state file.
package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/atomicfile"
)

// Status is where an instance is in its life.
type Status string

const (
	Created Status = "created" // its process exists, stopped before the user's program
	Running Status = "running"
	Exited  Status = "exited" // its process is gone; the instance stays until deleted
)

// ErrWrongState is returned by a verb that the instance's status does not allow.
var ErrWrongState = errors.New("wrong state")

// State is an instance's persisted state.
type State struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Attempt    int32     `json:"attempt"`
	Status     Status    `json:"status"`
	Pid        int       `json:"pid,omitempty"`
	LogPath    string    `json:"logPath"`
	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Exit       *Exit     `json:"exit,omitempty"`
}

// Exit is how an instance's process ended.
type Exit struct {
	Code      int32 `json:"code"`   // 128+N for death by signal N, as runtimes report it
	Signal    int32 `json:"signal"` // the signal that killed it, or 0
	OOMKilled bool  `json:"oomKilled,omitempty"`
}

// Paths locate what an instance owns on the host. They derive from its ID, so that a
// process that finds the ID alone (garbage collection) can release the instance.
type Paths struct {
	StateRoot string // libcontainer's state root, shared by all instances
	StateFile string // the instance's persisted State
	Dir       string // the instance's own data: its root filesystem layers
}

// Config describes an instance to create.
type Config struct {
	Paths
	ID      string // unique, also the libcontainer ID
	Name    string
	Attempt int32
	// Layers are the image's unpacked layers, bottom first.
	Layers  []string
	LogPath string
	// LogMaxSize and LogMaxFiles rotate the log as the kubelet's containerLogMaxSize and
	// containerLogMaxFiles do.
	LogMaxSize  int64
	LogMaxFiles int
	// Spec returns the OCI spec once the root filesystem is mounted at rootfs, so that the
	// caller can read the image's /etc/passwd from it.
	Spec func(rootfs string) (*specs.Spec, error)
	// Stdin keeps the main process's input open for attached clients; StdinOnce closes it
	// when the first attachment ends; TTY gives the process a terminal.
	Stdin, StdinOnce, TTY bool
}

// Instance is one created container instance.
type Instance struct {
	cfg  Config
	spec *specs.Process // the process as specified, for exec

	lc     *libcontainer.Container
	proc   *libcontainer.Process
	stdio  *stdio
	exited chan struct{} // closed once the process is reaped and the exit recorded
	reaped chan struct{} // closed once the process is reaped, before the instance's cleanup
	// starting is held by Start while libcontainer lets the process exec, and by reap
	// before it destroys the libcontainer container: a process that dies right after
	// Create (a seccomp profile refusing what runc needs) must not be destroyed under Exec.
	starting sync.Mutex

	mu    sync.Mutex
	state State
}

// ID is the instance's ID.
func (i *Instance) ID() string { return i.cfg.ID }

// State returns a copy of the instance's current state.
func (i *Instance) State() State {
	i.mu.Lock()
	defer i.mu.Unlock()
	s := i.state
	if s.Exit != nil {
		e := *s.Exit
		s.Exit = &e
	}
	return s
}

// update changes the state under the lock and persists it.
func (i *Instance) update(change func(*State)) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	change(&i.state)
	return atomicfile.WriteJSON(i.cfg.StateFile, &i.state, 0o600)
}

// ReadState reads the persisted state of an instance.
func ReadState(path string) (*State, error) {
	var s State
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &s, nil
}

// exitOf converts a wait status to the exit a runtime reports: 128+N for death by signal N.
func exitOf(ps *os.ProcessState) *Exit {
	if ps == nil {
		return &Exit{Code: 255}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return &Exit{Code: int32(ps.ExitCode())}
	case ws.Signaled():
		return &Exit{Code: 128 + int32(ws.Signal()), Signal: int32(ws.Signal())}
	}
	return &Exit{Code: int32(ws.ExitStatus())}
}
