package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// TestManage: List, Inspect, Remove (in-use refusal, force, untag only) and Prune (untagged
// images, unreferenced layers, never a layer shared with a tagged image or in use).
func TestManage(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	shared, err := random.Layer(2048, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	mk := func() v1.Image {
		own, err := random.Layer(1024, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(empty.Image, shared, own)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	a, b, c := mk(), mk(), mk()
	refA := reg.push(t, "app/a:v1", a)
	refB := reg.push(t, "app/b:v1", b)
	refC := reg.push(t, "app/c:v1", c)
	s := newStore(t)
	ctx := context.Background()
	imgs := map[string]*Image{}
	for _, r := range []string{refA, refB, refC} {
		img, err := s.Pull(ctx, r, PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		imgs[r] = img
	}
	// A second name for a.
	aliasA := reg.push(t, "app/a:alias", a)
	if _, err := s.Pull(ctx, aliasA, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	sums, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 4 {
		t.Fatalf("List: %+v", sums)
	}
	for _, r := range sums {
		if r.Size < 3072 || !strings.HasPrefix(r.ID, "sha256:") || r.Tag == "<none>" {
			t.Errorf("row %+v", r)
		}
	}

	// Inspect.
	js, err := s.Inspect(refA)
	if err != nil {
		t.Fatal(err)
	}
	var ins []struct {
		Id          string
		RepoTags    []string
		RepoDigests []string
		RootFS      struct{ Layers []string }
		GraphDriver struct{ Data map[string]string }
	}
	if err := json.Unmarshal(js, &ins); err != nil || len(ins) != 1 {
		t.Fatalf("inspect: %s %v", js, err)
	}
	if "sha256:"+ins[0].Id != imgs[refA].ID || !slices.Equal(ins[0].RepoTags, []string{aliasA, refA}) ||
		len(ins[0].RepoDigests) != 1 || len(ins[0].RootFS.Layers) != 2 || !strings.Contains(ins[0].GraphDriver.Data["LowerDir"], s.Root) {
		t.Errorf("inspect: %s", js)
	}
	// By ID prefix, too.
	if _, err := s.Inspect(imgs[refB].ID[len("sha256:"):][:12]); err != nil {
		t.Errorf("inspect by ID: %v", err)
	}
	if _, err := s.Inspect("no/such:image"); !errors.Is(err, ErrNotFound) {
		t.Errorf("inspect missing: %v", err)
	}

	usedA := func(id string) bool { return id == imgs[refA].ID || slices.Contains(imgs[refA].Layers, id) }
	// Untagging one of two names is allowed while in use; deleting the image is not.
	removed, err := s.Remove(aliasA, false, usedA)
	if err != nil || !slices.Equal(removed, []string{"Untagged: " + aliasA}) {
		t.Fatalf("untag alias: %v %v", removed, err)
	}
	if _, err := s.Remove(refA, false, usedA); !errors.Is(err, ErrInUse) {
		t.Fatalf("in use: %v", err)
	}
	if _, err := s.Get(ctx, refA, PullNever, PullOptions{}); err != nil {
		t.Fatalf("refused Remove changed the store: %v", err)
	}
	// Forced: the image goes, its layers stay while the pod uses them.
	removed, err = s.Remove(refA, true, usedA)
	if err != nil || removed[0] != "Untagged: "+refA || !slices.Contains(removed, "Deleted: "+imgs[refA].ID) {
		t.Fatalf("force: %v %v", removed, err)
	}
	for _, l := range imgs[refA].Layers {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("layer in use removed: %v", err)
		}
	}
	// Unused: b goes with its own layer; the shared one stays for c.
	if _, err := s.Remove(refB, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(imgs[refB].Layers[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("b's own layer kept: %v", err)
	}
	if _, err := os.Stat(imgs[refB].Layers[0]); err != nil {
		t.Errorf("shared layer removed: %v", err)
	}
	if _, err := s.Remove(refB, false, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}

	// An untagged image: c's tag moves to another image.
	d := mk()
	reg.push(t, "app/c:v1", d)
	if _, err := s.Pull(ctx, refC, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	// Prune while a still uses its layers: a's own layer stays; c (untagged) goes, the shared
	// layer stays (d is tagged and uses it).
	removedP, freed, err := s.Prune(usedA)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prune: %v, %d bytes", removedP, freed)
	if !slices.Contains(removedP, "Deleted: "+imgs[refC].ID) || freed <= 0 {
		t.Errorf("prune: %v %d", removedP, freed)
	}
	for _, l := range append(imgs[refA].Layers, imgs[refC].Layers[0]) {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("prune removed %s: %v", l, err)
		}
	}
	if _, err := os.Stat(imgs[refC].Layers[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("c's own layer kept: %v", err)
	}
	// The pod is gone: a's own layer goes now.
	removedP, _, err = s.Prune(nil)
	if err != nil || len(removedP) != 1 {
		t.Errorf("second prune: %v %v", removedP, err)
	}
	if _, err := os.Stat(imgs[refA].Layers[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a's layer kept: %v", err)
	}
	sums, _ = s.List()
	if len(sums) != 1 || sums[0].Repository != reg.host+"/app/c" {
		t.Errorf("List after: %+v", sums)
	}
	if got, err := s.Get(ctx, refC, PullNever, PullOptions{}); err != nil || len(got.Layers) != 2 {
		t.Errorf("d after prune: %+v %v", got, err)
	}
}

// tarTree writes dir as a plain tar (for oci-archive).
func tarTree(t *testing.T, dir, file string) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, _ := d.Info()
		hdr, _ := tar.FileInfoHeader(fi, "")
		hdr.Name, _ = filepath.Rel(dir, p)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			tw.Write(b)
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestArchives(t *testing.T) {
	needRoot(t)
	img := ociImage(t, v1.Config{Cmd: []string{"/hello"}}, runtime.GOARCH, gzLayer(t, fileE("hello", "hi", 0o755)), gzLayer(t, fileE("two", "2", 0o644)))
	dir, p := newLayout(t)
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "v1"})); err != nil {
		t.Fatal(err)
	}
	ociTar := filepath.Join(t.TempDir(), "img.tar")
	tarTree(t, dir, ociTar)
	dockerTar := filepath.Join(t.TempDir(), "docker.tar")
	tag, _ := name.NewTag("example.com/app:v1")
	if err := tarball.WriteToFile(dockerTar, tag, img); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	want := digestOf(t, img.ConfigName).String()
	for _, ref := range []string{"oci-archive:" + ociTar, "oci-archive:" + ociTar + ":v1", "docker-archive:" + dockerTar, "docker-archive:" + dockerTar + ":example.com/app:v1"} {
		got, err := s.Get(context.Background(), ref, PullNever, PullOptions{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got.ID != want || len(got.Layers) != 2 || got.Config.Cmd[0] != "/hello" {
			t.Errorf("%s: %+v", ref, got)
		}
		if b, err := os.ReadFile(filepath.Join(got.Layers[0], "hello")); err != nil || string(b) != "hi" {
			t.Errorf("%s: hello = %q %v", ref, b, err)
		}
	}
	// Nothing was extracted beside the store, and the layers are shared between transports.
	if e := layersEntries(t, s); len(e) != 2 {
		t.Errorf("layers: %v", e)
	}
	for ref, kind := range map[string]error{
		"oci-archive:" + ociTar + ":nope":                ErrNotFound,
		"oci-archive:" + dockerTar:                       ErrNotFound,
		"docker-archive:" + dockerTar + ":other/x:v1":    ErrNotFound,
		"docker-archive:" + filepath.Join(dir, "absent"): ErrNotFound,
	} {
		if _, err := s.Get(context.Background(), ref, PullAlways, PullOptions{}); !errors.Is(err, kind) {
			t.Errorf("%s: %v", ref, err)
		}
	}
}

func statIno(t *testing.T, p string) uint64 {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestImport(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "tool"), []byte("#!/bin/sh\n"), 0o755)
	os.Chown(filepath.Join(src, "bin", "tool"), 1000, 1000) // before chmod: chown clears setuid
	os.Chmod(filepath.Join(src, "bin", "tool"), os.ModeSetuid|0o755)
	os.Link(filepath.Join(src, "bin", "tool"), filepath.Join(src, "bin", "tool2"))
	os.Symlink("tool", filepath.Join(src, "bin", "link"))
	s := newStore(t)
	ctx := context.Background()
	img, err := s.Import(ctx, src, "myimg")
	if err != nil {
		t.Fatal(err)
	}
	if img.Name != "localhost/myimg:latest" || img.RepoDigest == "" || len(img.Layers) != 1 || len(img.Config.Cmd) != 0 {
		t.Fatalf("%+v", img)
	}
	root := img.Layers[0]
	fi, err := os.Stat(filepath.Join(root, "bin", "tool"))
	if err != nil || fi.Mode()&fs.ModeSetuid == 0 || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Fatalf("tool: %v %v", fi, err)
	}
	if st1, st2 := statIno(t, filepath.Join(root, "bin", "tool")), statIno(t, filepath.Join(root, "bin", "tool2")); st1 != st2 {
		t.Errorf("hardlink not kept")
	}
	if l, err := os.Readlink(filepath.Join(root, "bin", "link")); err != nil || l != "tool" {
		t.Errorf("symlink: %q %v", l, err)
	}
	// The short name finds it under any policy; no registry is asked (none exists).
	for _, p := range []PullPolicy{PullNever, PullIfNotPresent, PullAlways} {
		if got, err := s.Get(ctx, "myimg", p, PullOptions{}); err != nil || got.ID != img.ID {
			t.Errorf("%s: %+v %v", p, got, err)
		}
	}
	// From a gzip tarball, with a device node dropped.
	tgz := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	f, _ := os.Create(tgz)
	zw := gzip.NewWriter(f)
	zw.Write(tarBytes(t, dirE("etc/", 0o755), fileE("etc/os-release", "ID=test\n", 0o644),
		&tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}))
	zw.Close()
	f.Close()
	img2, err := s.Import(ctx, tgz, "example.com/base:v2")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(img2.Layers[0], "etc", "os-release")); string(b) != "ID=test\n" || img2.Name != "example.com/base:v2" {
		t.Errorf("tarball import: %+v %q", img2, b)
	}
	sums, _ := s.List()
	if len(sums) != 2 {
		t.Errorf("List: %+v", sums)
	}
	if _, err := s.Import(ctx, filepath.Join(src, "bin", "tool"), "bad"); err == nil || !strings.Contains(err.Error(), "not a tar archive") {
		t.Errorf("not a tar: %v", err)
	}
	if _, err := s.Import(ctx, src, "Bad Name"); !errors.Is(err, ErrInvalidReference) {
		t.Errorf("bad name: %v", err)
	}
}
