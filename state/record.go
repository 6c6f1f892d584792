package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
)

// Record is the first thing persisted for a pod, before any namespace, address or mount
// exists, so that whoever finds it later (after a crash) knows what to release.
type Record struct {
	Config Config  `json:"config"`
	Pod    api.Pod `json:"pod"`
}

// Files in a pod's state directory.
const (
	RecordFile   = "record.json"
	StatusFile   = "status.json"    // the pod as a v1 Pod object with its status, replaced atomically
	EventsFile   = "events.jsonl"   // the pod's events, one JSON object a line
	ImagesFile   = "images.json"    // image IDs and layer dirs in use, for image rm/prune
	LockFile     = "monitor.lock"   // flock held by the monitor for its whole life
	PIDFile      = "monitor.pid"    // the monitor's pid, for signals
	MonitorLog   = "monitor.log"    // the monitor's own log
	TornDownFile = "torn-down"      // the monitor released every resource of the pod
	StopFile     = "stop-requested" // a delete's request, with its grace period if any
	InstancesDir = "containers"     // one state file per container instance, by container ID
)

// UID is the pod's uid.
func (r *Record) UID() string { return r.Pod.Metadata.UID }

// PodDir is the pod's state directory.
func (r *Record) PodDir() string {
	return r.Config.PodDir(r.Pod.Metadata.Namespace, r.Pod.Metadata.Name)
}

// DataDir holds the pod's container root filesystems, volumes and generated /etc files.
func (r *Record) DataDir() string { return filepath.Join(r.Config.PodDataRoot(), r.UID()) }

// NamespacesDir holds the pod's pinned IPC and UTS namespaces.
func (r *Record) NamespacesDir() string { return filepath.Join(r.Config.NamespacesDir(), r.UID()) }

// LogDir is where the pod's container logs go, a directory per container.
func (r *Record) LogDir() string {
	m := r.Pod.Metadata
	return filepath.Join(r.Config.PodLogsDir(), LogDirName(m.Namespace, m.Name, m.UID))
}

// LogFile is the log of one instance of a container: <restartCount>.log, as the kubelet names it.
func (r *Record) LogFile(container string, restartCount int32) string {
	return filepath.Join(r.LogDir(), container, fmt.Sprintf("%d.log", restartCount))
}

// SandboxID names the pod's network sandbox.
func (r *Record) SandboxID() string { return SandboxID(r.UID()) }

// CgroupPath is the pod's cgroup, relative to the cgroup root(s); containers get one below.
func (r *Record) CgroupPath() string { return r.Config.CgroupParent + "/pod" + r.UID() }

// ContainerID names one instance of one of the pod's containers.
func (r *Record) ContainerID(name string, attempt int32) string {
	return ContainerID(r.UID(), name, attempt)
}

// ReadRecord reads the record in a pod's state directory.
func ReadRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, RecordFile), err)
	}
	return &r, nil
}

// ReadStatus reads the status file in a pod's state directory.
func ReadStatus(dir string) (*api.Pod, error) {
	b, err := ReadStatusBytes(dir)
	if err != nil {
		return nil, err
	}
	var p api.Pod
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, StatusFile), err)
	}
	return &p, nil
}

// MonitorAlive reports whether a monitor holds the lock of the pod whose state directory is
// dir. The lock, not a pid, decides: it goes with the process however it ends.
func MonitorAlive(dir string) bool {
	// Plain system calls: listing 1,000 pods asks this 1,000 times, and an *os.File costs
	// several more calls (poller registration) for a file that is only locked.
	fd, err := unix.Open(filepath.Join(dir, LockFile), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd) // releases the lock if it was granted
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK)
}

// ReadStatusBytes returns the status file of the pod whose state directory is dir, undecoded.
func ReadStatusBytes(dir string) ([]byte, error) {
	return readSmallFile(filepath.Join(dir, StatusFile), nil)
}

// AppendStatusBytes is ReadStatusBytes appending to buf: a listing of many pods reuses one
// buffer rather than allocating one per status.
func AppendStatusBytes(dir string, buf []byte) ([]byte, error) {
	return readSmallFile(filepath.Join(dir, StatusFile), buf)
}

// readSmallFile appends a file of a few KiB (a status) to b with three system calls where
// os.ReadFile makes about eight: `get pods` reads one per pod.
func readSmallFile(path string, b []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if b == nil {
		b = make([]byte, 0, 8<<10)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// WriteMonitorPID records the calling process as the pod's monitor; MonitorPID reads it.
func WriteMonitorPID(dir string) error {
	return atomicfile.Write(filepath.Join(dir, PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// MonitorPID is the pid the pod's monitor recorded (whether it still runs is MonitorAlive's
// question).
func MonitorPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, PIDFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("read %s: not a pid: %q", filepath.Join(dir, PIDFile), b)
	}
	return pid, nil
}

// TornDown reports whether every host resource of the pod has been released.
func TornDown(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, TornDownFile))
	return err == nil
}

// StopRequest is what a command asks of a pod's monitor: stop the pod, with a grace period
// overriding the pod's if not nil, and remove it afterwards (a delete) or keep its status
// and logs (a foreground run stopped with Ctrl-C and --rm=false).
type StopRequest struct {
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds,omitempty"`
	Remove             bool   `json:"remove,omitempty"`
}

// RequestStop records a stop request in the pod's directory. A monitor that starts later
// honours it before creating anything; one already running is also told through its socket.
// A request that removes is not weakened by a later one that does not.
func RequestStop(dir string, req StopRequest) error {
	if prev, ok := ReadStopRequest(dir); ok && prev.Remove {
		req.Remove = true
	}
	return atomicfile.WriteJSON(filepath.Join(dir, StopFile), &req, 0o600)
}

// ReadStopRequest reads the pod's stop request, if any.
func ReadStopRequest(dir string) (StopRequest, bool) {
	var req StopRequest
	b, err := os.ReadFile(filepath.Join(dir, StopFile))
	if err != nil || json.Unmarshal(b, &req) != nil {
		return StopRequest{}, false
	}
	return req, true
}
