package netns

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root")
	}
}

// subnetSeq gives each test its own 10.250.x.0/24, starting at a random x so
// concurrent test runs are unlikely to collide.
var subnetSeq = func() *atomic.Uint32 {
	var v atomic.Uint32
	var b [1]byte
	rand.Read(b[:])
	v.Store(uint32(b[0]))
	return &v
}()

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// testConfig returns a Config on a bridge and subnet of its own and removes
// the bridge and the netns dir's mount afterwards.
func testConfig(tb testing.TB, bits int) Config {
	tb.Helper()
	dir := tb.TempDir()
	third := byte(subnetSeq.Add(1))
	cfg := Config{
		Bridge:   "mpt" + randHex(6),
		Subnet:   netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, third, 0}), bits).Masked(),
		IPAMDir:  filepath.Join(dir, "ipam"),
		NetNSDir: filepath.Join(dir, "netns"),
	}
	tb.Cleanup(func() { // runs before TempDir's removal
		if des, err := os.ReadDir(cfg.NetNSDir); err == nil {
			for _, de := range des {
				_ = Teardown(cfg, de.Name())
			}
		}
		for range 4 {
			if unix.Unmount(cfg.NetNSDir, unix.MNT_DETACH) != nil {
				break
			}
		}
		if l, err := netlink.LinkByName(cfg.Bridge); err == nil {
			netlink.LinkDel(l)
		}
	})
	return cfg
}

func mustSetup(tb testing.TB, cfg Config, id string) *Sandbox {
	tb.Helper()
	sb, err := Setup(cfg, id)
	if err != nil {
		tb.Fatalf("Setup: %v", err)
	}
	return sb
}

// inNetNS runs fn on a thread switched into the netns at path. Sockets
// created by fn stay in that netns.
func inNetNS(path string, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		err = fn()
		if serr := netns.Set(orig); serr != nil {
			ch <- errors.Join(err, serr) // thread dies with the goroutine
			return
		}
		runtime.UnlockOSThread()
		ch <- err
	}()
	return <-ch
}

func mountPoints(tb testing.TB) map[string]string {
	tb.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 6 {
			m[fields[4]] = strings.Join(fields[6:], " ")
		}
	}
	return m
}

func linkExists(tb testing.TB, name string) bool {
	tb.Helper()
	_, err := netlink.LinkByName(name)
	if _, ok := err.(netlink.LinkNotFoundError); ok {
		return false
	}
	if err != nil {
		tb.Fatalf("LinkByName(%s): %v", name, err)
	}
	return true
}

// assertGone checks that nothing of sandbox id is left.
func assertGone(tb testing.TB, cfg Config, id string) {
	tb.Helper()
	pinPath := filepath.Join(cfg.NetNSDir, id)
	if linkExists(tb, HostVethName(id)) {
		tb.Errorf("veth %s still exists", HostVethName(id))
	}
	if _, err := os.Lstat(pinPath); !os.IsNotExist(err) {
		tb.Errorf("pin %s still exists (%v)", pinPath, err)
	}
	if _, ok := mountPoints(tb)[pinPath]; ok {
		tb.Errorf("%s still mounted", pinPath)
	}
	ids, err := AllocatedIDs(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range ids {
		if x == id {
			tb.Errorf("%s still holds an IP", id)
		}
	}
}

func logBridgeNetfilter(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
	if err != nil {
		t.Logf("br_netfilter not loaded (%v): bridged frames bypass iptables", err)
		return
	}
	t.Logf("bridge-nf-call-iptables = %s (1: bridged IPv4 goes through the iptables FORWARD chain; a DROP policy there would cut pod<->pod traffic)", strings.TrimSpace(string(b)))
}

func TestSetupConnectivityTeardown(t *testing.T) {
	requireRoot(t)
	logBridgeNetfilter(t)
	cfg := testConfig(t, 24)
	idA, idB := randHex(64), randHex(64)
	a := mustSetup(t, cfg, idA)
	b := mustSetup(t, cfg, idB)

	if a.IP == b.IP || !cfg.Subnet.Contains(a.IP) || !cfg.Subnet.Contains(b.IP) || a.IP == a.Gateway {
		t.Fatalf("bad IPs: A %s, B %s, gateway %s, subnet %s", a.IP, b.IP, a.Gateway, cfg.Subnet)
	}
	if a.Gateway != cfg.Subnet.Addr().Next() || a.Prefix != cfg.Subnet || a.NetNSPath != filepath.Join(cfg.NetNSDir, idA) {
		t.Fatalf("bad sandbox %+v", a)
	}
	if opts := mountPoints(t)[cfg.NetNSDir]; !strings.Contains(opts, "shared:") {
		t.Errorf("NetNSDir not a shared mount: %q", opts)
	}

	br, err := netlink.LinkByName(cfg.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	for _, sb := range []*Sandbox{a, b} {
		v, err := netlink.LinkByName(sb.HostVeth)
		if err != nil {
			t.Fatal(err)
		}
		if v.Attrs().MasterIndex != br.Attrs().Index || v.Attrs().Flags&net.FlagUp == 0 || v.Attrs().MTU != br.Attrs().MTU {
			t.Errorf("host veth %s: master %d (bridge %d), flags %v, mtu %d (bridge %d)",
				sb.HostVeth, v.Attrs().MasterIndex, br.Attrs().Index, v.Attrs().Flags, v.Attrs().MTU, br.Attrs().MTU)
		}

		// Inside: lo up, eth0 up with the address, default route.
		nsh, err := netns.GetFromPath(sb.NetNSPath)
		if err != nil {
			t.Fatal(err)
		}
		h, err := netlink.NewHandleAt(nsh)
		nsh.Close()
		if err != nil {
			t.Fatal(err)
		}
		lo, err := h.LinkByName("lo")
		if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("lo in %s: %v, %+v", sb.NetNSPath, err, lo)
		}
		eth0, err := h.LinkByName("eth0")
		if err != nil || eth0.Attrs().Flags&net.FlagUp == 0 {
			t.Fatalf("eth0 in %s: %v", sb.NetNSPath, err)
		}
		addrs, _ := h.AddrList(eth0, netlink.FAMILY_V4)
		if len(addrs) != 1 || addrs[0].IPNet.String() != netip.PrefixFrom(sb.IP, cfg.Subnet.Bits()).String() {
			t.Errorf("eth0 addresses: %v", addrs)
		}
		routes, _ := h.RouteList(eth0, netlink.FAMILY_V4)
		var gw bool
		for _, r := range routes {
			if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == sb.Gateway.String() {
				gw = true
			}
		}
		if !gw {
			t.Errorf("no default route via %s: %v", sb.Gateway, routes)
		}
		h.Close()
	}

	// A TCP server inside A that answers with the peer's address.
	var ln net.Listener
	if err := inNetNS(a.NetNSPath, func() (err error) {
		ln, err = net.Listen("tcp4", ":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s\n", c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	target := netip.AddrPortFrom(a.IP, uint16(port)).String()
	ask := func(c net.Conn, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("dial %s: %v", target, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		s, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("read from %s: %v", target, err)
		}
		return strings.TrimSpace(string(s))
	}

	// Host -> A: arrives from the gateway address on the bridge.
	if got := ask(net.DialTimeout("tcp4", target, 3*time.Second)); got != a.Gateway.String() {
		t.Errorf("host -> A: server saw %s, want %s", got, a.Gateway)
	}
	// B -> A over the bridge.
	var c net.Conn
	err = inNetNS(b.NetNSPath, func() (err error) {
		c, err = net.DialTimeout("tcp4", target, 3*time.Second)
		return err
	})
	if got := ask(c, err); got != b.IP.String() {
		t.Errorf("B -> A: server saw %s, want %s", got, b.IP)
	}
	// The host cannot reach lo of A: loopback stays private to the netns.
	ln.Close()

	ids, err := AllocatedIDs(cfg)
	if err != nil || len(ids) != 2 {
		t.Fatalf("AllocatedIDs = %v, %v", ids, err)
	}

	for _, id := range []string{idA, idB} {
		for range 2 { // second one is a no-op
			if err := Teardown(cfg, id); err != nil {
				t.Fatalf("Teardown: %v", err)
			}
		}
		assertGone(t, cfg, id)
	}
	if !linkExists(t, cfg.Bridge) {
		t.Error("Teardown deleted the shared bridge")
	}
}

func TestSetupRefusesExistingID(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t, 24)
	id := randHex(64)
	sb := mustSetup(t, cfg, id)
	if _, err := Setup(cfg, id); err == nil {
		t.Fatal("second Setup with the same id succeeded")
	} else {
		t.Logf("second Setup: %v", err)
	}
	// The failed Setup must not have touched the existing sandbox.
	if !linkExists(t, sb.HostVeth) {
		t.Error("veth of existing sandbox deleted")
	}
	if _, ok := mountPoints(t)[sb.NetNSPath]; !ok {
		t.Error("pin of existing sandbox unmounted")
	}
	if ids, _ := AllocatedIDs(cfg); len(ids) != 1 {
		t.Errorf("AllocatedIDs = %v", ids)
	}
	if err := Teardown(cfg, id); err != nil {
		t.Fatal(err)
	}
	assertGone(t, cfg, id)
}

func TestTeardownAfterPinRemovedByHand(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t, 24)
	id := randHex(64)
	sb := mustSetup(t, cfg, id)
	if err := unix.Unmount(sb.NetNSPath, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sb.NetNSPath); err != nil {
		t.Fatal(err)
	}
	if err := Teardown(cfg, id); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	assertGone(t, cfg, id)

	// Like after a reboot: only the IP file is left.
	id2 := randHex(64)
	ip, err := (&ipam{dir: cfg.IPAMDir, subnet: cfg.Subnet}).Allocate(id2)
	if err != nil {
		t.Fatal(err)
	}
	if err := Teardown(cfg, id2); err != nil {
		t.Fatalf("Teardown of IP-only sandbox: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.IPAMDir, ip.String())); !os.IsNotExist(err) {
		t.Errorf("IP %s not released", ip)
	}
}

func TestSetupFailureRollsBack(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t, 30) // room for exactly one pod
	idA, idB := randHex(64), randHex(64)
	mustSetup(t, cfg, idA)

	_, err := Setup(cfg, idB)
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Setup on full /30: err = %v, want ErrExhausted", err)
	}
	t.Logf("exhausted: %v", err)
	assertGone(t, cfg, idB)

	// A failure before anything was created by Setup: the host veth name is
	// taken by a non-veth, which must survive both Setup and Teardown.
	if err := Teardown(cfg, idA); err != nil {
		t.Fatal(err)
	}
	idC := randHex(64)
	squatter := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: HostVethName(idC), TxQLen: -1}}
	if err := netlink.LinkAdd(squatter); err != nil {
		t.Fatal(err)
	}
	defer netlink.LinkDel(squatter)
	if _, err := Setup(cfg, idC); err == nil {
		t.Fatal("Setup with a taken veth name succeeded")
	} else {
		t.Logf("name clash: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(cfg.NetNSDir, idC)); !os.IsNotExist(err) {
		t.Error("pin left behind")
	}
	if ids, _ := AllocatedIDs(cfg); len(ids) != 0 {
		t.Errorf("AllocatedIDs = %v", ids)
	}
	if err := Teardown(cfg, idC); err == nil || !strings.Contains(err.Error(), "not a veth") {
		t.Errorf("Teardown with squatter: %v", err)
	}
	if !linkExists(t, HostVethName(idC)) {
		t.Error("foreign link deleted")
	}
}

func readFile(tb testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func countFDs(tb testing.TB) int {
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(des)
}

func TestManyCycles(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t, 24)
	mustSetup(t, cfg, "00") // bridge, pin dir
	if err := Teardown(cfg, "00"); err != nil {
		t.Fatal(err)
	}
	fds := countFDs(t)
	var ips []netip.Addr
	for i := range 50 {
		id := fmt.Sprintf("%04x", i)
		sb := mustSetup(t, cfg, id)
		ips = append(ips, sb.IP)
		if err := Teardown(cfg, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := countFDs(t); n != fds {
		t.Errorf("fds: %d before, %d after", fds, n)
	}
	if ips[0] == ips[1] {
		t.Errorf("no round robin: %v", ips[:2])
	}
	des, _ := os.ReadDir(cfg.NetNSDir)
	if len(des) != 0 {
		t.Errorf("NetNSDir not empty: %v", des)
	}
	des, _ = os.ReadDir(cfg.IPAMDir)
	if len(des) != 1 || des[0].Name() != lastReservedFile {
		t.Errorf("IPAMDir: %v", des)
	}
	for mp := range mountPoints(t) {
		if strings.HasPrefix(mp, cfg.NetNSDir+"/") {
			t.Errorf("leftover mount %s", mp)
		}
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Attrs().MasterIndex != 0 {
			if br, _ := netlink.LinkByIndex(l.Attrs().MasterIndex); br != nil && br.Attrs().Name == cfg.Bridge {
				t.Errorf("leftover port %s", l.Attrs().Name)
			}
		}
	}
}

func TestConcurrentSetup(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t, 24) // bridge does not exist yet: creation races
	const n = 8
	sbs := make([]*Sandbox, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { sbs[i], errs[i] = Setup(cfg, fmt.Sprintf("c%d", i)) })
	}
	wg.Wait()
	mounts := 0
	for _, line := range strings.Split(readFile(t, "/proc/self/mountinfo"), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == cfg.NetNSDir {
			mounts++
		}
	}
	if mounts != 1 {
		t.Errorf("NetNSDir mounted %d times", mounts)
	}
	seen := map[netip.Addr]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Setup %d: %v", i, errs[i])
		}
		if seen[sbs[i].IP] {
			t.Fatalf("duplicate IP %s", sbs[i].IP)
		}
		seen[sbs[i].IP] = true
	}
	for i := range n {
		wg.Go(func() { errs[i] = Teardown(cfg, sbs[i].ID) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Teardown %d: %v", i, errs[i])
		}
		assertGone(t, cfg, sbs[i].ID)
	}
}

func BenchmarkSetupTeardown(b *testing.B) {
	requireRoot(b)
	cfg := testConfig(b, 24)
	mustSetup(b, cfg, "00") // bridge and pin dir exist, as in steady state
	if err := Teardown(cfg, "00"); err != nil {
		b.Fatal(err)
	}
	var setup, teardown time.Duration
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("%x", i+1)
		i++
		t0 := time.Now()
		mustSetup(b, cfg, id)
		t1 := time.Now()
		if err := Teardown(cfg, id); err != nil {
			b.Fatal(err)
		}
		setup += t1.Sub(t0)
		teardown += time.Since(t1)
	}
	b.ReportMetric(float64(setup.Microseconds())/float64(i), "setup-µs/op")
	b.ReportMetric(float64(teardown.Microseconds())/float64(i), "teardown-µs/op")
}
