package volume

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/podconfig"
)

// tree describes dir as the container sees it: each path (symlinks followed, the writer's
// own names left out) with its content and mode, directories as "dir".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(rel string)
	walk = func(rel string) {
		ents, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if rel == "" && strings.HasPrefix(e.Name(), "..") {
				continue
			}
			p := filepath.Join(rel, e.Name())
			fi, err := os.Stat(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() {
				out[p] = "dir"
				walk(p)
				continue
			}
			b, _ := os.ReadFile(filepath.Join(dir, p))
			out[p] = fmt.Sprintf("%s %o", b, fi.Mode().Perm())
		}
	}
	walk("")
	return out
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	f := func(s string, mode int32) podconfig.File { return podconfig.File{Data: []byte(s), Mode: mode} }
	var permsCalled []string
	setPerms := func(ts string) error { permsCalled = append(permsCalled, ts); return nil }
	steps := []struct {
		name    string
		payload podconfig.Payload
		changed bool
		want    map[string]string
	}{
		{"first write", podconfig.Payload{"a": f("1", 0o644), "dir/b": f("2", 0o400), "dir/sub/c": f("3", 0o600)}, true,
			map[string]string{"a": "1 644", "dir": "dir", "dir/b": "2 400", "dir/sub": "dir", "dir/sub/c": "3 600"}},
		{"same content", podconfig.Payload{"a": f("1", 0o644), "dir/b": f("2", 0o400), "dir/sub/c": f("3", 0o600)}, false,
			map[string]string{"a": "1 644", "dir": "dir", "dir/b": "2 400", "dir/sub": "dir", "dir/sub/c": "3 600"}},
		// Like the kubelet: a mode alone does not make a new version.
		{"mode only", podconfig.Payload{"a": f("1", 0o600), "dir/b": f("2", 0o400), "dir/sub/c": f("3", 0o600)}, false,
			map[string]string{"a": "1 644", "dir": "dir", "dir/b": "2 400", "dir/sub": "dir", "dir/sub/c": "3 600"}},
		{"content changes, a file goes, one comes", podconfig.Payload{"a": f("one", 0o644), "dir/b": f("2", 0o400), "e": f("5", 0o644)}, true,
			map[string]string{"a": "one 644", "dir": "dir", "dir/b": "2 400", "e": "5 644"}},
		{"a top-level directory goes", podconfig.Payload{"a": f("one", 0o644)}, true, map[string]string{"a": "one 644"}},
		{"empty", podconfig.Payload{}, true, map[string]string{}},
	}
	for _, st := range steps {
		before, _ := os.Readlink(filepath.Join(dir, "..data"))
		permsCalled = nil
		changed, err := WriteAtomic(dir, st.payload, setPerms)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if changed != st.changed {
			t.Errorf("%s: changed %v, want %v", st.name, changed, st.changed)
		}
		if got := tree(t, dir); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: tree\n got %q\nwant %q", st.name, got, st.want)
		}
		after, err := os.Readlink(filepath.Join(dir, "..data"))
		if err != nil || !strings.HasPrefix(after, "..") {
			t.Fatalf("%s: ..data -> %q, %v", st.name, after, err)
		}
		if (after != before) != st.changed {
			t.Errorf("%s: ..data %q -> %q", st.name, before, after)
		}
		if st.changed && !slices.Equal(permsCalled, []string{after}) {
			t.Errorf("%s: setPerms called with %q, want [%q]", st.name, permsCalled, after)
		}
		// The links at the root point into ..data; one data directory is left, no ..data_tmp.
		ents, _ := os.ReadDir(dir)
		var ts []string
		for _, e := range ents {
			switch n := e.Name(); {
			case n == "..data":
			case strings.HasPrefix(n, ".."):
				ts = append(ts, n)
			default:
				if target, err := os.Readlink(filepath.Join(dir, n)); err != nil || target != filepath.Join("..data", n) {
					t.Errorf("%s: %s -> %q, %v", st.name, n, target, err)
				}
			}
		}
		if !slices.Equal(ts, []string{after}) {
			t.Errorf("%s: data directories %q, want only %q", st.name, ts, after)
		}
	}
}

func TestWriteAtomicPaths(t *testing.T) {
	for _, p := range []string{"", "/abs", "a/../b", "..x", "../x", strings.Repeat("x", 256), strings.Repeat("x/", 2049)} {
		if _, err := WriteAtomic(t.TempDir(), podconfig.Payload{p: {}}, nil); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	// ".." alone is a name; "./a" is cleaned.
	dir := t.TempDir()
	if _, err := WriteAtomic(dir, podconfig.Payload{"./a": {Data: []byte("x"), Mode: 0o644}, "b..": {Mode: 0o644}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err != nil {
		t.Error(err)
	}
}

// A failing setPerms leaves the old version in place.
func TestWriteAtomicFailedPerms(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteAtomic(dir, podconfig.Payload{"a": {Data: []byte("1"), Mode: 0o644}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := WriteAtomic(dir, podconfig.Payload{"a": {Data: []byte("2"), Mode: 0o644}}, func(string) error { return fs.ErrPermission })
	if err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "1" {
		t.Errorf("a = %q after a failed update", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 { // a, ..data, one data directory
		t.Errorf("entries %v", ents)
	}
}

func TestNestedMountpoints(t *testing.T) {
	pod := podWithMounts(map[string]string{"cfg": "/etc/config", "a": "/etc/config/a", "ab": "/etc/config/a/b", "x": "/etc/configx", "c": "/etc/config/c/"})
	got := nestedMountpoints("cfg", pod)
	slices.Sort(got)
	if want := []string{"a", "c"}; !slices.Equal(got, want) {
		t.Errorf("nested %q, want %q", got, want)
	}
}

// podWithMounts is a pod of one container mounting each volume (by name) at its path.
func podWithMounts(mounts map[string]string) *api.Pod {
	c := api.Container{Name: "c"}
	for _, n := range slices.Sorted(maps.Keys(mounts)) {
		c.VolumeMounts = append(c.VolumeMounts, api.VolumeMount{Name: n, MountPath: mounts[n]})
	}
	return &api.Pod{Spec: api.PodSpec{Containers: []api.Container{c}}}
}

func TestSetupConfigVolumes(t *testing.T) {
	skipUnlessRoot(t)
	dir := tempDir(t)
	pod := podWithMounts(map[string]string{"cm": "/cfg", "s": "/sec", "nested": "/cfg/sub", "e": "/e"})
	pod.Spec.Volumes = []api.Volume{
		{Name: "cm", ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "x"}}},
		{Name: "s", Secret: &api.SecretVolumeSource{SecretName: "x"}},
		{Name: "p", Projected: &api.ProjectedVolumeSource{}},
		{Name: "d", DownwardAPI: &api.DownwardAPIVolumeSource{}},
		{Name: "nested", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "e", EmptyDir: &api.EmptyDirVolumeSource{}},
	}
	src, err := setup(t, dir, pod.Spec.Volumes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src["cm"]; ok {
		t.Error("Setup made a configMap volume")
	}
	if err := SetupConfigVolumes(dir, pod, 1<<20, src); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cm", "s", "p", "d"} {
		fi, err := os.Stat(src[n])
		if err != nil || fi.Mode().Perm() != 0o777 || !fi.IsDir() {
			t.Errorf("%s: %v %v", n, fi.Mode(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(src["cm"], "sub")); err != nil {
		t.Errorf("no mount point for the nested volume: %v", err)
	}
	mounts := mountsUnder(t, dir)
	slices.Sort(mounts)
	if want := []string{src["p"], src["s"]}; !slices.Equal(mounts, want) {
		t.Errorf("mounts %q, want tmpfs at %q", mounts, want)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(src["s"], &st); err != nil || st.Blocks*uint64(st.Bsize) != 1<<20 {
		t.Errorf("secret tmpfs: %d bytes, %v", st.Blocks*uint64(st.Bsize), err)
	}
	if err := Teardown(dir); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, dir); len(m) > 0 {
		t.Errorf("left mounted: %q", m)
	}
}

func TestConfigVolumesMountReadOnly(t *testing.T) {
	c := api.Container{VolumeMounts: []api.VolumeMount{{Name: "e", MountPath: "/e"}, {Name: "cm", MountPath: "/cm"}, {Name: "d", MountPath: "/d"}}}
	vols := []api.Volume{{Name: "e", EmptyDir: &api.EmptyDirVolumeSource{}}, {Name: "cm", ConfigMap: &api.ConfigMapVolumeSource{}}, {Name: "d", DownwardAPI: &api.DownwardAPIVolumeSource{}}}
	mounts, err := Mounts(&c, "spec.containers[0]", Sources{"e": "/e", "cm": "/cm", "d": "/d"}, vols)
	if err != nil {
		t.Fatal(err)
	}
	if mounts[0].ReadOnly || !mounts[1].ReadOnly || !mounts[2].ReadOnly {
		t.Errorf("read-only: %+v", mounts)
	}
}
