// Package sandbox owns a pod's host resources: the pinned IPC and UTS namespaces, the pod
// cgroup, the shared /dev/shm, the generated /etc files, the volumes and the network (its
// pinned namespace, veth and address). Each resource is created and released in its own file
// here; Setup creates them all (concurrently: they are independent) and Release releases
// everything a pod may hold, its container instances first, in any state: after a failed
// Setup, after the monitor's normal end, or after a monitor died.
package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/minipod/minipod/netns"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/volume"
)

// Sandbox is a pod's set-up host resources.
type Sandbox struct {
	rec      *state.Record
	hostname string
	Network  *netns.Sandbox
	Volumes  volume.Sources
}

// Hostname is the pod's hostname: spec.hostname, else the pod's name, as the kubelet sets it.
func Hostname(rec *state.Record) string {
	if h := rec.Pod.Spec.Hostname; h != "" {
		return h
	}
	return rec.Pod.Metadata.Name
}

// Setup creates the pod's host resources. On error, the caller releases what was made with
// Release, as after any other failure.
func Setup(rec *state.Record) (*Sandbox, error) {
	sb := &Sandbox{rec: rec, hostname: Hostname(rec)}
	if err := os.MkdirAll(rec.DataDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create pod data dir: %w", err)
	}
	// The network, the slowest part, sets the pace.
	var g errgroup.Group
	g.Go(func() error { return pinNamespaces(rec.NamespacesDir(), sb.hostname) })
	g.Go(func() error { return createCgroup(rec.CgroupPath(), &rec.Pod.Spec) })
	g.Go(func() error { return mountShm(shmPath(rec)) })
	g.Go(func() (err error) {
		vols := sizedVolumes(&rec.Pod.Spec, allocatableMemory(rec.Config.Reserved))
		sb.Volumes, err = volume.Setup(volumesDir(rec), vols)
		return err
	})
	g.Go(func() (err error) {
		if sb.Network, err = netns.Setup(rec.Config.Network(), rec.SandboxID()); err != nil {
			return fmt.Errorf("pod network: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := writeEtcFiles(etcDir(rec), rec.Config.ResolvConf, sb.Network.IP.String(), sb.hostname); err != nil {
		return nil, err
	}
	return sb, nil
}

// Spec is what a container of the pod joins and shares, for spec generation.
func (sb *Sandbox) Spec() ocispec.Sandbox {
	nsDir, etc := sb.rec.NamespacesDir(), etcDir(sb.rec)
	return ocispec.Sandbox{
		Hostname:      sb.hostname,
		NetNS:         sb.Network.NetNSPath,
		IPCNS:         filepath.Join(nsDir, "ipc"),
		UTSNS:         filepath.Join(nsDir, "uts"),
		Shm:           shmPath(sb.rec),
		EtcHosts:      filepath.Join(etc, "hosts"),
		EtcHostname:   filepath.Join(etc, "hostname"),
		EtcResolvConf: filepath.Join(etc, "resolv.conf"),
	}
}

// Release releases everything the pod may hold, in reverse order of creation: its container
// instances, then the sandbox. Each step runs even when an earlier one fails, and none fails
// on what is already gone.
func Release(rec *state.Record) error {
	var errs []error
	if err := releaseInstances(rec); err != nil {
		errs = append(errs, err)
	}
	if err := releaseDataDir(rec); err != nil {
		errs = append(errs, err)
	}
	if err := releaseNamespaces(rec.NamespacesDir()); err != nil {
		errs = append(errs, err)
	}
	if err := netns.Teardown(rec.Config.Network(), rec.SandboxID()); err != nil {
		errs = append(errs, fmt.Errorf("pod network: %w", err))
	}
	if err := destroyCgroup(rec.CgroupPath()); err != nil {
		errs = append(errs, fmt.Errorf("pod cgroup: %w", err))
	}
	return errors.Join(errs...)
}
