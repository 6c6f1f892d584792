package mountpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mountsAt returns the optional-fields column (propagation) of each mount at dir.
func mountsAt(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 6 && f[4] == dir {
			out = append(out, f[6])
		}
	}
	return out
}

func TestEnsure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := filepath.Join(t.TempDir(), "roots", "pins")
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	for range 2 { // the second call finds it done
		if err := Ensure(dir, 0o700, unix.MS_SHARED); err != nil {
			t.Fatalf("Ensure = %v", err)
		}
	}
	if got := mountsAt(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], "shared:") {
		t.Fatalf("mounts at %s: %q, want one shared bind mount", dir, got)
	}
	// Asked again with another propagation, the same mount changes.
	if err := Ensure(dir, 0o700, unix.MS_PRIVATE); err != nil {
		t.Fatal(err)
	}
	if got := mountsAt(t, dir); len(got) != 1 || strings.HasPrefix(got[0], "shared:") {
		t.Fatalf("mounts at %s: %q, want one private mount", dir, got)
	}

	// A directory with a mount below it is left alone.
	busy := filepath.Join(t.TempDir(), "data")
	below := filepath.Join(busy, "pod", "shm")
	if err := os.MkdirAll(below, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("shm", below, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(below, unix.MNT_DETACH) })
	if err := Ensure(busy, 0o700, unix.MS_PRIVATE); err != nil {
		t.Fatalf("Ensure with a mount below = %v", err)
	}
	if got := mountsAt(t, busy); len(got) != 0 {
		t.Errorf("mounts at %s: %q, want none", busy, got)
	}
}
