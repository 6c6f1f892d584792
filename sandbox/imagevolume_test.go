package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// An image volume is an overlay of its layers (or a bind of its one layer), read-only,
// nosuid, nodev and noexec, mounted once per image; releaseDataDir leaves nothing.
func TestMountImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layer := func(name string, files map[string]string) string {
		d := filepath.Join(base, "layers", name)
		for f, content := range files {
			p := filepath.Join(d, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	bottom := layer("l0", map[string]string{"etc/a": "bottom", "etc/b": "bottom"})
	top := layer("l1", map[string]string{"etc/a": "top"})
	rec := &state.Record{Config: state.Config{Root: filepath.Join(base, "root")}, Pod: api.Pod{Metadata: api.ObjectMeta{UID: "0b5f3c1e-1111-4222-8333-444455556666"}}}
	sb := &Sandbox{rec: rec}
	t.Cleanup(func() { releaseDataDir(rec) })

	id := "sha256:" + strings.Repeat("ab", 32)
	p, err := sb.MountImage(id, []string{bottom, top})
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(rec.DataDir(), "image-volumes", strings.Repeat("ab", 32)) {
		t.Errorf("mount point %s", p)
	}
	for f, want := range map[string]string{"etc/a": "top", "etc/b": "bottom"} {
		if b, err := os.ReadFile(filepath.Join(p, f)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", f, b, err, want)
		}
	}
	if again, err := sb.MountImage(id, []string{bottom, top}); err != nil || again != p {
		t.Errorf("second MountImage = %s, %v; want the same mount", again, err)
	}
	one, err := sb.MountImage("rootfs:"+bottom, []string{bottom})
	if err != nil {
		t.Fatal(err)
	}
	for _, mp := range []string{p, one} {
		ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(mp))
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: %d mounts, %v; want 1", mp, len(ms), err)
		}
		for _, o := range []string{"ro", "nosuid", "nodev", "noexec"} {
			if !strings.Contains(","+ms[0].Options+",", ","+o+",") {
				t.Errorf("%s mounted %q, want %s", mp, ms[0].Options, o)
			}
		}
		if err := os.WriteFile(filepath.Join(mp, "etc/new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
			t.Errorf("write into %s: %v, want EROFS", mp, err)
		}
	}
	if _, err := sb.MountImage("sha256:empty", nil); err == nil {
		t.Error("an image without layers was mounted")
	}
	if err := releaseDataDir(rec); err != nil {
		t.Fatal(err)
	}
	if ms, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(base)); len(ms) != 0 {
		t.Errorf("left mounted: %v", ms)
	}
	for _, l := range []string{bottom, top} {
		if _, err := os.Stat(filepath.Join(l, "etc/a")); err != nil {
			t.Errorf("a layer lost its content: %v", err)
		}
	}
}
