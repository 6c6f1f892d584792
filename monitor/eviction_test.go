package monitor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	if got := diskUsage(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("diskUsage of a missing dir = %d, want 0", got)
	}
	empty := diskUsage(dir)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = 1 // not sparse
	}
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"f", "a/b/g"} {
		if err := os.WriteFile(filepath.Join(dir, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A hard link is counted once, like du.
	if err := os.Link(filepath.Join(dir, "f"), filepath.Join(dir, "a", "link")); err != nil {
		t.Fatal(err)
	}
	got := diskUsage(dir) - empty
	if got < 2<<20 || got > 2<<20+64<<10 {
		t.Errorf("diskUsage = %d more than empty, want about 2 MiB", got)
	}
}
