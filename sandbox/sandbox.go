// Package sandbox owns a pod's host resources: the pinned IPC and UTS namespaces, the shared
// PID namespace's reaper, the pod cgroup, the shared /dev/shm, the generated /etc files, the
// volumes and the network (its pinned namespace, veth and address, and its NAT rules). Each
// resource is created and released in its own file here; Setup creates them all
// (concurrently: they are independent) and Release releases everything a pod may hold, its
// container instances first, in any state: after a failed Setup, after the monitor's normal
// end, or after a monitor died. A namespace the pod shares with the host (hostNetwork,
// hostPID, hostIPC) is simply not created, as a CRI runtime does.
package sandbox

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/minipod/minipod/netns"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/volume"
)

// Sandbox is a pod's set-up host resources.
type Sandbox struct {
	rec *state.Record
	// hostname is the pod's name in its UTS namespace (the host's on the host's network).
	hostname string
	Network  *netns.Sandbox // nil on the host's network
	Volumes  volume.Sources
	hostIP   netip.Addr
	pidNS    string // the shared PID namespace, if the pod has one
	images   imageMounts
	// Warnings are what the kubelet reports as events while it sets a sandbox up: the
	// resolver configuration cut to its limits (DNSConfigForming).
	Warnings []string
}

// Setup creates the pod's host resources. On error, the caller releases what was made with
// Release, as after any other failure.
func Setup(rec *state.Record) (*Sandbox, error) {
	spec := &rec.Pod.Spec
	hostname, domain, nodename, err := podNames(&rec.Pod, rec.Config.ClusterDomain)
	if err != nil {
		return nil, err
	}
	if spec.HostNetwork {
		if nodename, err = hostHostname(); err != nil {
			return nil, err
		}
	}
	sb := &Sandbox{rec: rec, hostname: nodename}
	if err := os.MkdirAll(rec.DataDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create pod data dir: %w", err)
	}
	// The network, the slowest part, sets the pace.
	var g errgroup.Group
	g.Go(func() error { return pinNamespaces(rec.NamespacesDir(), nodename, !spec.HostIPC, !spec.HostNetwork) })
	g.Go(func() error { return createCgroup(rec.CgroupPath(), spec) })
	if !spec.HostIPC {
		g.Go(func() error { return mountShm(shmPath(rec)) })
	}
	if spec.SharesProcessNamespace() {
		g.Go(func() error {
			pidNS, wait, err := startReaper(rec)
			if err == nil {
				sb.pidNS = pidNS
				go wait()
			}
			return err
		})
	}
	g.Go(func() (err error) {
		alloc := allocatableMemory(rec.Config.Reserved)
		vols := sizedVolumes(spec, alloc)
		if sb.Volumes, err = volume.Setup(volumesDir(rec), vols); err != nil {
			return err
		}
		if err := volume.SetupConfigVolumes(volumesDir(rec), &rec.Pod, configTmpfsSize(spec, alloc), sb.Volumes); err != nil {
			return err
		}
		if err := bindClaims(rec, sb.Volumes); err != nil {
			return err
		}
		return volume.ApplyFSGroup(sb.Volumes, vols, spec.SecurityContext)
	})
	g.Go(func() (err error) {
		if spec.HostNetwork {
			if sb.hostIP, err = netns.HostAddress(rec.Config.Network()); err != nil {
				return fmt.Errorf("pod network: %w", err)
			}
			return nil
		}
		if sb.Network, err = netns.Setup(rec.Config.Network(), rec.SandboxID()); err != nil {
			return fmt.Errorf("pod network: %w", err)
		}
		sb.hostIP = sb.Network.Gateway
		return setupNAT(rec, sb.Network)
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	hosts := hostsFile(sb.PodIP().String(), hostname, domain, spec.HostAliases)
	if spec.HostNetwork {
		node, err := os.ReadFile(etcHostsPath)
		if err != nil {
			return nil, fmt.Errorf("pod /etc files: %w", err)
		}
		hosts = hostNetworkHostsFile(node, spec.HostAliases)
	}
	resolv, warnings, err := resolvConf(spec, rec.Config.ResolvConf)
	if err != nil {
		return nil, fmt.Errorf("pod /etc files: %w", err)
	}
	sb.Warnings = warnings
	if err := writeEtcFiles(etcDir(rec), hosts, []byte(nodename+"\n"), resolv); err != nil {
		return nil, err
	}
	// A host-network pod's sysfs is the host's, writable already.
	if hasPrivileged(&rec.Pod) && !spec.HostNetwork {
		if err := pinSysfs(rec, sb.Network.NetNSPath); err != nil {
			return nil, err
		}
	}
	return sb, nil
}

// PodIP is the pod's address: its own, or on the host's network the host's.
func (sb *Sandbox) PodIP() netip.Addr {
	if sb.Network != nil {
		return sb.Network.IP
	}
	return sb.hostIP
}

// HostIP is the host's address as the pod sees it: its address on the pod bridge.
func (sb *Sandbox) HostIP() netip.Addr { return sb.hostIP }

// Spec is what a container of the pod joins and shares, for spec generation. A namespace the
// pod shares with the host has no path: the container stays in the host's.
func (sb *Sandbox) Spec() ocispec.Sandbox {
	nsDir, etc, spec := sb.rec.NamespacesDir(), etcDir(sb.rec), &sb.rec.Pod.Spec
	s := ocispec.Sandbox{
		Hostname:      sb.hostname,
		PIDNS:         sb.pidNS,
		IPCNS:         filepath.Join(nsDir, "ipc"),
		UTSNS:         filepath.Join(nsDir, "uts"),
		Shm:           shmPath(sb.rec),
		EtcHosts:      filepath.Join(etc, "hosts"),
		EtcHostname:   filepath.Join(etc, "hostname"),
		EtcResolvConf: filepath.Join(etc, "resolv.conf"),
	}
	if sb.Network != nil {
		s.NetNS = sb.Network.NetNSPath
	} else {
		s.UTSNS = ""
	}
	if spec.HostIPC {
		// containerd gives a pod on the host's IPC namespace the host's /dev/shm.
		s.IPCNS, s.Shm = "", "/dev/shm"
	}
	return s
}

// Release releases everything the pod may hold, in reverse order of creation: its container
// instances, then the sandbox. Each step runs even when an earlier one fails, and none fails
// on what is already gone. The network is independent of the rest and is released beside it:
// deleting the veth waits for the kernel's RCU grace period (synchronize_net, ~8 ms here),
// the longest step of a pod's removal.
func Release(rec *state.Record) error { return release(rec, true) }

// ReleaseAfterNetwork is Release for a pod whose network ReleaseNetwork released already.
func ReleaseAfterNetwork(rec *state.Record) error { return release(rec, false) }

func release(rec *state.Record, network bool) error {
	var netErr error
	netDone := make(chan struct{})
	go func() {
		defer close(netDone)
		if network {
			netErr = ReleaseNetwork(rec)
		}
	}()
	errs := []error{releaseInstances(rec)}
	// The reaper's PID file lives in the namespaces' dir, and the reaper in the pod cgroup.
	errs = append(errs, releaseReaper(rec))
	var wg sync.WaitGroup
	var dataErr, nsErr error
	wg.Go(func() { dataErr = releaseDataDir(rec) })
	wg.Go(func() { nsErr = releaseNamespaces(rec.NamespacesDir()) })
	if err := destroyCgroup(rec.CgroupPath()); err != nil {
		errs = append(errs, fmt.Errorf("pod cgroup: %w", err))
	}
	wg.Wait()
	<-netDone
	return errors.Join(append(errs, dataErr, nsErr, netErr)...)
}

// ReleaseNetwork releases the pod's network: its host ports, veth, pinned namespace and
// address. Release does it too; the monitor calls it as soon as no container of a stopping
// pod runs any more, so that it overlaps the containers' own teardown.
func ReleaseNetwork(rec *state.Record) error {
	errs := []error{releaseNAT(rec)}
	if !rec.Pod.Spec.HostNetwork {
		if err := netns.Teardown(rec.Config.Network(), rec.SandboxID()); err != nil {
			errs = append(errs, fmt.Errorf("pod network: %w", err))
		}
	}
	return errors.Join(errs...)
}
