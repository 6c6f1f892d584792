package netns

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// HostAddress is the host's address on the pod bridge (the gateway), creating the bridge if
// it is missing: the address pods report as their hostIP, and a pod on the host's network as
// its own (the kubelet reports the node's address for both), so it must exist.
func HostAddress(cfg Config) (netip.Addr, error) {
	if err := cfg.Validate(); err != nil {
		return netip.Addr{}, err
	}
	cfg = cfg.withDefaults()
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("netns: netlink: %w", err)
	}
	defer h.Close()
	if _, err := ensureBridge(h, cfg.Bridge, cfg.Subnet); err != nil {
		return netip.Addr{}, err
	}
	return gateway(cfg.Subnet), nil
}
