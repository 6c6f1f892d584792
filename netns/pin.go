package netns

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/mountpoint"
	"github.com/minipod/minipod/nspin"
)

// podNS gives access to a freshly created pod netns.
type podNS struct {
	fd int             // nsfs file descriptor, for IFLA_NET_NS_FD
	nl *netlink.Handle // route socket created inside the netns
}

func (p *podNS) close() {
	p.nl.Close()
	unix.Close(p.fd)
}

// ensurePinDir makes dir a shared mount point, as iproute2 does for
// /run/netns and CRI-O's pinns for its netns dir. Each pin is a bind mount,
// and any mount namespace cloned from the host (a systemd unit with
// PrivateTmp, a container runtime before pivot_root, ...) gets a copy of it
// that would keep the netns alive after Teardown unmounts ours. With a
// shared dir those copies are peers or slaves of ours, so the unmount
// propagates to them. A private dir would not propagate; being its own
// mount point (rather than inheriting /run's propagation) makes the
// behaviour independent of how the host mounted /run.
func ensurePinDir(dir string) error {
	if err := mountpoint.Ensure(dir, 0o755, unix.MS_SHARED); err != nil {
		return fmt.Errorf("netns: make Config.NetNSDir %s a shared mount: %w", dir, err)
	}
	return nil
}

// pin creates a new network namespace pinned on path, which must not exist yet (that is
// what makes an id's Setup exclusive), and returns handles to configure it.
func pin(path string) (*podNS, error) {
	var ns podNS
	err := nspin.Create([]nspin.Pin{{Kind: "net", Path: path}}, func() error {
		// A socket belongs to the netns it was created in, so this handle configures the
		// pod netns from any thread later; the fd is for IFLA_NET_NS_FD.
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("netns: open pod netns: %w", err)
		}
		nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("netns: netlink socket in pod netns: %w", err)
		}
		ns = podNS{fd: fd, nl: nl}
		return nil
	})
	if err != nil {
		if ns.nl != nil {
			ns.close()
		}
		return nil, fmt.Errorf("netns: %w", err)
	}
	return &ns, nil
}

// unpin unmounts and removes a pin. Missing mount or file is fine.
func unpin(path string) error {
	if err := nspin.Remove(path); err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	return nil
}
