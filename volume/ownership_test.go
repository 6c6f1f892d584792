package volume

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/minipod/minipod/api"
)

func gidMode(t *testing.T, p string) (int, os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Gid), fi.Mode()
}

func TestSetOwnership(t *testing.T) {
	skipUnlessRoot(t)
	onRootMismatch, always := api.FSGroupChangeOnRootMismatch, api.FSGroupChangeAlways
	setup := func(t *testing.T) string {
		dir := tempDir(t)
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "sub", "f"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("sub/f", filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	dir := setup(t)
	if err := SetOwnership(dir, 2000, nil, false); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		dir:                            os.ModeDir | os.ModeSetgid | 0o777, // the kubelet's emptyDir: drwxrwsrwx
		filepath.Join(dir, "sub"):      os.ModeDir | os.ModeSetgid | 0o770,
		filepath.Join(dir, "sub", "f"): 0o660,
		filepath.Join(dir, "link"):     os.ModeSymlink | 0o777,
	} {
		gid, mode := gidMode(t, p)
		if gid != 2000 || mode != want {
			t.Errorf("%s: gid %d mode %v, want 2000 %v", p, gid, mode, want)
		}
	}

	// OnRootMismatch leaves a volume whose root is already right alone.
	if err := os.Chmod(filepath.Join(dir, "sub", "f"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetOwnership(dir, 2000, &onRootMismatch, false); err != nil {
		t.Fatal(err)
	}
	if _, mode := gidMode(t, filepath.Join(dir, "sub", "f")); mode != 0o600 {
		t.Errorf("OnRootMismatch changed a file below a matching root: %v", mode)
	}
	// Always walks it anyway.
	if err := SetOwnership(dir, 2000, &always, false); err != nil {
		t.Fatal(err)
	}
	if _, mode := gidMode(t, filepath.Join(dir, "sub", "f")); mode != 0o660 {
		t.Errorf("Always: %v, want 0660", mode)
	}
	// Another group at the root: OnRootMismatch changes everything.
	if err := SetOwnership(dir, 3000, &onRootMismatch, true); err != nil {
		t.Fatal(err)
	}
	if gid, mode := gidMode(t, filepath.Join(dir, "sub", "f")); gid != 3000 || mode != 0o660 {
		t.Errorf("root mismatch: gid %d mode %v", gid, mode)
	}

	// ApplyFSGroup: emptyDirs only.
	empty, host := setup(t), setup(t)
	vols := []api.Volume{{Name: "e", EmptyDir: &api.EmptyDirVolumeSource{}}, {Name: "h", HostPath: &api.HostPathVolumeSource{Path: host}}}
	fsGroup := int64(4000)
	if err := ApplyFSGroup(Sources{"e": empty, "h": host}, vols, &api.PodSecurityContext{FSGroup: &fsGroup}); err != nil {
		t.Fatal(err)
	}
	if gid, _ := gidMode(t, empty); gid != 4000 {
		t.Errorf("emptyDir gid %d", gid)
	}
	if gid, _ := gidMode(t, host); gid == 4000 {
		t.Error("hostPath got the fsGroup")
	}
}
