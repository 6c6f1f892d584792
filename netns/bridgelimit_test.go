package netns

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestBridgeFull fills a real bridge to the kernel's limit, in a network namespace of the
// test's own, and attaches one more interface: the kernel refuses it and the error names the
// limit. (Veths as minipod's, with both ends in that namespace.)
func TestBridgeFull(t *testing.T) {
	requireRoot(t)
	errc := make(chan error, 1)
	go func() {
		// The thread never leaves the new namespace: it is not unlocked, so the runtime ends
		// it with the goroutine, and the namespace goes with its interfaces.
		runtime.LockOSThread()
		errc <- fillBridge()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func fillBridge() error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	la := netlink.NewLinkAttrs()
	la.Name = "br0"
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		return err
	}
	br, err := h.LinkByName("br0")
	if err != nil {
		return err
	}
	for i := range BridgeMaxPorts {
		la := netlink.NewLinkAttrs()
		la.Name = fmt.Sprintf("d%d", i)
		la.MasterIndex = br.Attrs().Index
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: fmt.Sprintf("p%d", i)}); err != nil {
			return fmt.Errorf("port %d of %d: %w", i+1, BridgeMaxPorts, err)
		}
	}
	la = netlink.NewLinkAttrs()
	la.Name = "one-more"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "its-peer"}); err != nil {
		return err
	}
	extra, err := h.LinkByName("one-more")
	if err != nil {
		return err
	}
	err = attachToBridge(h, extra, br)
	if !errors.Is(err, unix.EXFULL) || !strings.Contains(err.Error(), "1023 ports, the kernel's maximum (BR_MAX_PORTS)") || !strings.Contains(err.Error(), "--bridge") {
		return fmt.Errorf("attaching port %d: %v, want EXFULL naming the limit", BridgeMaxPorts+1, err)
	}
	return nil
}
