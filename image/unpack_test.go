package image

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"a/b": "a/b", "./a/b/": "a/b", "/etc/passwd": "etc/passwd", "//x": "x", "a/../b": "b",
		".": "", "./": "", "/": "", "a/..": "",
		"..": "!", "../x": "!", "a/../../x": "!", "/../x": "!", "./../x": "!",
	} {
		got, ok := cleanName(in)
		if !ok {
			got = "!"
		}
		if got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOverlayMerge stacks two unpacked layers with overlayfs: the top one deletes a file by
// whiteout and makes a directory opaque, and the merged view must show exactly that.
func TestOverlayMerge(t *testing.T) {
	needRoot(t)
	bottom := gzLayer(t,
		dirE("etc/", 0o755),
		fileE("etc/deleted", "gone", 0o644),
		fileE("etc/kept", "kept", 0o644),
		dirE("opaque/", 0o755),
		fileE("opaque/lower-only", "lower", 0o644),
		fileE("opaque/both", "lower", 0o644),
		dirE("forged/", 0o755),
		fileE("forged/lower", "lower", 0o644),
		dirE("gone-dir/", 0o755),
		fileE("gone-dir/f", "f", 0o644),
	)
	suid := fileE("bin/suid", "#!", 0o4755)
	suid.Uid, suid.Gid = 1234, 5678
	withXattr := fileE("bin/xattr", "x", 0o640)
	withXattr.PAXRecords["SCHILY.xattr.user.note"] = "hello"
	forged := dirE("forged/", 0o755)
	forged.PAXRecords = map[string]string{"SCHILY.xattr.trusted.overlay.opaque": "y"}
	top := gzLayer(t,
		fileE("etc/.wh.deleted", "", 0),
		fileE("opaque/.wh..wh..opq", "", 0),
		fileE("opaque/both", "upper", 0o600),
		fileE("opaque/upper-only", "upper", 0o644),
		forged,
		fileE(".wh.gone-dir", "", 0),
		fileE(".wh..wh.plnk", "", 0), // AUFS bookkeeping: ignored
		suid, withXattr,
		symlinkE("bin/abs-link", "/etc/kept"),
		hardlinkE("bin/hard", "/bin/xattr"),
		fileE("/abs/name", "cleaned", 0o644),
		&tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o620, ModTime: testTime},
	)
	dir, _ := singleImageLayout(t, bottom, top)
	s := newStore(t)
	img := mustResolve(t, s, "oci:"+dir)
	if len(img.Layers) != 2 {
		t.Fatalf("Layers = %q", img.Layers)
	}
	diffTop := digestOf(t, top.DiffID)
	if !strings.Contains(img.Layers[1], diffTop.Hex) {
		t.Fatalf("Layers not bottom first: %q (top is %s)", img.Layers, diffTop)
	}

	// The whiteouts as written in the top layer.
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(img.Layers[1], "etc/deleted"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("whiteout: %v mode %o rdev %d", err, st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(img.Layers[1], "opaque"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Fatalf("opaque xattr: %v %q", err, buf[:n])
	}
	if _, err := unix.Getxattr(filepath.Join(img.Layers[1], "forged"), "trusted.overlay.opaque", buf); err == nil {
		t.Fatal("a trusted.* xattr from the tar was applied")
	}

	root := t.TempDir()
	upper, work, merged := filepath.Join(root, "upper"), filepath.Join(root, "work"), filepath.Join(root, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lower := slices.Clone(img.Layers)
	slices.Reverse(lower)
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)

	exists := func(p string) bool { _, err := os.Lstat(filepath.Join(merged, p)); return err == nil }
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(merged, p)); return string(b) }
	for _, p := range []string{"etc/deleted", "opaque/lower-only", "gone-dir", "gone-dir/f", ".wh..wh.plnk"} {
		if exists(p) {
			t.Errorf("%s visible in merged view", p)
		}
	}
	for p, want := range map[string]string{"etc/kept": "kept", "opaque/both": "upper", "opaque/upper-only": "upper",
		"forged/lower": "lower", "abs/name": "cleaned", "bin/hard": "x"} {
		if got := read(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	names, _ := os.ReadDir(filepath.Join(merged, "opaque"))
	if len(names) != 2 {
		t.Errorf("opaque/ has %d entries, want 2", len(names))
	}

	// Metadata.
	if err := unix.Lstat(filepath.Join(merged, "bin/suid"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o4755 || st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("bin/suid: mode %o uid %d gid %d", st.Mode&0o7777, st.Uid, st.Gid)
	}
	if st.Mtim.Sec != testTime.Unix() || st.Mtim.Nsec != int64(testTime.Nanosecond()) {
		t.Errorf("bin/suid mtime %v", st.Mtim)
	}
	if n, err := unix.Lgetxattr(filepath.Join(merged, "bin/xattr"), "user.note", buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("user.note xattr: %v %q", err, buf[:n])
	}
	if target, err := os.Readlink(filepath.Join(merged, "bin/abs-link")); err != nil || target != "/etc/kept" {
		t.Errorf("symlink: %q %v", target, err)
	}
	var a, b unix.Stat_t
	unix.Lstat(filepath.Join(img.Layers[1], "bin/hard"), &a)
	unix.Lstat(filepath.Join(img.Layers[1], "bin/xattr"), &b)
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hardlink: inodes %d/%d nlink %d", a.Ino, b.Ino, a.Nlink)
	}
	if err := unix.Lstat(filepath.Join(merged, "run/fifo"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o777 != 0o620 {
		t.Errorf("fifo: %v mode %o", err, st.Mode)
	}
	if err := unix.Lstat(filepath.Join(img.Layers[0], "etc"), &st); err != nil || st.Mtim.Sec != testTime.Unix() {
		t.Errorf("directory mtime not kept: %v %v", err, st.Mtim)
	}
}

// TestHostileLayers feeds layers that try to write outside the store; each must be refused
// with an error naming the layer and entry, and nothing may appear outside.
func TestHostileLayers(t *testing.T) {
	needRoot(t)
	outside := t.TempDir()
	sentinel := filepath.Join(outside, "sentinel")
	if err := os.WriteFile(sentinel, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat("../", 40) + strings.TrimPrefix(outside, "/")
	passwd, _ := os.ReadFile("/etc/passwd")
	char := &tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}
	block := &tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o660, Devmajor: 8}
	cases := []struct {
		name  string
		entry string // the entry the error must name
		hdrs  []*tar.Header
	}{
		{"dotdot escape", "../pwned", []*tar.Header{fileE("../pwned", "x", 0o644)}},
		{"deep dotdot escape", deep + "/pwned", []*tar.Header{fileE(deep+"/pwned", "x", 0o644)}},
		{"absolute symlink then write through it", "evil/pwned",
			[]*tar.Header{symlinkE("evil", outside), fileE("evil/pwned", "x", 0o644)}},
		{"relative symlink then write through it", "evil/pwned",
			[]*tar.Header{symlinkE("evil", deep), fileE("evil/pwned", "x", 0o644)}},
		{"symlink then mkdir through it", "evil/sub",
			[]*tar.Header{symlinkE("evil", outside), dirE("evil/sub", 0o755)}},
		{"symlink then whiteout through it", "evil/.wh.sentinel",
			[]*tar.Header{symlinkE("evil", outside), fileE("evil/.wh.sentinel", "", 0)}},
		{"symlink then opaque through it", "evil/.wh..wh..opq",
			[]*tar.Header{symlinkE("evil", outside), fileE("evil/.wh..wh..opq", "", 0)}},
		{"hardlink to /etc/passwd", "passwd", []*tar.Header{hardlinkE("passwd", "/etc/passwd")}},
		{"hardlink climbing out", "passwd", []*tar.Header{hardlinkE("passwd", "../../../../../../../../etc/passwd")}},
		{"hardlink through a symlink", "sentinel-link",
			[]*tar.Header{symlinkE("evil", outside), hardlinkE("sentinel-link", "evil/sentinel")}},
		{"char device", "dev/null", []*tar.Header{char}},
		{"block device", "dev/sda", []*tar.Header{block}},
		{"whiteout of ..", "a/.wh..", []*tar.Header{fileE("a/.wh..", "", 0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := gzLayer(t, tc.hdrs...)
			dir, _ := singleImageLayout(t, l)
			s := newStore(t)
			_, err := s.Resolve(context.Background(), "oci:"+dir)
			if err == nil {
				t.Fatal("hostile layer accepted")
			}
			if !errors.Is(err, ErrInvalidImage) {
				t.Errorf("error is not ErrInvalidImage: %v", err)
			}
			dig := digestOf(t, l.Digest)
			if !strings.Contains(err.Error(), dig.String()) || !strings.Contains(err.Error(), tc.entry) {
				t.Errorf("error does not name layer %s and entry %q: %v", dig, tc.entry, err)
			}
			t.Log(err)
			if b, _ := os.ReadFile(sentinel); string(b) != "untouched" {
				t.Fatalf("sentinel changed: %q", b)
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 {
				t.Fatalf("something landed outside the store: %v", ents)
			}
			if b, _ := os.ReadFile("/etc/passwd"); string(b) != string(passwd) {
				t.Fatal("/etc/passwd changed")
			}
			if e := layersEntries(t, s); len(e) != 0 {
				t.Fatalf("layers left behind: %v", e)
			}
		})
	}

	// Replacing a symlink with a file is legitimate and must replace the link, not write
	// through it.
	t.Run("file replaces symlink", func(t *testing.T) {
		l := gzLayer(t, symlinkE("f", sentinel), fileE("f", "replaced", 0o644))
		dir, _ := singleImageLayout(t, l)
		img := mustResolve(t, newStore(t), "oci:"+dir)
		if b, _ := os.ReadFile(sentinel); string(b) != "untouched" {
			t.Fatalf("sentinel changed: %q", b)
		}
		if b, _ := os.ReadFile(filepath.Join(img.Layers[0], "f")); string(b) != "replaced" {
			t.Fatalf("f = %q", b)
		}
	})
	// A symlink pointing outside is fine as long as nothing follows it.
	t.Run("dangling absolute symlink kept", func(t *testing.T) {
		l := gzLayer(t, symlinkE("etc/shadow-link", "/etc/shadow"), symlinkE("up", "../../../.."))
		dir, _ := singleImageLayout(t, l)
		img := mustResolve(t, newStore(t), "oci:"+dir)
		if target, _ := os.Readlink(filepath.Join(img.Layers[0], "etc/shadow-link")); target != "/etc/shadow" {
			t.Fatalf("symlink target %q", target)
		}
	})
}

// TestReplaceEntries checks that later entries replace earlier ones, as tar does.
func TestReplaceEntries(t *testing.T) {
	needRoot(t)
	l := gzLayer(t,
		dirE("d/", 0o755), fileE("d/child", "c", 0o644),
		fileE("d", "now a file", 0o600), // replaces a non-empty directory
		fileE("x", "file", 0o644),
		dirE("x/", 0o711), // replaces a file
		fileE("x/inner", "in", 0o644),
		dirE("x/", 0o750), // a repeated directory merges and takes the new mode
		fileE("implicit/parent/file", "p", 0o644),
	)
	dir, _ := singleImageLayout(t, l)
	img := mustResolve(t, newStore(t), "oci:"+dir)
	root := img.Layers[0]
	if b, _ := os.ReadFile(filepath.Join(root, "d")); string(b) != "now a file" {
		t.Errorf("d = %q", b)
	}
	fi, err := os.Stat(filepath.Join(root, "x"))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Errorf("x: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "x/inner")); string(b) != "in" {
		t.Errorf("x/inner = %q", b)
	}
	fi, err = os.Stat(filepath.Join(root, "implicit/parent"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("implicit parent: %v %v", fi.Mode(), err)
	}
}

// TestRepeatedLayer: a layer listed twice is unpacked once and given once, at its topmost
// position, since overlayfs refuses a repeated lowerdir.
func TestRepeatedLayer(t *testing.T) {
	needRoot(t)
	a := gzLayer(t, fileE("f", "a", 0o644))
	b := gzLayer(t, fileE("f", "b", 0o644), fileE("g", "b", 0o644))
	dir, _ := singleImageLayout(t, a, b, a)
	img := mustResolve(t, newStore(t), "oci:"+dir)
	da, db := digestOf(t, a.DiffID), digestOf(t, b.DiffID)
	if len(img.Layers) != 2 || !strings.Contains(img.Layers[0], db.Hex) || !strings.Contains(img.Layers[1], da.Hex) {
		t.Fatalf("Layers = %q", img.Layers)
	}
	merged := t.TempDir()
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_RDONLY, "lowerdir="+img.Layers[1]+":"+img.Layers[0]); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	if b, _ := os.ReadFile(filepath.Join(merged, "f")); string(b) != "a" {
		t.Fatalf("f = %q", b)
	}
}
