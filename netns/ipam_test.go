package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestIPAM(t *testing.T, subnet string) *ipam {
	t.Helper()
	return &ipam{dir: filepath.Join(t.TempDir(), "ipam"), subnet: netip.MustParsePrefix(subnet)}
}

func mustAlloc(t *testing.T, a *ipam, id string) netip.Addr {
	t.Helper()
	ip, err := a.Allocate(id)
	if err != nil {
		t.Fatalf("Allocate(%s): %v", id, err)
	}
	return ip
}

func TestIPAMAllocateAllAndExhaust(t *testing.T) {
	a := newTestIPAM(t, "10.250.0.0/29")
	var got []string
	for i := range 5 {
		got = append(got, mustAlloc(t, a, fmt.Sprintf("a%d", i)).String())
	}
	want := "10.250.0.2 10.250.0.3 10.250.0.4 10.250.0.5 10.250.0.6"
	if strings.Join(got, " ") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	_, err := a.Allocate("b0")
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Allocate on full /29: err = %v, want ErrExhausted", err)
	}
	t.Logf("exhaustion error: %v", err)

	if err := a.Release("a2"); err != nil {
		t.Fatal(err)
	}
	if ip := mustAlloc(t, a, "b0"); ip.String() != "10.250.0.4" {
		t.Fatalf("after release got %s, want the freed 10.250.0.4", ip)
	}
	ids, err := a.IDs(time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids, " "); got != "a0 a1 a3 a4 b0" {
		t.Fatalf("IDs = %s", got)
	}
}

func TestIPAMSmallest(t *testing.T) {
	a := newTestIPAM(t, "10.250.0.4/30")
	if ip := mustAlloc(t, a, "x"); ip.String() != "10.250.0.6" {
		t.Fatalf("got %s, want 10.250.0.6", ip)
	}
	if _, err := a.Allocate("y"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want ErrExhausted", err)
	}
	// Too small subnets must not panic or loop.
	for _, s := range []string{"10.250.0.0/31", "10.250.0.0/32"} {
		if _, err := newTestIPAM(t, s).Allocate("x"); !errors.Is(err, ErrExhausted) {
			t.Fatalf("%s: err = %v, want ErrExhausted", s, err)
		}
	}
}

func TestIPAMRoundRobin(t *testing.T) {
	a := newTestIPAM(t, "10.250.0.0/28") // .2 .. .14
	first := mustAlloc(t, a, "a")
	if err := a.Release("a"); err != nil {
		t.Fatal(err)
	}
	second := mustAlloc(t, a, "b")
	if second == first {
		t.Fatalf("released %s was reused immediately", first)
	}
	// Walk to the end of the range and check it wraps around.
	seen := map[netip.Addr]bool{second: true}
	last := second
	for i := range 11 {
		last = mustAlloc(t, a, fmt.Sprintf("c%d", i))
		seen[last] = true
	}
	if last.String() != "10.250.0.14" {
		t.Fatalf("last = %s, want 10.250.0.14", last)
	}
	if ip := mustAlloc(t, a, "d"); ip != first {
		t.Fatalf("after wrap got %s, want %s", ip, first)
	}

	// A garbage last_reserved_ip must not break allocation.
	if err := os.WriteFile(filepath.Join(a.dir, lastReservedFile), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Release("d"); err != nil {
		t.Fatal(err)
	}
	if ip := mustAlloc(t, a, "e"); ip != first {
		t.Fatalf("got %s, want %s", ip, first)
	}
}

func TestIPAMSameIDReusesAddress(t *testing.T) {
	a := newTestIPAM(t, "10.250.0.0/29")
	ip1 := mustAlloc(t, a, "x")
	ip2 := mustAlloc(t, a, "x")
	if ip1 != ip2 {
		t.Fatalf("second Allocate for the same id gave %s, first %s", ip2, ip1)
	}
}

func TestIPAMConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ipam")
	subnet := netip.MustParsePrefix("10.250.0.0/24")
	const n = 20
	ips := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Separate instances: nothing shared but the directory, as
			// with separate processes.
			a := &ipam{dir: dir, subnet: subnet}
			ips[i], errs[i] = a.Allocate(fmt.Sprintf("%02x", i))
		})
	}
	wg.Wait()
	seen := map[netip.Addr]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if j, dup := seen[ips[i]]; dup {
			t.Fatalf("goroutines %d and %d both got %s", j, i, ips[i])
		}
		seen[ips[i]] = i
	}
	ids, err := (&ipam{dir: dir, subnet: subnet}).IDs(time.Now().Add(time.Hour))
	if err != nil || len(ids) != n {
		t.Fatalf("IDs = %v, %v; want %d ids", ids, err, n)
	}
	// No temp files left behind.
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			t.Errorf("leftover %s", de.Name())
		}
	}
}

func TestIPAMReleaseOnlyOwner(t *testing.T) {
	a := newTestIPAM(t, "10.250.0.0/29")
	ipA := mustAlloc(t, a, "aa")
	ipB := mustAlloc(t, a, "bb")
	for range 2 { // idempotent
		if err := a.Release("aa"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Release("cc"); err != nil { // never allocated
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a.dir, ipA.String())); !os.IsNotExist(err) {
		t.Fatalf("%s still allocated: %v", ipA, err)
	}
	if b, err := os.ReadFile(filepath.Join(a.dir, ipB.String())); err != nil || string(b) != "bb" {
		t.Fatalf("bb's file: %q, %v", b, err)
	}
	// Release and IDs on a directory that does not exist yet.
	empty := newTestIPAM(t, "10.250.0.0/29")
	if err := empty.Release("aa"); err != nil {
		t.Fatal(err)
	}
	if ids, err := empty.IDs(time.Now().Add(time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("IDs = %v, %v", ids, err)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Bridge: "this-name-is-too-long"}, "Bridge"},
		{Config{Bridge: "br/0"}, "Bridge"},
		{Config{Bridge: "br 0"}, "Bridge"},
		{Config{Bridge: ".."}, "Bridge"},
		{Config{Subnet: netip.MustParsePrefix("10.250.0.0/31")}, "Subnet"},
		{Config{Subnet: netip.MustParsePrefix("fd00::/64")}, "Subnet"},
		{Config{Subnet: netip.MustParsePrefix("10.250.0.1/24")}, "Subnet"},
		{Config{Subnet: netip.MustParsePrefix("10.0.0.0/4")}, "Subnet"},
		{Config{IPAMDir: "rel/dir"}, "IPAMDir"},
		{Config{NetNSDir: "rel"}, "NetNSDir"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("%+v: err = %v, want one naming %s", tc.cfg, err, tc.field)
		}
	}
	if err := (Config{Subnet: netip.MustParsePrefix("10.250.0.0/30")}).Validate(); err != nil {
		t.Errorf("/30: %v", err)
	}
}

func TestIDAndVethName(t *testing.T) {
	for _, id := range []string{"", "../x", "ABC", strings.Repeat("a", 65), "a b"} {
		if validID(id) == nil {
			t.Errorf("validID(%q) accepted", id)
		}
		if _, err := Setup(Config{}, id); err == nil {
			t.Errorf("Setup(%q) accepted", id)
		}
		if err := Teardown(Config{}, id); err == nil {
			t.Errorf("Teardown(%q) accepted", id)
		}
	}
	if err := validID(strings.Repeat("0123456789abcdef", 4)); err != nil {
		t.Error(err)
	}
	n := HostVethName("abc")
	if len(n) > 15 || n != HostVethName("abc") || n == HostVethName("abd") {
		t.Errorf("HostVethName: %q", n)
	}
}

// Garbage collection must not see an allocation made after its cut-off: that sandbox may
// belong to a pod whose record it has not read.
func TestIDsBefore(t *testing.T) {
	a := &ipam{dir: t.TempDir(), subnet: netip.MustParsePrefix("10.250.9.0/29")}
	before := time.Now().Add(-time.Second)
	if _, err := a.Allocate("aa"); err != nil {
		t.Fatal(err)
	}
	if ids, err := a.IDs(before); err != nil || len(ids) != 0 {
		t.Errorf("IDs(before the allocation) = %v, %v; want none", ids, err)
	}
	if ids, err := a.IDs(time.Now().Add(time.Second)); err != nil || len(ids) != 1 || ids[0] != "aa" {
		t.Errorf("IDs(after the allocation) = %v, %v; want [aa]", ids, err)
	}
}

// The per-id index makes allocation and release skip reading every allocation; it is only
// believed when the allocation file agrees, and a release without one still finds the address.
func TestIPAMIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ipam")
	a := &ipam{dir: dir, subnet: netip.MustParsePrefix("10.250.0.0/29")}
	ip, err := a.Allocate("aa")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := a.Allocate("aa"); err != nil || again != ip {
		t.Fatalf("second Allocate = %v, %v; want %s", again, err, ip)
	}
	if _, err := os.Stat(filepath.Join(dir, indexPrefix+"aa")); err != nil {
		t.Fatalf("no index: %v", err)
	}
	// A stale index (its address now someone else's) is not believed.
	other, err := a.Allocate("bb")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, indexPrefix+"aa"), []byte(other.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Release("aa"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, other.String())); err != nil {
		t.Fatalf("releasing aa through a stale index removed bb's address: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ip.String())); !os.IsNotExist(err) {
		t.Fatalf("aa's address %s is still allocated: %v", ip, err)
	}
	// Without an index (an allocation by an older minipod) the release scans.
	if err := os.Remove(filepath.Join(dir, indexPrefix+"bb")); err != nil {
		t.Fatal(err)
	}
	if err := a.Release("bb"); err != nil {
		t.Fatal(err)
	}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if de.Name() != lastReservedFile {
			t.Errorf("left after every release: %s", de.Name())
		}
	}
}
