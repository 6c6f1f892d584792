package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Resource versions. Kubernetes clients need a resourceVersion that orders every change of
// every pod (list then watch from it; resume a broken watch). etcd gives the API server one
// global counter; minipod has no central writer (each pod's monitor writes its own status, and
// the daemon may be down), so the version is a clock every process on the host shares:
//
//	resourceVersion = epoch + CLOCK_BOOTTIME in nanoseconds
//
// CLOCK_BOOTTIME never steps (settimeofday, NTP slews and steps do not touch it) and is one
// clock for all processes, so versions written by different monitors order as their writes
// did, whatever the wall clock does. The epoch is the wall-clock time of the boot, fixed in
// <state-dir>/rv-epoch by the first process that needs it: the state directory is on tmpfs
// (/run), so a reboot gets a new epoch, and versions after a reboot exceed those before it as
// long as the wall clock did not go back across the reboot. Each writer also keeps its own
// versions strictly increasing (Next), so two writes of one pod never share one.
//
// The daemon orders what it serves by the same clock (see package apiserver): its list
// versions and the versions of deletions it observes come from Now.

// RVEpochFile fixes the epoch of resource versions for this boot.
const RVEpochFile = "rv-epoch"

// RVClock hands out resource versions.
type RVClock struct {
	epoch int64
	mu    sync.Mutex
	last  uint64
}

// OpenRVClock returns the clock of the state directory, fixing its epoch if none is yet.
func OpenRVClock(stateDir string) (*RVClock, error) {
	path := filepath.Join(stateDir, RVEpochFile)
	epoch, err := readEpoch(path)
	if errors.Is(err, os.ErrNotExist) {
		epoch, err = createEpoch(path)
	}
	if err != nil {
		return nil, fmt.Errorf("resource version clock: %w", err)
	}
	return &RVClock{epoch: epoch}, nil
}

func readEpoch(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// createEpoch writes the epoch with a link, so that of two processes racing, one wins and
// both read its value.
func createEpoch(path string) (int64, error) {
	var rt, bt unix.Timespec
	unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt)
	epoch := rt.Nano() - bt.Nano()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".rv-epoch.tmp*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	_, err = fmt.Fprintf(f, "%d\n", epoch)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return 0, err
	}
	if err := os.Link(f.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return 0, err
	}
	return readEpoch(path)
}

// Now is the clock's current reading.
func (c *RVClock) Now() uint64 {
	var bt unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt)
	return uint64(c.epoch + bt.Nano())
}

// Next returns a version above every one this clock returned before.
func (c *RVClock) Next() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.Now(), c.last+1)
	return c.last
}

// FormatRV and ParseRV convert a resource version to and from its string form.
func FormatRV(rv uint64) string { return strconv.FormatUint(rv, 10) }

// ParseRV parses a resource version; "" is 0.
func ParseRV(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}
