// Package netns builds a pod's network sandbox: a network namespace pinned by
// a bind mount (no pause process), with lo up and eth0 being one end of a veth
// pair whose host end is a port of a shared host bridge. Each pod gets one
// IPv4 address from a file-based allocator.
package netns

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Defaults applied to zero Config fields.
const (
	DefaultBridge   = "minipod0"
	DefaultNetNSDir = "/run/minipod/netns"
	// DefaultIPAMRoot is the parent of the default IPAMDir, which is
	// DefaultIPAMRoot/<bridge>.
	DefaultIPAMRoot = "/var/lib/minipod/networks"
)

// DefaultSubnet is used when Config.Subnet is the zero value.
var DefaultSubnet = netip.MustParsePrefix("10.66.0.0/16")

// Config describes the host side of the pod network. The zero value is
// usable: every empty field takes its default.
type Config struct {
	Bridge   string       // host bridge name; default DefaultBridge
	Subnet   netip.Prefix // IPv4; gateway = first host address, on the bridge; default DefaultSubnet
	IPAMDir  string       // allocation files; default DefaultIPAMRoot/<Bridge>
	NetNSDir string       // pinned netns files; default DefaultNetNSDir
}

func (c Config) withDefaults() Config {
	if c.Bridge == "" {
		c.Bridge = DefaultBridge
	}
	if !c.Subnet.IsValid() {
		c.Subnet = DefaultSubnet
	}
	if c.IPAMDir == "" {
		c.IPAMDir = filepath.Join(DefaultIPAMRoot, c.Bridge)
	}
	if c.NetNSDir == "" {
		c.NetNSDir = DefaultNetNSDir
	}
	return c
}

// Validate checks the configuration after defaults are applied; the error
// names the offending field.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := validIfName(c.Bridge); err != nil {
		return fmt.Errorf("netns: Config.Bridge %q: %w", c.Bridge, err)
	}
	switch s := c.Subnet; {
	case !s.Addr().Is4():
		return fmt.Errorf("netns: Config.Subnet %s: only IPv4 is supported", s)
	case s.Bits() > 30:
		return fmt.Errorf("netns: Config.Subnet %s: too small, need at least a /30", s)
	case s.Bits() < 8:
		return fmt.Errorf("netns: Config.Subnet %s: too large, at most a /8", s)
	case s != s.Masked():
		return fmt.Errorf("netns: Config.Subnet %s: host bits set (did you mean %s?)", s, s.Masked())
	}
	if !filepath.IsAbs(c.IPAMDir) {
		return fmt.Errorf("netns: Config.IPAMDir %q: must be an absolute path", c.IPAMDir)
	}
	if !filepath.IsAbs(c.NetNSDir) {
		return fmt.Errorf("netns: Config.NetNSDir %q: must be an absolute path", c.NetNSDir)
	}
	return nil
}

// validIfName is stricter than the kernel's dev_valid_name (which only bans
// '/', ':' and whitespace) so names stay safe in paths and ip(8) output.
func validIfName(s string) error {
	if s == "" || len(s) > unix.IFNAMSIZ-1 {
		return fmt.Errorf("length must be 1..%d", unix.IFNAMSIZ-1)
	}
	if s == "." || s == ".." {
		return errors.New("not a valid interface name")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("invalid character %q (allowed: letters, digits, '-', '_', '.')", r)
		}
	}
	return nil
}

// validID accepts lowercase hex of 1..64 characters; the id becomes a file
// name, so anything else is refused.
func validID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("netns: sandbox id %q: length must be 1..64", id)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return fmt.Errorf("netns: sandbox id %q: must be lowercase hex", id)
		}
	}
	return nil
}

// Sandbox is a set-up pod network.
type Sandbox struct {
	ID        string
	NetNSPath string       // pinned netns file, usable as a runtime-spec netns path
	IP        netip.Addr   // eth0's address
	Prefix    netip.Prefix // the subnet
	Gateway   netip.Addr   // bridge address, default route
	HostVeth  string       // host end of the veth pair
}

// HostVethName derives the host veth name from the sandbox id: stable, so
// Teardown finds it without state, and at most 15 characters.
func HostVethName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "mp" + hex.EncodeToString(sum[:6])
}

func gateway(subnet netip.Prefix) netip.Addr { return subnet.Addr().Next() }

// Setup creates the sandbox network for id. On error, whatever this call
// created is removed again (the bridge, shared by all pods, is kept).
// Setup refuses an id whose netns pin already exists.
func Setup(cfg Config, id string) (_ *Sandbox, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := validID(id); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	sb := &Sandbox{
		ID:        id,
		NetNSPath: PinPath(cfg, id),
		Prefix:    cfg.Subnet,
		Gateway:   gateway(cfg.Subnet),
		HostVeth:  HostVethName(id),
	}

	// All host-side requests go through one socket; it is created on a
	// thread in the host netns because no unlocked thread ever leaves it.
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netns: netlink: %w", err)
	}
	defer host.Close()

	br, err := ensureBridge(host, cfg.Bridge, cfg.Subnet)
	if err != nil {
		return nil, err
	}
	if err := ensurePinDir(cfg.NetNSDir); err != nil {
		return nil, err
	}

	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				err = errors.Join(err, fmt.Errorf("netns: cleanup after failed setup: %w", uerr))
			}
		}
	}()

	ns, err := pin(sb.NetNSPath)
	if err != nil {
		return nil, err
	}
	defer ns.close()
	undo = append(undo, func() error { return unpin(sb.NetNSPath) })

	// The peer is created directly inside the pod netns under its final
	// name, so no "move and rename" steps and no name clash on the host.
	la := netlink.NewLinkAttrs() // keeps TxQLen -1 (kernel default)
	la.Name = sb.HostVeth
	la.MTU = br.Attrs().MTU
	veth := &netlink.Veth{
		LinkAttrs:     la,
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(ns.fd),
		PeerTxQLen:    -1,
	}
	if err := host.LinkAdd(veth); err != nil {
		// EEXIST: a veth of that name exists and is not ours to remove.
		return nil, fmt.Errorf("netns: create veth %s: %w", sb.HostVeth, err)
	}
	undo = append(undo, func() error { return deleteHostVeth(host, sb.HostVeth) })
	if err := quietIPv6(host, veth); err != nil {
		return nil, err
	}
	if err := attachToBridge(host, veth, br); err != nil {
		return nil, err
	}
	if err := host.LinkSetUp(veth); err != nil {
		return nil, fmt.Errorf("netns: set %s up: %w", sb.HostVeth, err)
	}

	alloc := &ipam{dir: cfg.IPAMDir, subnet: cfg.Subnet}
	sb.IP, err = alloc.Allocate(id)
	if err != nil {
		return nil, fmt.Errorf("netns: allocate IP: %w", err)
	}
	undo = append(undo, func() error { return alloc.Release(id) })

	if err := configurePod(ns.nl, sb); err != nil {
		return nil, err
	}
	return sb, nil
}

// configurePod configures the inside of the netns through a netlink socket
// that lives there, so no thread has to switch namespaces.
func configurePod(nl *netlink.Handle, sb *Sandbox) error {
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("netns: set lo up: %w", err)
	}
	eth0, err := nl.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("netns: find eth0: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{
		IP:   sb.IP.AsSlice(),
		Mask: net.CIDRMask(sb.Prefix.Bits(), 32),
	}}
	if err := nl.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("netns: add %s to eth0: %w", addr, err)
	}
	if err := quietIPv6(nl, eth0); err != nil {
		return err
	}
	// Up before the route: the kernel refuses a gateway on a down link.
	if err := nl.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("netns: set eth0 up: %w", err)
	}
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: sb.Gateway.AsSlice()}
	if err := nl.RouteAdd(route); err != nil {
		return fmt.Errorf("netns: add default route via %s: %w", sb.Gateway, err)
	}
	return nil
}

// PinPath is where Setup pins the network namespace of sandbox id.
func PinPath(cfg Config, id string) string {
	return filepath.Join(cfg.withDefaults().NetNSDir, id)
}

// Teardown removes what Setup created for id: the host veth (its peer goes
// with it), the netns pin and the IP allocation. Each step runs even if an
// earlier one failed; things already gone are not errors. The bridge stays.
func Teardown(cfg Config, id string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := validID(id); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	var errs []error
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		errs = append(errs, fmt.Errorf("netns: netlink: %w", err))
	} else {
		if err := deleteHostVeth(host, HostVethName(id)); err != nil {
			errs = append(errs, err)
		}
		host.Close()
	}
	if err := unpin(PinPath(cfg, id)); err != nil {
		errs = append(errs, err)
	}
	if err := (&ipam{dir: cfg.IPAMDir, subnet: cfg.Subnet}).Release(id); err != nil {
		errs = append(errs, fmt.Errorf("netns: release IP: %w", err))
	}
	return errors.Join(errs...)
}

// AllocatedIDs lists the sandbox ids holding an IP, for garbage collection of
// sandboxes whose pods are gone.
func AllocatedIDs(cfg Config) ([]string, error) {
	return AllocatedBefore(cfg, time.Now().Add(time.Hour))
}

// AllocatedBefore lists the sandbox ids whose address was allocated before t. Garbage
// collection uses it to leave alone sandboxes being set up right now, whose pod record it
// may not have seen yet.
func AllocatedBefore(cfg Config, t time.Time) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return (&ipam{dir: cfg.IPAMDir, subnet: cfg.Subnet}).IDs(t)
}

// deleteHostVeth deletes the named veth if present. It checks the type so a
// name clash can never delete someone else's interface.
func deleteHostVeth(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		if _, ok := err.(netlink.LinkNotFoundError); ok {
			return nil
		}
		return fmt.Errorf("netns: look up %s: %w", name, err)
	}
	if link.Type() != "veth" {
		return fmt.Errorf("netns: %s is a %s, not a veth; not deleting it", name, link.Type())
	}
	if err := h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("netns: delete %s: %w", name, err)
	}
	return nil
}

// quietIPv6 keeps a veth end of the IPv4-only pod network from taking an IPv6 link-local
// address (addr_gen_mode none, set while the link is down). With one, every new pod's
// interfaces sent duplicate address detection, router solicitations and MLD reports, which
// the bridge floods to every port and every pod's namespace processes: at 1,000 pods that
// traffic was 18 % of the machine's CPU while pods started (`perf record -a`: veth_xmit,
// br_flood, ip6_rcv_core, ipv6_chk_mcast_addr), and the cost of a start grew with the number
// of pods. Docker (moby 26 and later) likewise disables IPv6 on a container's interface in an
// IPv4-only network. The pod keeps ::1 on lo, so [::] listeners and localhost work as before.
func quietIPv6(h *netlink.Handle, link netlink.Link) error {
	err := h.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE)
	if err != nil && !errors.Is(err, unix.EAFNOSUPPORT) && !errors.Is(err, unix.EOPNOTSUPP) {
		// EAFNOSUPPORT/EOPNOTSUPP: a kernel without IPv6 has nothing to quiet.
		return fmt.Errorf("netns: no IPv6 link-local address on %s: %w", link.Attrs().Name, err)
	}
	return nil
}
