package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrExhausted is returned (wrapped) when no address of the subnet is free.
var ErrExhausted = errors.New("no free IP address left")

// lastReservedFile remembers the last address handed out so allocation goes
// round robin: a just-released address is not reused at once, which keeps
// stale ARP entries and late packets from reaching a new pod.
const lastReservedFile = "last_reserved_ip"

// ipam is a disk store in the style of CNI host-local: one file per
// allocated address, named by the address, holding the owning sandbox id.
// Creating the file exclusively is the allocation, so concurrent processes
// need no lock.
type ipam struct {
	dir    string
	subnet netip.Prefix // IPv4, masked, /8../30 (Config.Validate)
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addrFrom(u uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], u)
	return netip.AddrFrom4(b)
}

// hostRange returns the allocatable addresses [first, first+count): the
// network address, the gateway (.1) and the broadcast address are excluded.
func (a *ipam) hostRange() (first uint32, count uint64) {
	size := uint64(1) << (32 - a.subnet.Bits())
	if !a.subnet.Addr().Is4() || size < 4 {
		return 0, 0
	}
	return u32(a.subnet.Addr()) + 2, size - 3
}

// entry is one allocation file.
type entry struct {
	addr    netip.Addr
	id      string
	modTime time.Time
}

// entries reads all allocation files; a missing directory means none.
func (a *ipam) entries() ([]entry, error) {
	des, err := os.ReadDir(a.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, de := range des {
		ip, err := netip.ParseAddr(de.Name())
		if err != nil || !de.Type().IsRegular() {
			continue // last_reserved_ip, temp files, strangers
		}
		b, err := os.ReadFile(filepath.Join(a.dir, de.Name()))
		var fi fs.FileInfo
		if err == nil {
			fi, err = de.Info()
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // released concurrently
		}
		if err != nil {
			return nil, err
		}
		out = append(out, entry{addr: ip, id: strings.TrimSpace(string(b)), modTime: fi.ModTime()})
	}
	return out, nil
}

// Allocate returns the address held by id, allocating a free one if id holds
// none (so a retried Setup after a crash reuses its address).
func (a *ipam) Allocate(id string) (netip.Addr, error) {
	first, count := a.hostRange()
	if count == 0 {
		return netip.Addr{}, fmt.Errorf("subnet %s: %w", a.subnet, ErrExhausted)
	}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return netip.Addr{}, err
	}
	if ip, ok := a.indexed(id); ok {
		return ip, nil
	}
	// The addresses in use are the names of the files: with a thousand pods, reading every
	// file to find an owner would cost each allocation some ten milliseconds.
	used, err := a.usedAddrs()
	if err != nil {
		return netip.Addr{}, err
	}

	// The owner id is written to a temp file that is then hard-linked to the
	// address name: link(2) fails with EEXIST like O_EXCL, but the file
	// appears with its content, so a crash can never leave an ownerless
	// (empty) allocation that garbage collection could not attribute.
	tmp, err := os.CreateTemp(a.dir, ".alloc-*")
	if err != nil {
		return netip.Addr{}, err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(id)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return netip.Addr{}, werr
	}

	var start uint64
	if last, ok := a.lastReserved(); ok {
		l, f := uint64(u32(last)), uint64(first)
		if l >= f && l-f < count {
			start = (l - f + 1) % count
		}
	}
	for i := uint64(0); i < count; i++ {
		ip := addrFrom(first + uint32((start+i)%count))
		if used[ip] {
			continue
		}
		err := os.Link(tmp.Name(), filepath.Join(a.dir, ip.String()))
		if errors.Is(err, fs.ErrExist) {
			continue // lost a race for this address
		}
		if err != nil {
			return netip.Addr{}, err
		}
		// Best effort: a lost update only weakens round robin; a missing index only makes
		// the release scan.
		_ = a.setLastReserved(ip)
		_ = a.writeIndex(id, ip)
		return ip, nil
	}
	return netip.Addr{}, fmt.Errorf("subnet %s (%s): all %d addresses in use: %w", a.subnet, a.dir, count, ErrExhausted)
}

func (a *ipam) lastReserved() (netip.Addr, bool) {
	b, err := os.ReadFile(filepath.Join(a.dir, lastReservedFile))
	if err != nil {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(string(b)))
	if err != nil || !a.subnet.Contains(ip) {
		return netip.Addr{}, false
	}
	return ip, true
}

// setLastReserved replaces the file atomically so readers never see a torn
// value.
func (a *ipam) setLastReserved(ip netip.Addr) error {
	f, err := os.CreateTemp(a.dir, ".last-*")
	if err != nil {
		return err
	}
	_, werr := f.WriteString(ip.String())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), filepath.Join(a.dir, lastReservedFile))
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

// Release removes every allocation owned by id. Releasing an id that holds
// nothing is not an error.
func (a *ipam) Release(id string) error {
	if ip, ok := a.indexed(id); ok {
		err := os.Remove(filepath.Join(a.dir, ip.String()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Remove(a.indexPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	// No index (written by an older minipod, or lost in a crash): look at every allocation.
	defer os.Remove(a.indexPath(id))
	ents, err := a.entries()
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.id != id {
			continue
		}
		err := os.Remove(filepath.Join(a.dir, e.addr.String()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// IDs returns the sorted, distinct ids holding addresses.
func (a *ipam) IDs(before time.Time) ([]string, error) {
	ents, err := a.entries()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, e := range ents {
		if e.id != "" && !seen[e.id] && e.modTime.Before(before) {
			seen[e.id] = true
			ids = append(ids, e.id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// indexPrefix names the index files: by-id-<sandbox id> holds the address the sandbox owns, so
// that an allocation and a release need not read every allocation file. The allocation files
// stay the truth; an index is believed only when the file of its address names the same id.
const indexPrefix = "by-id-"

func (a *ipam) indexPath(id string) string { return filepath.Join(a.dir, indexPrefix+id) }

// indexed returns the address id holds according to its index, checked against the
// allocation file.
func (a *ipam) indexed(id string) (netip.Addr, bool) {
	b, err := os.ReadFile(a.indexPath(id))
	if err != nil {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(string(b)))
	if err != nil || !a.subnet.Contains(ip) {
		return netip.Addr{}, false
	}
	owner, err := os.ReadFile(filepath.Join(a.dir, ip.String()))
	if err != nil || strings.TrimSpace(string(owner)) != id {
		return netip.Addr{}, false
	}
	return ip, true
}

// writeIndex records that id holds ip, atomically.
func (a *ipam) writeIndex(id string, ip netip.Addr) error {
	f, err := os.CreateTemp(a.dir, ".index-*")
	if err != nil {
		return err
	}
	_, werr := f.WriteString(ip.String())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), a.indexPath(id))
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

// usedAddrs returns the allocated addresses, from the file names alone.
func (a *ipam) usedAddrs() (map[netip.Addr]bool, error) {
	des, err := os.ReadDir(a.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	used := make(map[netip.Addr]bool, len(des))
	for _, de := range des {
		if ip, err := netip.ParseAddr(de.Name()); err == nil {
			used[ip] = true
		}
	}
	return used, nil
}
