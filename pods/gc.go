package pods

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/netns"
	"github.com/minipod/minipod/portmap"
	"github.com/minipod/minipod/sandbox"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/unmount"
)

// orphanMinAge is how old a resource without a pod record must be before it is collected.
const orphanMinAge = time.Minute

// CollectGarbage releases what dead monitors left behind: pods whose monitor died without
// tearing down, and resources (addresses, host port rules, data dirs, pins, containers,
// logs) of pods that no longer have a record at all, e.g. after a reboot emptied the state
// dir.
func CollectGarbage(cfg state.Config) error {
	entries, err := os.ReadDir(cfg.PodsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var errs []error
	live := map[string]bool{} // uids of pods with a record
	for _, e := range entries {
		dir := filepath.Join(cfg.PodsDir(), e.Name())
		rec, err := state.ReadRecord(dir)
		if err != nil {
			// A pod being created has no record for a moment: leave young ones alone.
			if fi, serr := os.Stat(dir); serr == nil && time.Since(fi.ModTime()) > orphanMinAge {
				errs = append(errs, fmt.Errorf("pod dir %s: %w", dir, err))
			}
			continue
		}
		live[rec.UID()] = true
		if state.MonitorAlive(dir) || state.TornDown(dir) {
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
	liveSandboxes := map[string]bool{}
	for uid := range live {
		liveSandboxes[state.SandboxID(uid)] = true
	}
	if ids, err := netns.AllocatedBefore(cfg.Network(), cutoff); err == nil {
		for _, id := range ids {
			if !liveSandboxes[id] {
				errs = append(errs, netns.Teardown(cfg.Network(), id))
			}
		}
	}
	// Host port rules carry when they were added.
	if tagged, err := portmap.Tagged(cfg.NAT()); err == nil {
		for id, since := range tagged {
			if !liveSandboxes[id] && since.Before(cutoff) {
				errs = append(errs, portmap.Teardown(cfg.NAT(), id))
			}
		}
	}
	for _, dir := range []string{cfg.PodDataRoot(), cfg.NamespacesDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && state.IsUID(e.Name()) && orphan(e.Name(), fi.ModTime()) {
				p := filepath.Join(dir, e.Name())
				errs = append(errs, unmount.RemoveAll(p))
			}
		}
	}
	// Logs of pods that no longer exist go too, as the kubelet removes them.
	logs, _ := os.ReadDir(cfg.PodLogsDir())
	for _, e := range logs {
		_, _, uid, ok := state.ParseLogDirName(e.Name())
		if fi, err := e.Info(); err == nil && ok && orphan(uid, fi.ModTime()) {
			errs = append(errs, os.RemoveAll(filepath.Join(cfg.PodLogsDir(), e.Name())))
		}
	}
	ents, _ := os.ReadDir(cfg.ContainersDir())
	for _, e := range ents {
		uid, _, _, ok := state.ParseContainerID(e.Name())
		if fi, err := e.Info(); err == nil && ok && orphan(uid, fi.ModTime()) {
			// Its pod's data dir went above; only its libcontainer state is left.
			errs = append(errs, container.Release(container.Paths{StateRoot: cfg.ContainersDir()}, e.Name()))
		}
	}
	return errors.Join(errs...)
}

// releaseDead cleans up after a pod whose monitor died: its containers lost their
// supervisor (their exits can no longer be reaped or their output kept), so they are
// killed, and the pod's status becomes Unknown, Kubernetes' phase for a pod whose state
// cannot be obtained.
func releaseDead(dir string, rec *state.Record) error {
	if err := sandbox.Release(rec); err != nil {
		return fmt.Errorf("pod %s/%s: %w", rec.Pod.Metadata.Namespace, rec.Pod.Metadata.Name, err)
	}
	if p, err := state.ReadStatus(dir); err == nil {
		if p.Status.Phase != api.PodSucceeded && p.Status.Phase != api.PodFailed {
			p.Status.Phase = api.PodUnknown
			p.Status.Reason = "MonitorLost"
			p.Status.Message = "the pod's monitor process died; its containers were stopped"
		}
		atomicfile.WriteJSON(filepath.Join(dir, state.StatusFile), p, 0o644)
	}
	return os.WriteFile(filepath.Join(dir, state.TornDownFile), nil, 0o644)
}
