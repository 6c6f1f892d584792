package netns

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureBridge returns the bridge, creating it if missing and making sure it
// carries the gateway address and is up. Concurrent callers are fine: a lost
// creation race shows up as EEXIST and the winner's bridge is used.
func ensureBridge(h *netlink.Handle, name string, subnet netip.Prefix) (netlink.Link, error) {
	link, err := h.LinkByName(name)
	if _, ok := err.(netlink.LinkNotFoundError); ok {
		la := netlink.NewLinkAttrs()
		la.Name = name
		// A bridge without an explicit MAC takes the lowest MAC of its
		// ports and changes it as pods come and go, which invalidates the
		// pods' ARP entry for the gateway. An assigned MAC stays put.
		la.HardwareAddr = randomMAC()
		err = h.LinkAdd(&netlink.Bridge{LinkAttrs: la})
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("netns: create bridge %s: %w", name, err)
		}
		link, err = h.LinkByName(name)
	}
	if err != nil {
		return nil, fmt.Errorf("netns: look up bridge %s: %w", name, err)
	}
	if link.Type() != "bridge" {
		return nil, fmt.Errorf("netns: Config.Bridge %q exists but is a %s, not a bridge", name, link.Type())
	}

	gw := gateway(subnet)
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("netns: list addresses of %s: %w", name, err)
	}
	have := false
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == gw && ones == subnet.Bits() {
			have = true
			break
		}
	}
	if !have {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(subnet.Bits(), 32)}}
		if err := h.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("netns: add gateway %s to %s: %w", addr, name, err)
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("netns: set bridge %s up: %w", name, err)
		}
	}
	return link, nil
}

// randomMAC returns a random unicast, locally administered MAC.
func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac) // cannot fail since Go 1.24
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

// BridgeMaxPorts is how many interfaces one Linux bridge takes: port numbers are 10 bits
// (BR_MAX_PORTS = 1 << BR_PORT_BITS = 1024, net/bridge/br_private.h) and 0 is reserved
// (find_portno, net/bridge/br_if.c), so at most 1023 pods of one installation have an
// address; hostNetwork pods take no port. The kernel refuses the next one with EXFULL.
const BridgeMaxPorts = 1023

// attachToBridge makes link a port of the bridge br. When the bridge is full, the error says
// so, with the way out: more pods need another installation (--bridge, --subnet, --state-dir).
func attachToBridge(h *netlink.Handle, link, br netlink.Link) error {
	err := h.LinkSetMasterByIndex(link, br.Attrs().Index)
	if errors.Is(err, unix.EXFULL) {
		return fmt.Errorf("netns: attach %s to bridge %s: the bridge has %d ports, the kernel's maximum (BR_MAX_PORTS): more pods need another installation with its own --bridge, --subnet and --state-dir: %w",
			link.Attrs().Name, br.Attrs().Name, BridgeMaxPorts, err)
	}
	if err != nil {
		return fmt.Errorf("netns: attach %s to bridge %s: %w", link.Attrs().Name, br.Attrs().Name, err)
	}
	return nil
}
