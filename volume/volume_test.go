package volume

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// tempDir is t.TempDir with symlinks resolved, so that it compares with mountinfo's paths.
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

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

// setup runs Setup and makes sure, whatever happens, nothing stays mounted on the host.
func setup(t *testing.T, dir string, vols []api.Volume) (Sources, error) {
	t.Helper()
	t.Cleanup(func() {
		for _, m := range mountsUnder(t, dir) {
			unix.Unmount(m, unix.MNT_DETACH)
		}
	})
	return Setup(dir, vols)
}

func hostPathType(t api.HostPathType) *api.HostPathType { return &t }

func TestSetupEmptyDir(t *testing.T) {
	dir := filepath.Join(tempDir(t), "volumes")
	src, err := setup(t, dir, []api.Volume{
		{Name: "cache", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "other", EmptyDir: &api.EmptyDirVolumeSource{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cache", "other"} {
		p := filepath.Join(dir, name)
		if src[name] != p {
			t.Errorf("source of %s = %q, want %q", name, src[name], p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// World-writable whatever the umask, like the kubelet's emptyDir.
		if !fi.IsDir() || fi.Mode().Perm() != 0o777 {
			t.Errorf("%s: mode %v, want a directory with 0777", p, fi.Mode())
		}
	}
	if len(src) != 2 {
		t.Errorf("Setup returned %d sources, want 2: %v", len(src), src)
	}
	if got := mountsUnder(t, dir); len(got) != 0 {
		t.Errorf("a disk emptyDir is a plain directory, got mounts %q", got)
	}
}

func TestSetupEmptyDirMemory(t *testing.T) {
	skipUnlessRoot(t)
	const size = 8 << 20
	tests := []struct {
		name      string
		limit     *resource.Quantity
		wantBytes int64 // 0: tmpfs's default size, half of RAM
	}{
		{"with sizeLimit", resource.NewQuantity(size, resource.BinarySI), size},
		{"parsed quantity", ptr(resource.MustParse("16Mi")), 16 << 20},
		{"without sizeLimit", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(tempDir(t), "volumes")
			src, err := setup(t, dir, []api.Volume{{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory, SizeLimit: tt.limit}}})
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "mem")
			if src["mem"] != p {
				t.Errorf("source = %q, want %q", src["mem"], p)
			}
			var st unix.Statfs_t
			if err := unix.Statfs(p, &st); err != nil {
				t.Fatal(err)
			}
			if st.Type != unix.TMPFS_MAGIC {
				t.Fatalf("%s: file system type %#x, want tmpfs", p, st.Type)
			}
			total := int64(st.Blocks) * st.Bsize
			if tt.wantBytes != 0 && total != tt.wantBytes {
				t.Errorf("tmpfs size %d bytes, want %d", total, tt.wantBytes)
			}
			if tt.wantBytes == 0 && total < size {
				t.Errorf("tmpfs size %d bytes, want the default (half of RAM)", total)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o777 {
				t.Errorf("tmpfs root mode %v, want 0777", fi.Mode())
			}
			ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(p))
			if err != nil || len(ms) != 1 {
				t.Fatalf("mountinfo of %s: %v, %v", p, ms, err)
			}
			for _, opt := range []string{"nosuid", "nodev"} {
				if !strings.Contains(","+ms[0].Options+",", ","+opt+",") {
					t.Errorf("mount options %q lack %s", ms[0].Options, opt)
				}
			}
			if err := Teardown(dir); err != nil {
				t.Fatal(err)
			}
			if got := mountsUnder(t, dir); len(got) != 0 {
				t.Errorf("mounts left after Teardown: %q", got)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSetupHostPath(t *testing.T) {
	base := tempDir(t)
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirPath := filepath.Join(base, "dir")
	if err := os.Mkdir(dirPath, 0o755); err != nil {
		t.Fatal(err)
	}
	// A unix socket path must be short: keep it out of the long test directory name.
	sockDir, err := os.MkdirTemp("", "vs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	link := filepath.Join(base, "link-to-dir")
	if err := os.Symlink(dirPath, link); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		typ     *api.HostPathType
		wantErr string           // substring; empty means success
		check   func(*testing.T) // extra checks after success
	}{
		{name: "unset type, missing path", path: filepath.Join(base, "nope"), typ: nil},
		{name: "unset type, empty string", path: filepath.Join(base, "nope"), typ: hostPathType("")},
		{name: "DirectoryOrCreate creates", path: filepath.Join(base, "new", "sub"), typ: hostPathType(api.HostPathDirectoryOrCreate),
			check: func(t *testing.T) {
				fi, err := os.Stat(filepath.Join(base, "new", "sub"))
				if err != nil || !fi.IsDir() {
					t.Errorf("DirectoryOrCreate did not create a directory: %v", err)
				} else if fi.Mode().Perm() != 0o755 {
					t.Errorf("created with mode %v, want 0755", fi.Mode().Perm())
				}
			}},
		{name: "DirectoryOrCreate existing", path: dirPath, typ: hostPathType(api.HostPathDirectoryOrCreate)},
		{name: "DirectoryOrCreate on a file", path: file, typ: hostPathType(api.HostPathDirectoryOrCreate), wantErr: "spec.volumes[0].hostPath"},
		{name: "Directory", path: dirPath, typ: hostPathType(api.HostPathDirectory)},
		{name: "Directory through a symlink", path: link, typ: hostPathType(api.HostPathDirectory)},
		{name: "Directory on a file", path: file, typ: hostPathType(api.HostPathDirectory), wantErr: "spec.volumes[0].hostPath: " + file + " is not of type Directory"},
		{name: "Directory missing", path: filepath.Join(base, "missing"), typ: hostPathType(api.HostPathDirectory), wantErr: "spec.volumes[0].hostPath: type Directory"},
		{name: "FileOrCreate creates", path: filepath.Join(base, "made", "f"), typ: hostPathType(api.HostPathFileOrCreate),
			check: func(t *testing.T) {
				fi, err := os.Stat(filepath.Join(base, "made", "f"))
				if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
					t.Errorf("FileOrCreate did not create an empty file: %v %v", fi, err)
				}
			}},
		{name: "FileOrCreate existing keeps content", path: file, typ: hostPathType(api.HostPathFileOrCreate),
			check: func(t *testing.T) {
				if b, _ := os.ReadFile(file); string(b) != "x" {
					t.Errorf("FileOrCreate changed an existing file: %q", b)
				}
			}},
		{name: "FileOrCreate on a directory", path: dirPath, typ: hostPathType(api.HostPathFileOrCreate), wantErr: "spec.volumes[0].hostPath"},
		{name: "File", path: file, typ: hostPathType(api.HostPathFile)},
		{name: "File on a directory", path: dirPath, typ: hostPathType(api.HostPathFile), wantErr: "is not of type File"},
		{name: "File missing", path: filepath.Join(base, "missing"), typ: hostPathType(api.HostPathFile), wantErr: "spec.volumes[0].hostPath"},
		{name: "Socket", path: sock, typ: hostPathType(api.HostPathSocket)},
		{name: "Socket on a file", path: file, typ: hostPathType(api.HostPathSocket), wantErr: "is not of type Socket"},
		{name: "CharDevice", path: "/dev/null", typ: hostPathType(api.HostPathCharDev)},
		{name: "CharDevice on a file", path: file, typ: hostPathType(api.HostPathCharDev), wantErr: "is not of type CharDevice"},
		{name: "BlockDevice on a char device", path: "/dev/null", typ: hostPathType(api.HostPathBlockDev), wantErr: "spec.volumes[0].hostPath: /dev/null is not of type BlockDevice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(tempDir(t), "volumes")
			src, err := setup(t, dir, []api.Volume{{Name: "h", HostPath: &api.HostPathVolumeSource{Path: tt.path, Type: tt.typ}}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Setup = %v, want an error containing %q", err, tt.wantErr)
				}
				if src != nil {
					t.Errorf("Setup returned sources %v with its error", src)
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if src["h"] != tt.path {
				t.Errorf("source = %q, want the host path %q", src["h"], tt.path)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

func TestSetupNoSource(t *testing.T) {
	// Teardown unmounts before it removes, and unmounting needs root even where nothing is
	// mounted.
	skipUnlessRoot(t)
	dir := filepath.Join(tempDir(t), "volumes")
	_, err := setup(t, dir, []api.Volume{{Name: "a", EmptyDir: &api.EmptyDirVolumeSource{}}, {Name: "b"}})
	if err == nil || !strings.Contains(err.Error(), "spec.volumes[1]") {
		t.Fatalf("Setup = %v, want an error naming spec.volumes[1]", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Setup failed but left %s (err %v)", dir, err)
	}
}

// A Setup that fails midway releases what it had created: the tmpfs of an earlier volume is
// unmounted and the volume directory removed.
func TestSetupFailureReleases(t *testing.T) {
	skipUnlessRoot(t)
	base := tempDir(t)
	dir := filepath.Join(base, "volumes")
	_, err := setup(t, dir, []api.Volume{
		{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory, SizeLimit: resource.NewQuantity(1<<20, resource.BinarySI)}},
		{Name: "disk", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "host", HostPath: &api.HostPathVolumeSource{Path: filepath.Join(base, "does-not-exist"), Type: hostPathType(api.HostPathDirectory)}},
	})
	if err == nil || !strings.Contains(err.Error(), "spec.volumes[2].hostPath") {
		t.Fatalf("Setup = %v, want an error naming spec.volumes[2].hostPath", err)
	}
	if got := mountsUnder(t, dir); len(got) != 0 {
		t.Errorf("mounts left after a failed Setup: %q", got)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left after a failed Setup (err %v)", dir, err)
	}
}

func TestTeardown(t *testing.T) {
	skipUnlessRoot(t)
	base := tempDir(t)
	dir := filepath.Join(base, "volumes")
	host := filepath.Join(base, "host")
	if err := os.Mkdir(host, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "keep"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := setup(t, dir, []api.Volume{
		{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory}},
		{Name: "disk", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "host", HostPath: &api.HostPathVolumeSource{Path: host, Type: hostPathType(api.HostPathDirectory)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mem", "disk"} {
		if err := os.WriteFile(filepath.Join(src[name], "data"), []byte("d"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if err := Teardown(dir); err != nil {
			t.Fatalf("Teardown #%d: %v", i+1, err)
		}
		if got := mountsUnder(t, dir); len(got) != 0 {
			t.Errorf("Teardown #%d left mounts %q", i+1, got)
		}
		if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Teardown #%d left %s (err %v)", i+1, dir, err)
		}
	}
	// A hostPath is the host's: never removed.
	if b, err := os.ReadFile(filepath.Join(host, "keep")); err != nil || string(b) != "k" {
		t.Errorf("Teardown touched the hostPath: %q, %v", b, err)
	}
	if err := Teardown(filepath.Join(base, "never-created")); err != nil {
		t.Errorf("Teardown of a missing dir: %v", err)
	}
}

func TestMounts(t *testing.T) {
	base := tempDir(t)
	vol := filepath.Join(base, "vol")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{vol, outside, filepath.Join(vol, "existing")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(vol, "file"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Symlinks inside the volume that point outside it, absolutely and relatively.
	if err := os.Symlink(outside, filepath.Join(vol, "abs-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(vol, "rel-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("existing", filepath.Join(vol, "rel-in")); err != nil {
		t.Fatal(err)
	}
	src := Sources{"data": vol, "host": "/dev/null"}

	tests := []struct {
		name       string
		mount      api.VolumeMount
		wantSource string // "" when an error is expected
		wantErr    string
	}{
		{name: "whole volume", mount: api.VolumeMount{Name: "data", MountPath: "/data"}, wantSource: vol},
		{name: "hostPath file", mount: api.VolumeMount{Name: "host", MountPath: "/n"}, wantSource: "/dev/null"},
		{name: "existing subPath", mount: api.VolumeMount{Name: "data", MountPath: "/e", SubPath: "existing"}, wantSource: filepath.Join(vol, "existing")},
		{name: "file subPath", mount: api.VolumeMount{Name: "data", MountPath: "/f", SubPath: "file"}, wantSource: filepath.Join(vol, "file")},
		{name: "missing subPath created", mount: api.VolumeMount{Name: "data", MountPath: "/m", SubPath: "new/deeper"}, wantSource: filepath.Join(vol, "new", "deeper")},
		{name: "dots in names are fine", mount: api.VolumeMount{Name: "data", MountPath: "/d", SubPath: "..a/b..c"}, wantSource: filepath.Join(vol, "..a", "b..c")},
		{name: "symlink inside the volume", mount: api.VolumeMount{Name: "data", MountPath: "/r", SubPath: "rel-in"}, wantSource: filepath.Join(vol, "existing")},
		{name: "absolute symlink out", mount: api.VolumeMount{Name: "data", MountPath: "/x", SubPath: "abs-out/x"}, wantSource: filepath.Join(vol, outside, "x")},
		{name: "absolute symlink out, last component", mount: api.VolumeMount{Name: "data", MountPath: "/x", SubPath: "abs-out"}, wantSource: filepath.Join(vol, outside)},
		{name: "relative symlink out", mount: api.VolumeMount{Name: "data", MountPath: "/y", SubPath: "rel-out/y"}, wantSource: filepath.Join(vol, "outside", "y")},
		{name: "unknown volume", mount: api.VolumeMount{Name: "nope", MountPath: "/n"}, wantErr: `spec.containers[3].volumeMounts[0].name: volume "nope" not found`},
		{name: "dotdot", mount: api.VolumeMount{Name: "data", MountPath: "/n", SubPath: ".."}, wantErr: "spec.containers[3].volumeMounts[0].subPath"},
		{name: "dotdot prefix", mount: api.VolumeMount{Name: "data", MountPath: "/n", SubPath: "../outside"}, wantErr: "spec.containers[3].volumeMounts[0].subPath"},
		{name: "dotdot inside", mount: api.VolumeMount{Name: "data", MountPath: "/n", SubPath: "a/../../outside"}, wantErr: "spec.containers[3].volumeMounts[0].subPath"},
		{name: "dotdot last", mount: api.VolumeMount{Name: "data", MountPath: "/n", SubPath: "a/.."}, wantErr: "spec.containers[3].volumeMounts[0].subPath"},
		{name: "absolute subPath", mount: api.VolumeMount{Name: "data", MountPath: "/n", SubPath: "/etc"}, wantErr: "spec.containers[3].volumeMounts[0].subPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ro := range []bool{false, true} {
				m := tt.mount
				m.ReadOnly = ro
				c := &api.Container{Name: "c", VolumeMounts: []api.VolumeMount{m}}
				got, err := Mounts(c, "spec.containers[3]", src, nil)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("Mounts = %v, %v; want an error containing %q", got, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Mounts: %v", err)
				}
				if len(got) != 1 {
					t.Fatalf("Mounts returned %d mounts, want 1", len(got))
				}
				g := got[0]
				if g.Source != tt.wantSource || g.Destination != m.MountPath || g.ReadOnly != ro {
					t.Errorf("Mounts = %+v, want source %q destination %q readOnly %v", g, tt.wantSource, m.MountPath, ro)
				}
				if tt.mount.SubPath != "" && g.Source != vol && !strings.HasPrefix(g.Source, vol+"/") && tt.mount.Name == "data" {
					t.Errorf("subPath %q resolved outside the volume: %s", tt.mount.SubPath, g.Source)
				}
				if _, err := os.Lstat(g.Source); err != nil {
					t.Errorf("source %s does not exist: %v", g.Source, err)
				}
			}
		})
	}
	// Nothing was ever created outside the volume.
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("Mounts created %d entries in %s, outside the volume", len(ents), outside)
	}
	// Mounting nothing, or no mounts at all.
	if got, err := Mounts(&api.Container{}, "spec.containers[0]", src, nil); err != nil || len(got) != 0 {
		t.Errorf("Mounts with no volumeMounts = %v, %v", got, err)
	}
}

// The index of the failing mount and container are both in the field path, and the mounts
// keep their order.
func TestMountsOrderAndFieldPath(t *testing.T) {
	src := Sources{"a": "/a", "b": "/b"}
	c := &api.Container{VolumeMounts: []api.VolumeMount{
		{Name: "b", MountPath: "/mnt/b", ReadOnly: true},
		{Name: "a", MountPath: "/mnt/a"},
	}}
	got, err := Mounts(c, "spec.containers[0]", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source != "/b" || !got[0].ReadOnly || got[1].Source != "/a" || got[1].ReadOnly {
		t.Errorf("Mounts = %+v", got)
	}
	c.VolumeMounts = append(c.VolumeMounts, api.VolumeMount{Name: "zz", MountPath: "/z"})
	if _, err := Mounts(c, "spec.containers[1]", src, nil); err == nil || !strings.Contains(err.Error(), "spec.containers[1].volumeMounts[2].name") {
		t.Errorf("Mounts = %v, want an error naming spec.containers[1].volumeMounts[2].name", err)
	}
}

// A subPath through a regular file cannot exist: Mounts must say so, naming the field,
// instead of returning a source that does not exist (which fails only later, at the
// container's start, as an unrelated-looking mount error).
func TestMountsSubPathThroughFile(t *testing.T) {
	vol := tempDir(t)
	if err := os.WriteFile(filepath.Join(vol, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &api.Container{VolumeMounts: []api.VolumeMount{{Name: "v", MountPath: "/m", SubPath: "file/x"}}}
	got, err := Mounts(c, "spec.containers[0]", Sources{"v": vol}, nil)
	if err == nil || !strings.Contains(err.Error(), "spec.containers[0].volumeMounts[0].subPath") {
		t.Errorf("Mounts = %+v, %v; want an error naming spec.containers[0].volumeMounts[0].subPath", got, err)
	}
}
