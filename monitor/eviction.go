package monitor

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/monitor/phase"
	"github.com/minipod/minipod/resources"
	"github.com/minipod/minipod/sandbox"
)

// The kubelet's eviction manager checks every 10 s (monitoringInterval) and gives an evicted
// pod 1 s to stop (immediateEvictionGracePeriodSeconds, pkg/kubelet/eviction).
const (
	evictionInterval = 10 * time.Second
	evictionGrace    = time.Second
)

// watchLocalStorage enforces the pod's local storage limits as the kubelet's eviction manager
// does (localStorageEviction): a disk-backed emptyDir over its sizeLimit, or the pod or a
// container over its ephemeral-storage limit, evicts the pod. A pod without such limits costs
// nothing; one with them has a single timer, whose check walks its directories in turn.
// stop ends the checks.
func (m *monitor) watchLocalStorage() (stop func()) {
	if !resources.WatchesLocalStorage(&m.pod.Spec) {
		return func() {}
	}
	var t *time.Timer
	t = time.AfterFunc(evictionInterval, func() {
		select {
		case <-m.stopc:
			return
		case <-m.sandboxDone:
		default:
			t.Reset(evictionInterval) // nothing on disk yet
			return
		}
		if m.sandboxErr != nil {
			return
		}
		if msg, ok := resources.LocalStorageEviction(&m.pod.Spec, m.localStorageUsage()); ok {
			m.evict(msg)
			return
		}
		select {
		case <-m.stopc:
		default:
			t.Reset(evictionInterval)
		}
	})
	return func() { t.Stop() }
}

// localStorageUsage measures what the pod's local storage holds: each disk-backed emptyDir,
// and each running container's writable layer and logs.
func (m *monitor) localStorageUsage() resources.LocalStorageUsage {
	u := resources.LocalStorageUsage{EmptyDirs: map[string]int64{}, Containers: map[string]int64{}}
	for _, v := range m.pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium == api.StorageMediumMemory {
			continue
		}
		if dir, ok := m.sb.Volumes[v.Name]; ok {
			n := diskUsage(dir)
			u.EmptyDirs[v.Name] = n
			u.Pod += n
		}
	}
	type running struct{ name, id string }
	var rs []running
	m.mu.Lock()
	for _, w := range m.allWorkersLocked() {
		if w.inst != nil {
			rs = append(rs, running{w.c.Name, w.inst.ID()})
		}
	}
	m.mu.Unlock()
	for _, r := range rs {
		n := diskUsage(container.UpperDir(sandbox.InstancePaths(m.rec, r.id).Dir)) + diskUsage(filepath.Join(m.rec.LogDir(), r.name))
		u.Containers[r.name] = n
		u.Pod += n
	}
	return u
}

// evict fails the pod for its local storage and stops it quickly, as the eviction manager's
// evictPod does: a Warning event Evicted with the message, phase Failed, reason Evicted.
func (m *monitor) evict(msg string) {
	m.mu.Lock()
	if m.stopping || phase.Terminal(m.pod.Status.Phase) {
		m.mu.Unlock()
		return
	}
	m.event(nil, api.EventWarning, resources.EvictedReason, msg)
	st := &m.pod.Status
	st.Phase, st.Reason, st.Message = api.PodFailed, resources.EvictedReason, msg
	m.updateLocked()
	m.mu.Unlock()
	m.log.Info("evicted", "message", msg)
	m.stop(evictionGrace, false)
}

// diskUsage is what du -s -x reports for dir, in bytes: the blocks of every file below it,
// each hard-linked file once, not crossing into other filesystems (tmpfs subPaths, mounts).
func diskUsage(dir string) int64 {
	var root syscall.Stat_t
	if err := syscall.Lstat(dir, &root); err != nil {
		return 0
	}
	var total int64
	seen := map[uint64]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil {
			return nil
		}
		if st.Dev != root.Dev {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += st.Blocks * 512
		return nil
	})
	return total
}
