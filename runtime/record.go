package runtime

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// Record is the first thing persisted for a pod, before any namespace, address or mount
// exists, so that whoever finds it later (after a crash) knows what to release.
type Record struct {
	Config Config  `json:"config"`
	Pod    api.Pod `json:"pod"`
}

// Files in a pod's state directory.
const (
	recordFile      = "record.json"
	statusFile      = "status.json"
	lockFile        = "monitor.lock" // flock held by the monitor for its whole life
	pidFile         = "monitor.pid"
	monitorLog      = "monitor.log"
	tornDownFile    = "torn-down"    // the monitor released every resource of the pod
	gracePeriodFile = "grace-period" // a delete's grace period override, read on SIGTERM
)

func podKey(namespace, name string) string { return namespace + "_" + name }

// PodDir is the state directory of a pod.
func (c Config) PodDir(namespace, name string) string {
	return filepath.Join(c.podsDir(), podKey(namespace, name))
}

// StatusPath is where a pod's status (a v1 Pod object) lives.
func (c Config) StatusPath(namespace, name string) string {
	return filepath.Join(c.PodDir(namespace, name), statusFile)
}

func (r *Record) uid() string { return r.Pod.Metadata.UID }

// dataDir holds the pod's overlay layers, volumes and generated /etc files.
func (r *Record) dataDir() string { return filepath.Join(r.Config.podDataRoot(), r.uid()) }

// logDir follows the kubelet's /var/log/pods/<namespace>_<name>_<uid> convention.
func (r *Record) logDir() string {
	m := r.Pod.Metadata
	return filepath.Join(r.Config.LogDir, "pods", m.Namespace+"_"+m.Name+"_"+m.UID)
}

// sandboxID names the pod's network sandbox: the uid as plain hex.
func (r *Record) sandboxID() string { return sandboxID(r.uid()) }

func sandboxID(uid string) string { return strings.ReplaceAll(uid, "-", "") }

func (r *Record) podDir() string {
	return r.Config.PodDir(r.Pod.Metadata.Namespace, r.Pod.Metadata.Name)
}

// containerID is the libcontainer id of one container of the pod; unique across pods.
func (r *Record) containerID(name string) string { return r.uid() + "-" + name }

func (r *Record) cgroupPath() string { return r.Config.CgroupParent + "/pod" + r.uid() }

func readRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, recordFile), err)
	}
	return &r, nil
}

// writeFileAtomic writes data to a temporary file and renames it into place, so a reader
// sees the old or the new content, never a torn file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// newUID returns a random RFC 4122 version 4 UUID, the form Kubernetes uses for metadata.uid.
func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// monitorAlive reports whether a monitor holds the pod's lock.
func monitorAlive(dir string) bool {
	f, err := os.Open(filepath.Join(dir, lockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
