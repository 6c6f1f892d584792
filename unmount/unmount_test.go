package unmount

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// mountsUnder lists the mount points at or below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out
}

func mountTmpfs(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", p, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs at %s: %v", p, err)
	}
	// Safety net for a failing test: leave nothing mounted on the host.
	t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH) })
}

func TestTree(t *testing.T) {
	skipUnlessRoot(t)
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "pod")
	// Nested mounts: each inner mount point is created on the tmpfs above it, so unmounting a
	// parent first would make its children unreachable by path.
	mountTmpfs(t, dir)
	mountTmpfs(t, filepath.Join(dir, "a"))
	mountTmpfs(t, filepath.Join(dir, "a", "b"))
	mountTmpfs(t, filepath.Join(dir, "a", "b", "c"))
	mountTmpfs(t, filepath.Join(dir, "z"))
	// Stacked twice on the same point.
	mountTmpfs(t, filepath.Join(dir, "z"))
	// Siblings that share the prefix as a string but are not below dir stay.
	sibling := filepath.Join(base, "pod2")
	mountTmpfs(t, sibling)
	if got := mountsUnder(t, dir); len(got) != 6 {
		t.Fatalf("set-up: %d mounts under %s, want 6: %q", len(got), dir, got)
	}

	if err := Tree(dir); err != nil {
		t.Fatalf("Tree: %v", err)
	}
	if got := mountsUnder(t, dir); len(got) != 0 {
		t.Errorf("still mounted under %s: %q", dir, got)
	}
	if got := mountsUnder(t, sibling); len(got) != 1 {
		t.Errorf("the sibling %s was unmounted too (mounts %q)", sibling, got)
	}
	// The directory itself remains, now on the underlying file system, and empty.
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("%s after unmounting: %v entries, err %v; want an empty directory", dir, len(ents), err)
	}

	// Idempotent, and nothing to do is not an error.
	if err := Tree(dir); err != nil {
		t.Errorf("second Tree: %v", err)
	}
	if err := Tree(filepath.Join(base, "missing")); err != nil {
		t.Errorf("Tree of a missing dir: %v", err)
	}
}

func TestDetach(t *testing.T) {
	skipUnlessRoot(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "m")
	mountTmpfs(t, p)
	mountTmpfs(t, p) // stacked
	if err := Detach(p); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if got := mountsUnder(t, p); len(got) != 0 {
		t.Errorf("still mounted: %q", got)
	}
	if err := Detach(p); err != nil {
		t.Errorf("Detach of a plain directory: %v", err)
	}
	if err := Detach(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("Detach of a missing path: %v", err)
	}
	// A symlink is not followed: the mount it points at stays.
	target := filepath.Join(dir, "target")
	mountTmpfs(t, target)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Detach(link); err != nil {
		t.Errorf("Detach of a symlink: %v", err)
	}
	if got := mountsUnder(t, target); len(got) != 1 {
		t.Errorf("Detach followed the symlink: mounts at target %q", got)
	}
}

// An empty or relative directory must never be taken as "every mount".
func TestTreeRefusesNonAbsolute(t *testing.T) {
	for _, dir := range []string{"", ".", "rel/dir", "/", "//"} {
		if err := Tree(dir); err == nil {
			t.Errorf("Tree(%q) = nil, want an error", dir)
		}
	}
}

func TestRemoveAll(t *testing.T) {
	skipUnlessRoot(t)
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "pod")
	// A file outside dir, reachable through a bind mount below it: it must survive.
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(outside, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	bind := filepath.Join(dir, "a", "bind")
	if err := os.MkdirAll(bind, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(outside, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(bind, unix.MNT_DETACH) })
	// Nested and stacked mounts, a bind-mounted file (as a namespace pin is), plain files,
	// and a symlink to the outside, which must not be followed.
	mountTmpfs(t, filepath.Join(dir, "m"))
	mountTmpfs(t, filepath.Join(dir, "m", "n"))
	mountTmpfs(t, filepath.Join(dir, "s"))
	mountTmpfs(t, filepath.Join(dir, "s"))
	if err := os.WriteFile(filepath.Join(dir, "m", "n", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join(dir, "pin")
	if err := os.WriteFile(pin, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("/proc/self/ns/uts", pin, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(pin, unix.MNT_DETACH) })
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if got := mountsUnder(t, dir); len(got) != 6 {
		t.Fatalf("set-up: %d mounts under %s, want 6: %q", len(got), dir, got)
	}

	if err := RemoveAll(dir); err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	if got := mountsUnder(t, dir); len(got) != 0 {
		t.Errorf("still mounted under %s: %q", dir, got)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", dir, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file outside the tree was removed through a mount or a symlink: %v", err)
	}
	// Gone already, and a directory that is itself a mount point.
	if err := RemoveAll(dir); err != nil {
		t.Errorf("RemoveAll of a missing dir: %v", err)
	}
	top := filepath.Join(base, "top")
	mountTmpfs(t, top)
	if err := RemoveAll(top); err != nil {
		t.Errorf("RemoveAll of a mount point: %v", err)
	}
	if _, err := os.Lstat(top); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", top, err)
	}
	for _, d := range []string{"", "rel", "/"} {
		if err := RemoveAll(d); err == nil {
			t.Errorf("RemoveAll(%q) = nil, want an error", d)
		}
	}
}
