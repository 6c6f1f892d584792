package volume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/ocispec"
)

func TestClaimsLifecycle(t *testing.T) {
	c := Claims{Dir: filepath.Join(t.TempDir(), "volumes")}
	if _, err := c.Get("default", "data"); !errors.Is(err, ErrClaimNotFound) {
		t.Fatalf("Get of a missing volume: %v", err)
	}
	if l, err := c.List(); err != nil || len(l) != 0 {
		t.Fatalf("List of an empty store = %v, %v", l, err)
	}
	p, err := c.Ensure("default", "data")
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(c.Dir, "default", "data", "_data") {
		t.Errorf("Ensure = %s", p)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o777 || !fi.IsDir() {
		t.Fatalf("content dir %v, %v; want a 0777 directory", fi, err)
	}
	if err := os.WriteFile(filepath.Join(p, "kept"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := c.Get("default", "data")
	if err != nil {
		t.Fatal(err)
	}
	if first.Metadata.UID == "" || first.Metadata.CreationTimestamp == nil || first.Kind != "PersistentVolumeClaim" || first.Status.Phase != api.ClaimBound {
		t.Errorf("claim = %+v", first)
	}
	// Another use, or a document of the same name, keeps the volume as it is.
	if p2, err := c.Ensure("default", "data"); err != nil || p2 != p {
		t.Fatalf("second Ensure = %s, %v", p2, err)
	}
	q := resource.MustParse("1Gi")
	created, err := c.Create(&api.PersistentVolumeClaim{Metadata: api.ObjectMeta{Name: "data", Namespace: "default"},
		Spec: api.PersistentVolumeClaimSpec{Resources: api.VolumeResourceRequirements{Requests: api.ResourceList{"storage": q}}}})
	if err != nil || created {
		t.Fatalf("Create over an existing volume = %v, %v; want kept", created, err)
	}
	if again, _ := c.Get("default", "data"); again.Metadata.UID != first.Metadata.UID {
		t.Error("the volume was made again")
	}
	if b, err := os.ReadFile(filepath.Join(p, "kept")); err != nil || string(b) != "x" {
		t.Errorf("content lost: %q, %v", b, err)
	}
	// A declared claim keeps its spec; status follows it.
	created, err = c.Create(&api.PersistentVolumeClaim{Metadata: api.ObjectMeta{Name: "db", Namespace: "prod", Labels: map[string]string{"app": "db"}},
		Spec: api.PersistentVolumeClaimSpec{AccessModes: []api.PersistentVolumeAccessMode{api.ReadWriteOnce},
			Resources: api.VolumeResourceRequirements{Requests: api.ResourceList{"storage": q}}}})
	if err != nil || !created {
		t.Fatalf("Create = %v, %v", created, err)
	}
	db, err := c.Get("prod", "db")
	if err != nil {
		t.Fatal(err)
	}
	if db.Metadata.Labels["app"] != "db" || db.Status.Capacity.Value("storage") != 1<<30 || db.Status.AccessModes[0] != api.ReadWriteOnce {
		t.Errorf("claim = %+v", db)
	}
	l, err := c.List()
	if err != nil || len(l) != 2 || l[0].Metadata.Name != "data" || l[1].Metadata.Namespace != "prod" {
		t.Fatalf("List = %v, %v", l, err)
	}

	// Delete: refused while in use, the store untouched; then gone with its content.
	inUse := errors.New(`volume "data" is in use by pod "web"`)
	if err := c.Delete("default", "data", func() error { return inUse }); err != inUse {
		t.Fatalf("Delete in use = %v", err)
	}
	if _, err := os.Stat(filepath.Join(p, "kept")); err != nil {
		t.Fatalf("a refused Delete removed content: %v", err)
	}
	if err := c.Delete("default", "data", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("default", "data"); !errors.Is(err, ErrClaimNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := c.Delete("default", "data", func() error { t.Error("inUse asked about a missing volume"); return nil }); !errors.Is(err, ErrClaimNotFound) {
		t.Errorf("Delete of a missing volume: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.Dir, "default")); len(ents) != 0 {
		t.Errorf("left in the namespace dir: %v", ents)
	}
	// Recreated empty.
	p, _ = c.Ensure("default", "data")
	if ents, _ := os.ReadDir(p); len(ents) != 0 {
		t.Errorf("a new volume of an old name has content: %v", ents)
	}
}

// Pods starting at once create a volume once: every caller gets the same, whole volume.
func TestClaimsConcurrentCreation(t *testing.T) {
	c := Claims{Dir: t.TempDir()}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := c.Ensure("ns", "shared"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ents, err := os.ReadDir(filepath.Join(c.Dir, "ns"))
	if err != nil || len(ents) != 1 || ents[0].Name() != "shared" {
		t.Errorf("namespace dir holds %v, %v; want only the volume", ents, err)
	}
}

// What a creation or deletion that died midway left is not a volume, and goes.
func TestClaimsLeftovers(t *testing.T) {
	c := Claims{Dir: t.TempDir()}
	for _, d := range []string{".tmp-123/_data", ".deleted-456/_data/x"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, "ns", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := c.List(); err != nil || len(l) != 0 {
		t.Fatalf("List = %v, %v; want no volume", l, err)
	}
	c.Ensure("ns", "a")
	c.Ensure("ns", "b")
	if err := c.Delete("ns", "a", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(c.Dir, "ns"))
	if len(ents) != 1 || ents[0].Name() != "b" {
		t.Errorf("namespace dir holds %v, want only b", ents)
	}
}

func TestAttributes(t *testing.T) {
	vols := []api.Volume{
		{Name: "e", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "h", HostPath: &api.HostPathVolumeSource{Path: "/h"}},
		{Name: "c", PersistentVolumeClaim: &api.PersistentVolumeClaimVolumeSource{ClaimName: "c"}},
		{Name: "cro", PersistentVolumeClaim: &api.PersistentVolumeClaimVolumeSource{ClaimName: "c", ReadOnly: true}},
		{Name: "i", Image: &api.ImageVolumeSource{Reference: "tools:1"}},
	}
	tests := []struct {
		name string
		want Attributes
	}{
		{"e", Attributes{OwnershipManaged: true}},
		{"h", Attributes{}},
		{"c", Attributes{OwnershipManaged: true}},
		{"cro", Attributes{ReadOnly: true}},
		{"i", Attributes{ReadOnly: true, Image: "tools:1"}},
		{"missing", Attributes{}},
	}
	for _, tc := range tests {
		if got := AttributesOf(vols, tc.name); got != tc.want {
			t.Errorf("AttributesOf(%s) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// Mounts of a read-only claim and of an image: read-only whatever the volumeMount says; an
// image's subPath must exist as a directory inside it, is never created, and its mount has
// CRI-O's options.
func TestMountsReadOnlySources(t *testing.T) {
	img, claim := tempDir(t), tempDir(t)
	outside := tempDir(t)
	for _, d := range []string{"etc/conf", "bin"} {
		if err := os.MkdirAll(filepath.Join(img, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(img, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(img, "out")); err != nil {
		t.Fatal(err)
	}
	vols := []api.Volume{
		{Name: "img", Image: &api.ImageVolumeSource{Reference: "tools:1"}},
		{Name: "ro", PersistentVolumeClaim: &api.PersistentVolumeClaimVolumeSource{ClaimName: "c", ReadOnly: true}},
		{Name: "rw", PersistentVolumeClaim: &api.PersistentVolumeClaimVolumeSource{ClaimName: "c"}},
	}
	src := Sources{"img": img, "ro": claim, "rw": claim}
	c := &api.Container{VolumeMounts: []api.VolumeMount{
		{Name: "img", MountPath: "/tools"},
		{Name: "img", MountPath: "/conf", SubPath: "etc/conf"},
		{Name: "ro", MountPath: "/ro", SubPath: "made"},
		{Name: "rw", MountPath: "/rw"},
	}}
	got, err := Mounts(c, "spec.containers[0]", src, vols)
	if err != nil {
		t.Fatal(err)
	}
	want := []ocispec.Mount{
		{Source: img, Destination: "/tools", ReadOnly: true, Options: []string{"nosuid", "nodev", "noexec"}},
		{Source: filepath.Join(img, "etc/conf"), Destination: "/conf", ReadOnly: true, Options: []string{"nosuid", "nodev", "noexec"}},
		{Source: filepath.Join(claim, "made"), Destination: "/ro", ReadOnly: true},
		{Source: claim, Destination: "/rw"},
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Source != w.Source || g.Destination != w.Destination || g.ReadOnly != w.ReadOnly || strings.Join(g.Options, ",") != strings.Join(w.Options, ",") {
			t.Errorf("mount %d = %+v, want %+v", i, g, w)
		}
	}
	for _, tc := range []struct{ subPath, want string }{
		{"missing", `sub path "missing" does not exist in image volume "tools:1"`},
		{"file", `only directory subpath is supported, subpath: "file"`},
		{"out/x", `sub path "out/x" does not exist in image volume "tools:1"`}, // the symlink stays inside
	} {
		c := &api.Container{VolumeMounts: []api.VolumeMount{{Name: "img", MountPath: "/m", SubPath: tc.subPath}}}
		_, err := Mounts(c, "spec.containers[2]", src, vols)
		var ce *ocispec.CreateError
		if !errors.As(err, &ce) || ce.Reason != ocispec.ReasonCreateContainerError || !strings.Contains(ce.Message, tc.want) ||
			!strings.Contains(err.Error(), "spec.containers[2].volumeMounts[0].subPath") {
			t.Errorf("subPath %q: %v; want a CreateContainerError %q", tc.subPath, err, tc.want)
		}
	}
	if ents, _ := os.ReadDir(img); len(ents) != 4 {
		t.Errorf("the image volume was written to: %v", ents)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("created outside the image: %v", ents)
	}
}

// Creations and deletions racing each other fail only as "not found", and leave a volume
// whole or nothing at all.
func TestClaimsCreateDeleteRace(t *testing.T) {
	c := Claims{Dir: t.TempDir()}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for range 25 {
				var err error
				if g%2 == 0 {
					var p string
					if p, err = c.Ensure("ns", "v"); err == nil {
						// The content may be deleted right away, but never half made.
						os.WriteFile(filepath.Join(p, "f"), nil, 0o644)
					}
				} else if err = c.Delete("ns", "v", func() error { return nil }); errors.Is(err, ErrClaimNotFound) {
					err = nil
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ents, _ := os.ReadDir(filepath.Join(c.Dir, "ns"))
	for _, e := range ents {
		if e.Name() != "v" {
			t.Errorf("left in the namespace dir: %s", e.Name())
		}
	}
	if len(ents) == 1 {
		if _, err := c.Get("ns", "v"); err != nil {
			t.Errorf("the volume left is not whole: %v", err)
		}
	}
}
