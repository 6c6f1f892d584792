// Package portmap is the NAT of the pod network, in one nftables table per installation
// (named after its bridge, so that two installations never share rules):
//
//   - hostPorts: traffic to a host port reaches the pod's port (DNAT), from outside and from
//     the host itself (127.0.0.1 and the host's addresses), as the CNI portmap plugin does
//     for containerd (plugins/meta/portmap, its nftables backend: prerouting and output
//     chains jumping to hostip_hostports and hostports, a masquerading chain for hairpin and
//     localhost traffic; the local-address condition is its iptables backend's
//     "--dst-type LOCAL" on both hooks). A pod's rules carry a comment naming its sandbox,
//     which is how they are found and removed.
//   - outbound masquerading: traffic from the pods to anywhere outside their subnet leaves
//     with the host's address, as the CNI bridge plugin's ipMasq does (one rule for the
//     subnet rather than one per pod: the subnet belongs to the bridge), with IPv4
//     forwarding on.
//
// The table itself is infrastructure of the installation, like the bridge: it stays when
// the last pod goes.
package portmap

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Config is the pod network whose NAT this is.
type Config struct {
	Bridge string       // the pods' bridge: names the table, and route_localnet is set on it
	Subnet netip.Prefix // the pods' addresses: traffic from here to elsewhere is masqueraded
}

// TableName is the installation's table: one per bridge.
func TableName(bridge string) string { return "minipod-" + bridge }

// Mapping publishes a pod's port on the host.
type Mapping struct {
	HostIP        netip.Addr // the one local address to publish on; invalid or unspecified: all of them
	HostPort      uint16
	ContainerPort uint16
	Protocol      string // "tcp", "udp" or "sctp"
}

// Pod is one sandbox's part of the NAT.
type Pod struct {
	ID       string     // the sandbox id: tags the pod's rules
	IP       netip.Addr // the pod's address
	HostVeth string     // host end of the pod's veth: hairpin mode lets the pod reach itself through a host port
	Mappings []Mapping
}

// Chains of the table.
const (
	chainPrerouting   = "prerouting"
	chainOutput       = "output"
	chainPostrouting  = "postrouting"
	chainInput        = "input"
	chainHostIPPorts  = "hostip-hostports" // hostPorts published on one address, tried first
	chainHostPorts    = "hostports"        // hostPorts published on every local address
	chainMasquerading = "masquerading"     // hairpin and localhost traffic to a pod's host port
)

// podChains hold the rules of pods, tagged with their sandbox id; the others are rewritten
// whole at every Setup.
var podChains = []string{chainHostIPPorts, chainHostPorts, chainMasquerading}

// Setup makes sure the installation's NAT is in place (table, chains, masquerading of the
// subnet, IPv4 forwarding) and adds the pod's host ports, in one transaction. The pod's rules
// must not exist yet (Teardown first when unsure).
func Setup(cfg Config, pod Pod) error {
	if !cfg.Subnet.Addr().Is4() || !pod.IP.Is4() {
		return fmt.Errorf("portmap: IPv4 only (subnet %s, pod %s)", cfg.Subnet, pod.IP)
	}
	if err := ensureSysctl("net/ipv4/ip_forward"); err != nil {
		return err
	}
	if len(pod.Mappings) > 0 {
		// 127.0.0.1 as the source of a packet leaving on the bridge is a martian unless the
		// bridge routes localnet; the input chain drops what that would let in.
		if err := ensureSysctl("net/ipv4/conf/" + cfg.Bridge + "/route_localnet"); err != nil {
			return err
		}
		if err := setHairpin(pod.HostVeth); err != nil {
			return err
		}
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("portmap: %w", err)
	}
	t := table(cfg.Bridge)
	// Adding a table or chain costs the kernel some 10 ms even when it exists, a rule well
	// under one: the installation's part is written only when its marker is missing.
	chains := map[string]*nftables.Chain{}
	for _, name := range append(slices.Clone(podChains), chainPrerouting, chainOutput, chainPostrouting, chainInput) {
		chains[name] = &nftables.Chain{Table: t, Name: name}
	}
	if !installed(c, t, cfg) {
		c.AddTable(t)
		chains = addChains(c, t)
		marker := userdata.AppendString(nil, userdata.TypeComment, markerComment(cfg))
		for _, r := range baseRules(cfg) {
			rule := &nftables.Rule{Table: t, Chain: chains[r.chain], Exprs: r.exprs}
			if r.marker {
				rule.UserData = marker
			}
			c.AddRule(rule)
		}
	}
	tag := userdata.AppendString(nil, userdata.TypeComment, Tag(pod.ID, time.Now()))
	for _, r := range podRules(pod) {
		c.AddRule(&nftables.Rule{Table: t, Chain: chains[r.chain], Exprs: r.exprs, UserData: tag})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("portmap: set up table %s for sandbox %s: %w", t.Name, pod.ID, err)
	}
	return nil
}

// markerComment is on the installation's masquerading rule: its presence says the base
// chains are current for this subnet.
func markerComment(cfg Config) string { return "minipod masquerade " + cfg.Subnet.Masked().String() }

// installed reports whether the installation's chains and rules are in place.
func installed(c *nftables.Conn, t *nftables.Table, cfg Config) bool {
	rules, err := c.GetRules(t, &nftables.Chain{Table: t, Name: chainPostrouting})
	if err != nil {
		return false
	}
	for _, r := range rules {
		if comment(r) == markerComment(cfg) {
			return true
		}
	}
	return false
}

// Teardown removes the rules of sandbox id. A missing table or rule is not an error.
func Teardown(cfg Config, id string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("portmap: %w", err)
	}
	t := table(cfg.Bridge)
	// Two teardowns of one sandbox may race (a delete and the garbage collector): the
	// loser's batch fails on a rule the winner removed, and its retry finds none.
	for attempt := 0; ; attempt++ {
		n := 0
		for _, name := range podChains {
			rules, err := c.GetRules(t, &nftables.Chain{Table: t, Name: name})
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue
				}
				return fmt.Errorf("portmap: list rules of %s/%s: %w", t.Name, name, err)
			}
			for _, r := range rules {
				if rid, _, ok := ParseTag(comment(r)); ok && rid == id {
					if err := c.DelRule(r); err != nil {
						return fmt.Errorf("portmap: delete rule: %w", err)
					}
					n++
				}
			}
		}
		if n == 0 {
			return nil
		}
		err := c.Flush()
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.ENOENT) || attempt > 0 {
			return fmt.Errorf("portmap: remove the rules of sandbox %s from %s: %w", id, t.Name, err)
		}
	}
}

// Tagged returns the sandboxes that have rules in the table, each with when its rules were
// added: for garbage collection and leak checks.
func Tagged(cfg Config) (map[string]time.Time, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("portmap: %w", err)
	}
	t := table(cfg.Bridge)
	ids := map[string]time.Time{}
	for _, name := range podChains {
		rules, err := c.GetRules(t, &nftables.Chain{Table: t, Name: name})
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("portmap: list rules of %s/%s: %w", t.Name, name, err)
		}
		for _, r := range rules {
			if id, since, ok := ParseTag(comment(r)); ok {
				ids[id] = since
			}
		}
	}
	return ids, nil
}

// RemoveTable deletes the installation's table, for whoever removes the installation (its
// bridge gone, nothing left to NAT). A missing table is not an error.
func RemoveTable(bridge string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("portmap: %w", err)
	}
	c.DelTable(table(bridge))
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("portmap: delete table %s: %w", TableName(bridge), err)
	}
	return nil
}

// Tag is the comment on a sandbox's rules: its id and when they were added.
func Tag(id string, t time.Time) string {
	return "minipod sandbox " + id + " since " + strconv.FormatInt(t.Unix(), 10)
}

// ParseTag is Tag's inverse.
func ParseTag(s string) (id string, since time.Time, ok bool) {
	f := strings.Fields(s)
	if len(f) != 5 || f[0] != "minipod" || f[1] != "sandbox" || f[3] != "since" {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return f[2], time.Unix(sec, 0), true
}

func comment(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}

func table(bridge string) *nftables.Table {
	return &nftables.Table{Name: TableName(bridge), Family: nftables.TableFamilyIPv4}
}

// addChains adds every chain (a no-op for those that exist) and empties the base chains,
// which baseRules then fills: concurrent Setups each rewrite them whole, atomically.
func addChains(c *nftables.Conn, t *nftables.Table) map[string]*nftables.Chain {
	chains := map[string]*nftables.Chain{}
	for _, name := range podChains {
		chains[name] = c.AddChain(&nftables.Chain{Table: t, Name: name})
	}
	for _, b := range []struct {
		name string
		typ  nftables.ChainType
		hook *nftables.ChainHook
		prio *nftables.ChainPriority
	}{
		{chainPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest},
		{chainOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest},
		{chainPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource},
		{chainInput, nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter},
	} {
		ch := c.AddChain(&nftables.Chain{Table: t, Name: b.name, Type: b.typ, Hooknum: b.hook, Priority: b.prio})
		c.FlushChain(ch)
		chains[b.name] = ch
	}
	return chains
}

type rule struct {
	chain  string
	exprs  []expr.Any
	marker bool // carries markerComment
}

// baseRules are the installation's rules:
//
//	prerouting, output: fib daddr type local jump hostip-hostports
//	                    fib daddr type local jump hostports
//	postrouting:        jump masquerading
//	                    ip saddr SUBNET ip daddr != SUBNET ip daddr != 224.0.0.0/4 masquerade
//	input:              iifname BRIDGE ip daddr 127.0.0.0/8 ct status != dnat drop
//
// The input rule is kube-proxy's guard for route_localnet (CVE-2020-8558): a pod may not
// reach the host's loopback services by sending to 127.0.0.1 through the bridge; replies to
// connections from 127.0.0.1 to a host port were DNATed and pass.
func baseRules(cfg Config) []rule {
	var rules []rule
	for _, chain := range []string{chainPrerouting, chainOutput} {
		for _, target := range []string{chainHostIPPorts, chainHostPorts} {
			rules = append(rules, rule{chain, concat(localDest(), jump(target)), false})
		}
	}
	subnet := cfg.Subnet.Masked()
	multicast := netip.MustParsePrefix("224.0.0.0/4")
	rules = append(rules,
		rule{chainPostrouting, jump(chainMasquerading), false},
		rule{chainPostrouting, concat(
			prefixMatch(offSaddr, subnet, expr.CmpOpEq),
			prefixMatch(offDaddr, subnet, expr.CmpOpNeq),
			prefixMatch(offDaddr, multicast, expr.CmpOpNeq),
			[]expr.Any{&expr.Masq{}}), true},
		rule{chainInput, concat(
			ifname(cfg.Bridge),
			prefixMatch(offDaddr, netip.MustParsePrefix("127.0.0.0/8"), expr.CmpOpEq),
			notDNAT(),
			[]expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}), false},
	)
	return rules
}

// podRules are a pod's rules, per mapping in hostip-hostports or hostports:
//
//	[ip daddr HOSTIP] PROTO dport HOSTPORT dnat to PODIP:CONTAINERPORT
//
// and, once, in masquerading: the pod reaching itself through a host port (hairpin), and
// the host reaching it from 127.0.0.1, leave with the bridge's address so that the replies
// come back through the host.
//
//	ip saddr PODIP ip daddr PODIP masquerade
//	ip saddr 127.0.0.1 ip daddr PODIP masquerade
func podRules(pod Pod) []rule {
	if len(pod.Mappings) == 0 {
		return nil
	}
	var rules []rule
	for _, m := range pod.Mappings {
		chain, match := chainHostPorts, []expr.Any(nil)
		if m.HostIP.IsValid() && !m.HostIP.IsUnspecified() {
			chain, match = chainHostIPPorts, addrMatch(offDaddr, m.HostIP)
		}
		rules = append(rules, rule{chain, concat(match, portMatch(m.Protocol, m.HostPort), dnat(pod.IP, m.ContainerPort)), false})
	}
	masq := []expr.Any{&expr.Masq{}}
	rules = append(rules,
		rule{chainMasquerading, concat(addrMatch(offSaddr, pod.IP), addrMatch(offDaddr, pod.IP), masq), false},
		rule{chainMasquerading, concat(addrMatch(offSaddr, netip.MustParseAddr("127.0.0.1")), addrMatch(offDaddr, pod.IP), masq), false},
	)
	return rules
}

// Offsets in the IPv4 header.
const (
	offSaddr = 12
	offDaddr = 16
)

func concat(parts ...[]expr.Any) []expr.Any { return slices.Concat(parts...) }

func jump(chain string) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: chain}}
}

// localDest is `fib daddr type local`.
func localDest() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

func addrMatch(offset uint32, a netip.Addr) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
	}
}

func prefixMatch(offset uint32, p netip.Prefix, op expr.CmpOp) []expr.Any {
	mask := make([]byte, 4)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

var protocols = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "sctp": unix.IPPROTO_SCTP}

// portMatch is `PROTO dport PORT`: the destination port is the first 16 bits after the
// source port in TCP, UDP and SCTP alike.
func portMatch(protocol string, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protocols[protocol]}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

func dnat(ip netip.Addr, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: ip.AsSlice()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

// ifname is `iifname NAME`.
func ifname(name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}
}

// notDNAT is `ct status & dnat == 0`.
func notDNAT() []expr.Any {
	const ipsDstNAT = 1 << 5 // IPS_DST_NAT in linux/netfilter/nf_conntrack_common.h
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: make([]byte, 4)},
	}
}

// ensureSysctl sets a boolean sysctl to 1 unless it is already, without ever turning it off
// again: other software on the host may rely on it too (the CNI plugins do the same).
func ensureSysctl(name string) error {
	p := "/proc/sys/" + name
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("portmap: set %s: %w", strings.ReplaceAll(name, "/", "."), err)
	}
	return nil
}

// setHairpin lets the bridge send a frame back out of the port it came in: how a pod's
// packet to its own host port, rewritten to its own address while bridged, reaches it.
func setHairpin(veth string) error {
	link, err := netlink.LinkByName(veth)
	if err == nil {
		err = netlink.LinkSetHairpin(link, true)
	}
	if err != nil {
		return fmt.Errorf("portmap: hairpin mode on %s: %w", veth, err)
	}
	return nil
}
