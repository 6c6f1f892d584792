package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/netns"
)

// createPodCgroup creates the pod's parent cgroup (in every hierarchy the manager handles,
// v1 or v2) without moving any process into it; containers get cgroups below it.
func createPodCgroup(path string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return err
	}
	return m.Apply(-1)
}

func destroyPodCgroup(path string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return err
	}
	return m.Destroy()
}

// destroyContainer kills and removes a container by id, whoever started it. A container
// that does not exist is not an error.
func destroyContainer(root, id string) error {
	c, err := libcontainer.Load(root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil
		}
		// A state dir that cannot be loaded is removed so it does not block the id.
		return errors.Join(err, os.RemoveAll(filepath.Join(root, id)))
	}
	if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
		c.Signal(unix.SIGKILL)
		// Its parent (a dead monitor) cannot reap it; init does, promptly.
		for i := 0; i < 200; i++ {
			if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return c.Destroy()
}

// unmountUnder unmounts every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int { return len(b.Mountpoint) - len(a.Mountpoint) })
	var errs []error
	for _, mi := range mounts {
		if err := unix.Unmount(mi.Mountpoint, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mi.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}

// releasePod releases every resource a pod may hold, in reverse order of creation. Each
// step runs even when an earlier one fails, and none fails on what is already gone, so it
// serves both the monitor's own teardown and the clean-up after a monitor that died.
func releasePod(r *Record) error {
	var errs []error
	for _, c := range r.Pod.Spec.Containers {
		if err := destroyContainer(r.Config.containersDir(), r.containerID(c.Name)); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
		}
	}
	if err := unmountUnder(r.dataDir()); err != nil {
		errs = append(errs, err)
	} else if err := os.RemoveAll(r.dataDir()); err != nil {
		errs = append(errs, err)
	}
	nsDir := filepath.Join(r.Config.nsDir(), r.uid())
	for _, kind := range []string{"ipc", "uts"} {
		if err := unpin(filepath.Join(nsDir, kind)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(nsDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := netns.Teardown(r.Config.network(), r.sandboxID()); err != nil {
		errs = append(errs, fmt.Errorf("pod network: %w", err))
	}
	if err := destroyPodCgroup(r.cgroupPath()); err != nil {
		errs = append(errs, fmt.Errorf("pod cgroup: %w", err))
	}
	return errors.Join(errs...)
}

// orphanMinAge is how old a resource without a pod record must be before it is collected.
const orphanMinAge = time.Minute

// collectGarbage releases what dead monitors left behind: pods whose monitor died without
// tearing down, and resources (addresses, data dirs, pins, containers) of pods that no
// longer have a record at all, e.g. after a reboot emptied the state dir.
func collectGarbage(cfg Config) error {
	entries, err := os.ReadDir(cfg.podsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var errs []error
	live := map[string]bool{}
	for _, e := range entries {
		dir := filepath.Join(cfg.podsDir(), e.Name())
		rec, err := readRecord(dir)
		if err != nil {
			// A pod being created has no record for a moment: leave young ones alone.
			if fi, serr := os.Stat(dir); serr == nil && time.Since(fi.ModTime()) > time.Minute {
				errs = append(errs, fmt.Errorf("pod dir %s: %w", dir, err))
			}
			continue
		}
		live[rec.uid()] = true
		live[rec.sandboxID()] = true
		if monitorAlive(dir) || exists(filepath.Join(dir, tornDownFile)) {
			continue
		}
		if err := releaseDead(dir, rec); err != nil {
			errs = append(errs, err)
		}
	}
	// Resources of a pod are created after its record. One older than the cut-off without a
	// record seen above is an orphan; a younger one may belong to a pod created meanwhile.
	cutoff := time.Now().Add(-orphanMinAge)
	orphan := func(uid string, created time.Time) bool {
		return uid != "" && !live[uid] && created.Before(cutoff)
	}
	if ids, err := netns.AllocatedBefore(cfg.network(), cutoff); err == nil {
		for _, id := range ids {
			if orphan(id, time.Time{}) {
				errs = append(errs, netns.Teardown(cfg.network(), id))
			}
		}
	}
	for _, dir := range []string{cfg.podDataRoot(), cfg.nsDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && orphan(e.Name(), fi.ModTime()) {
				p := filepath.Join(dir, e.Name())
				if err := unmountUnder(p); err != nil {
					errs = append(errs, err)
				} else {
					errs = append(errs, os.RemoveAll(p))
				}
			}
		}
	}
	// Logs of pods that no longer exist go too, as the kubelet removes them: their
	// directories are named <namespace>_<name>_<uid>, and names hold no "_".
	logs, _ := os.ReadDir(filepath.Join(cfg.LogDir, "pods"))
	for _, e := range logs {
		parts := strings.Split(e.Name(), "_")
		if fi, err := e.Info(); err == nil && len(parts) == 3 && orphan(parts[2], fi.ModTime()) {
			errs = append(errs, os.RemoveAll(filepath.Join(cfg.LogDir, "pods", e.Name())))
		}
	}
	ents, _ := os.ReadDir(cfg.containersDir())
	for _, e := range ents {
		// Container ids are "<pod uid>-<container name>"; a uid is 36 characters.
		if fi, err := e.Info(); err == nil && len(e.Name()) > 36 && orphan(e.Name()[:36], fi.ModTime()) {
			errs = append(errs, destroyContainer(cfg.containersDir(), e.Name()))
		}
	}
	return errors.Join(errs...)
}

// releaseDead cleans up after a pod whose monitor died: its containers lost their
// supervisor (their exits can no longer be reaped or their output kept), so they are
// killed, and the pod's status becomes Unknown, Kubernetes' phase for a pod whose state
// cannot be obtained.
func releaseDead(dir string, rec *Record) error {
	err := releasePod(rec)
	if err != nil {
		return fmt.Errorf("pod %s/%s: %w", rec.Pod.Metadata.Namespace, rec.Pod.Metadata.Name, err)
	}
	if p, perr := readStatus(dir); perr == nil {
		if p.Status.Phase != api.PodSucceeded && p.Status.Phase != api.PodFailed {
			p.Status.Phase = api.PodUnknown
			p.Status.Reason = "MonitorLost"
			p.Status.Message = "the pod's monitor process died; its containers were stopped"
		}
		writeJSONAtomic(filepath.Join(dir, statusFile), p)
	}
	return os.WriteFile(filepath.Join(dir, tornDownFile), nil, 0o644)
}
