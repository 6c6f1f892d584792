package portmap

import (
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestTag(t *testing.T) {
	at := time.Unix(1700000000, 0)
	id, since, ok := ParseTag(Tag("0a1b", at))
	if !ok || id != "0a1b" || !since.Equal(at) {
		t.Errorf("ParseTag(Tag) = %q %v %v", id, since, ok)
	}
	for _, s := range []string{"", "minipod sandbox x", "CNI portmap", "minipod sandbox x since y"} {
		if _, _, ok := ParseTag(s); ok {
			t.Errorf("ParseTag(%q) ok", s)
		}
	}
}

// A pod's rules: one DNAT per mapping, in hostip-hostports when it names an address, and
// the two masquerading rules once.
func TestPodRules(t *testing.T) {
	pod := Pod{ID: "ab", IP: netip.MustParseAddr("10.66.0.7"), Mappings: []Mapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
		{HostIP: netip.IPv4Unspecified(), HostPort: 9000, ContainerPort: 9000, Protocol: "sctp"},
	}}
	rules := podRules(pod)
	var chains []string
	for _, r := range rules {
		chains = append(chains, r.chain)
	}
	want := []string{chainHostPorts, chainHostIPPorts, chainHostPorts, chainMasquerading, chainMasquerading}
	if len(chains) != len(want) {
		t.Fatalf("chains %v, want %v", chains, want)
	}
	for i := range want {
		if chains[i] != want[i] {
			t.Errorf("rule %d in %s, want %s", i, chains[i], want[i])
		}
	}
	nat, ok := rules[1].exprs[len(rules[1].exprs)-1].(*expr.NAT)
	if !ok || nat.Type != expr.NATTypeDestNAT {
		t.Errorf("last expression of a mapping %#v, want a DNAT", rules[1].exprs[len(rules[1].exprs)-1])
	}
	if proto := rules[1].exprs[3].(*expr.Cmp).Data; proto[0] != unix.IPPROTO_UDP {
		t.Errorf("protocol %v, want UDP", proto)
	}
	if len(podRules(Pod{ID: "x", IP: pod.IP})) != 0 {
		t.Error("rules for a pod without host ports")
	}
}

// Setup and Teardown against the kernel, in a network namespace of the test's own.
func TestSetupTeardown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread enters a new network namespace and is never handed back: Go ends it
		// with the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		setupTeardown(t)
	}()
	<-done
}

func setupTeardown(t *testing.T) {
	cfg := Config{Bridge: "br0", Subnet: netip.MustParsePrefix("10.99.0.0/24")}
	la := netlink.NewLinkAttrs()
	la.Name = cfg.Bridge
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		t.Fatalf("bridge: %v", err)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "mpveth", MasterIndex: 0}, PeerName: "peer"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("veth: %v", err)
	}
	br, _ := netlink.LinkByName(cfg.Bridge)
	if err := netlink.LinkSetMaster(veth, br); err != nil {
		t.Fatalf("attach veth: %v", err)
	}
	pod := Pod{ID: "0123abcd", IP: netip.MustParseAddr("10.99.0.2"), HostVeth: "mpveth", Mappings: []Mapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}}
	other := Pod{ID: "4567ef", IP: netip.MustParseAddr("10.99.0.3")}
	for _, p := range []Pod{pod, other} {
		if err := Setup(cfg, p); err != nil {
			t.Fatalf("Setup %s: %v", p.ID, err)
		}
	}
	tagged, err := Tagged(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tagged[pod.ID]; !ok || len(tagged) != 1 {
		t.Errorf("Tagged = %v, want only %s (the other pod publishes nothing)", tagged, pod.ID)
	}
	// The base chains are rewritten, not appended to, by every Setup.
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := table(cfg.Bridge)
	post, err := c.GetRules(tb, &nftables.Chain{Table: tb, Name: chainPostrouting})
	if err != nil || len(post) != 2 {
		t.Errorf("postrouting has %d rules (%v), want 2", len(post), err)
	}
	for _, sysctl := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/br0/route_localnet"} {
		if b, _ := os.ReadFile("/proc/sys/" + sysctl); string(b) != "1\n" {
			t.Errorf("%s = %q, want 1", sysctl, b)
		}
	}
	if l, err := netlink.LinkByName("mpveth"); err != nil || !hairpin(t, l) {
		t.Error("hairpin mode not set on the pod's veth")
	}

	if err := Teardown(cfg, pod.ID); err != nil {
		t.Fatal(err)
	}
	if err := Teardown(cfg, pod.ID); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	if tagged, err := Tagged(cfg); err != nil || len(tagged) != 0 {
		t.Errorf("after Teardown: Tagged = %v, %v", tagged, err)
	}
	if err := RemoveTable(cfg.Bridge); err != nil {
		t.Fatal(err)
	}
	// The installation's part is written again when it went (a flushed ruleset).
	if err := Setup(cfg, other); err != nil {
		t.Fatal(err)
	}
	if post, err := c.GetRules(tb, &nftables.Chain{Table: tb, Name: chainPostrouting}); err != nil || len(post) != 2 {
		t.Errorf("after the table went: postrouting has %d rules (%v), want 2", len(post), err)
	}
	if err := RemoveTable(cfg.Bridge); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTable(cfg.Bridge); err != nil {
		t.Errorf("second RemoveTable: %v", err)
	}
	if err := Teardown(cfg, pod.ID); err != nil {
		t.Errorf("Teardown without a table: %v", err)
	}
	if _, err := Tagged(cfg); err != nil {
		t.Errorf("Tagged without a table: %v", err)
	}
}

func hairpin(t *testing.T, l netlink.Link) bool {
	info, err := netlink.LinkGetProtinfo(l)
	if err != nil {
		t.Logf("protinfo: %v", err)
		return false
	}
	return info.Hairpin
}
