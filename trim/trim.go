// Package trim gives back memory that a long-lived minipod process (a pod's monitor, a
// foreground run) needed to start and does not need to idle.
package trim

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// idleGCPercent is the GC target of an idle process. What it still allocates (a probe's
// request every second, a status write) is garbage that Go's default target (GOGC=100, with
// its 4 MB minimum heap) lets pile up to about 4 MB before the first collection, and the
// scavenger keeps most of it: a monitor probing every second held 6 to 7 MB anonymous after
// two minutes, 4.7 to 5 MB with 25 (README Performance). The heap an idle monitor keeps alive
// is about 0.5 MB, so a collection every ~1 MB allocated costs well under a millisecond.
// GOGC in the environment still wins.
const idleGCPercent = 25

// Memory gives back what starting needed and idling does not: the heap's free pages, and
// the binary's code and read-only data pages, of which an idle process touches few. Code
// pages are shared with every other minipod process and stay in the page cache; dropping them from this process only stops counting them in its resident set until used.
// From then on the heap is collected at idleGCPercent.
func Memory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(idleGCPercent)
	}
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		start, end, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(start, 16, 64)
		hi, err2 := strconv.ParseUint(end, 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		// Read-only private file mappings hold no private data: dropping their pages is
		// safe, they fault back in from the file.
		// The raw syscall: these are addresses from /proc, not Go memory.
		unix.Syscall(unix.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), unix.MADV_DONTNEED)
	}
}
