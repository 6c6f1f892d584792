package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/google/go-containerregistry/pkg/compression"
)

func TestReferenceErrors(t *testing.T) {
	s := newStore(t)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	emptyDir := t.TempDir()
	for ref, kind := range map[string]error{
		"":                                     ErrInvalidReference,
		" rootfs:/x":                           ErrInvalidReference,
		"rootfs:":                              ErrInvalidReference,
		"rootfs:relative/dir":                  ErrInvalidReference,
		"oci:relative":                         ErrInvalidReference,
		"oci:/x:bad tag":                       ErrInvalidReference,
		"oci:/x:-leading":                      ErrInvalidReference,
		"oci:/x:":                              ErrInvalidReference,
		"UPPER/case":                           ErrInvalidReference, // registry syntax
		"busybox:bad!tag":                      ErrInvalidReference,
		"busybox":                              ErrNotFound, // Resolve never pulls
		"docker.io/library/a:1":                ErrNotFound,
		"oci-archive:/x.tar":                   ErrNotFound,
		"docker-archive:/x.tar":                ErrNotFound,
		"oci-archive:rel.tar":                  ErrInvalidReference,
		"a@sha512:" + strings.Repeat("0", 128): ErrInvalidReference,
		"rootfs:/does/not/exist":               ErrNotFound,
		"rootfs:" + notDir:                     ErrNotFound,
		"oci:/does/not/exist":                  ErrNotFound,
		"oci:" + notDir:                        ErrNotFound,
		"oci:" + emptyDir:                      ErrNotFound, // not a layout
	} {
		_, err := s.Resolve(context.Background(), ref)
		if !errors.Is(err, kind) {
			t.Errorf("Resolve(%q) = %v, want %v", ref, err, kind)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Ref != ref || !strings.Contains(err.Error(), ref) {
			t.Errorf("Resolve(%q): error does not carry the reference: %v", ref, err)
		}
		if kind != ErrInvalidReference && errors.Is(err, ErrInvalidReference) {
			t.Errorf("Resolve(%q) = %v: wrongly InvalidImageName", ref, err)
		}
	}
	for _, tag := range []string{"v1", "1.0-rc.1", "example.com/app:v1", "a--b", "A_b+c@d"} {
		if !validRefName(tag) {
			t.Errorf("validRefName(%q) = false", tag)
		}
	}
	for _, tag := range []string{"a b", "a..b", "a-", "/a", "a//b", "a---b", "ä"} {
		if validRefName(tag) {
			t.Errorf("validRefName(%q) = true", tag)
		}
	}
}

func TestRootfs(t *testing.T) {
	dir := t.TempDir()
	img := mustResolve(t, newStore(t), "rootfs:"+dir+"/")
	if img.ID != "rootfs:"+dir || !slices.Equal(img.Layers, []string{dir}) || img.RepoDigest != "" || img.Ref != "rootfs:"+dir+"/" {
		t.Fatalf("%+v", img)
	}
}

func TestTagsAndPlatforms(t *testing.T) {
	needRoot(t)
	layer := gzLayer(t, fileE("hello", "hi", 0o644))
	mk := func(arch, cmd string) v1.Image { return ociImage(t, v1.Config{Cmd: []string{cmd}}, arch, layer) }
	v1img, v2img, latest := mk(runtime.GOARCH, "v1"), mk(runtime.GOARCH, "v2"), mk(runtime.GOARCH, "latest")
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	native, foreign, v3 := mk(runtime.GOARCH, "native"), mk(other, "foreign"), mk(runtime.GOARCH, "variant")
	multi := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: v3, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH, Variant: "v9"}}},
		mutate.IndexAddendum{Add: native, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
		mutate.IndexAddendum{Add: mk("unknown", "attestation"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
	)
	foreignOnly := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}})

	dir, p := newLayout(t)
	for _, err := range []error{
		p.AppendImage(v1img, tagged("v1")),
		p.AppendImage(v2img, tagged("example.com/app:v2")),
		p.AppendIndex(multi, tagged("multi")),
		p.AppendIndex(foreignOnly, tagged("foreign")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := newStore(t)
	cmdOf := func(ref string) (string, error) {
		img, err := s.Resolve(context.Background(), ref)
		if err != nil {
			return "", err
		}
		return img.Config.Cmd[0], nil
	}
	for ref, want := range map[string]string{
		"oci:" + dir + ":v1":                 "v1",
		"oci:" + dir + ":example.com/app:v2": "v2",
		"oci:" + dir + ":multi":              "native",
	} {
		if got, err := cmdOf(ref); err != nil || got != want {
			t.Errorf("%s: cmd %q, %v; want %q", ref, got, err, want)
		}
	}
	for ref, msg := range map[string]string{
		"oci:" + dir + ":nope":    `tag "nope" not found`,
		"oci:" + dir:              `none is tagged "latest"`,
		"oci:" + dir + ":foreign": "no manifest for linux/" + runtime.GOARCH,
	} {
		if _, err := cmdOf(ref); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want ErrNotFound with %q", ref, err, msg)
		}
	}
	// Without a tag: "latest" once there is one.
	if err := p.AppendImage(latest, tagged("latest")); err != nil {
		t.Fatal(err)
	}
	if got, err := cmdOf("oci:" + dir); err != nil || got != "latest" {
		t.Errorf("untagged: %q %v", got, err)
	}
	// The ID, RepoDigest and Config come from the selected manifest.
	img := mustResolve(t, s, "oci:"+dir+":v1")
	if want := digestOf(t, v1img.ConfigName).String(); img.ID != want {
		t.Errorf("ID %s, want %s", img.ID, want)
	}
	if want := digestOf(t, v1img.Digest).String(); img.RepoDigest != want {
		t.Errorf("RepoDigest %s, want %s", img.RepoDigest, want)
	}
	// Images sharing a layer share its directory.
	img2 := mustResolve(t, s, "oci:"+dir+":example.com/app:v2")
	if !slices.Equal(img.Layers, img2.Layers) {
		t.Errorf("layers not shared: %q vs %q", img.Layers, img2.Layers)
	}
}

// TestCompressions covers zstd and uncompressed layers next to gzip ones.
func TestCompressions(t *testing.T) {
	needRoot(t)
	zdata := tarBytes(t, fileE("z", "zstd", 0o644))
	zl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(zdata)), nil
	}, tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		t.Fatal(err)
	}
	ul := static.NewLayer(tarBytes(t, fileE("u", "plain", 0o644)), types.OCIUncompressedLayer)
	dir, _ := singleImageLayout(t, gzLayer(t, fileE("g", "gzip", 0o644)), zl, ul)
	img := mustResolve(t, newStore(t), "oci:"+dir)
	for i, want := range []string{"g=gzip", "z=zstd", "u=plain"} {
		name, body, _ := strings.Cut(want, "=")
		if b, err := os.ReadFile(filepath.Join(img.Layers[i], name)); err != nil || string(b) != body {
			t.Errorf("layer %d: %s = %q, %v", i, name, b, err)
		}
	}
}

func TestDigestMismatch(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name  string
		layer v1.Layer
		msg   string
	}{
		// Uncompressed, so the corrupted tar still parses: only the digest check catches it.
		{"uncompressed", static.NewLayer(tarBytes(t, fileE("f", strings.Repeat("A", 4096), 0o644)), types.OCIUncompressedLayer), "does not match its digest"},
		{"gzip", gzLayer(t, fileE("f", strings.Repeat("A", 4096), 0o644)), "does not match its digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := singleImageLayout(t, tc.layer)
			d := digestOf(t, tc.layer.Digest)
			blob := filepath.Join(dir, "blobs", "sha256", d.Hex)
			b, err := os.ReadFile(blob)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.Index(b, 'A')
			if tc.name == "gzip" {
				i = len(b) / 2
			}
			b[i] ^= 0x01
			if err := os.WriteFile(blob, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s := newStore(t)
			_, err = s.Resolve(context.Background(), "oci:"+dir)
			if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), d.String()) {
				t.Fatalf("err = %v", err)
			}
			t.Log(err)
			if e := layersEntries(t, s); len(e) != 0 {
				t.Fatalf("Root/layers not empty: %v", e)
			}
		})
	}
	t.Run("config", func(t *testing.T) {
		dir, img := singleImageLayout(t, gzLayer(t, fileE("f", "x", 0o644)))
		cfg := filepath.Join(dir, "blobs", "sha256", digestOf(t, img.ConfigName).Hex)
		b, _ := os.ReadFile(cfg)
		os.WriteFile(cfg, []byte(strings.Replace(string(b), "/bin/sh", "/bin/xx", 1)), 0o644)
		s := newStore(t)
		if _, err := s.Resolve(context.Background(), "oci:"+dir); !errors.Is(err, ErrInvalidImage) {
			t.Fatalf("err = %v", err)
		}
		if e := layersEntries(t, s); len(e) != 0 {
			t.Fatalf("Root/layers not empty: %v", e)
		}
	})
	t.Run("missing blob", func(t *testing.T) {
		l := gzLayer(t, fileE("f", "x", 0o644))
		dir, _ := singleImageLayout(t, l)
		os.Remove(filepath.Join(dir, "blobs", "sha256", digestOf(t, l.Digest).Hex))
		if _, err := newStore(t).Resolve(context.Background(), "oci:"+dir); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestConcurrentResolve: many Resolves of one image, through two Store values (as two minipod
// processes would have), unpack each layer once.
func TestConcurrentResolve(t *testing.T) {
	needRoot(t)
	var hdrs []*tar.Header
	for i := range 200 {
		hdrs = append(hdrs, fileE(filepath.Join("d", strings.Repeat("x", i%7+1), string(rune('a'+i%26))+strings.Repeat("y", i)), "data", 0o644))
	}
	dir, _ := singleImageLayout(t, gzLayer(t, hdrs...), gzLayer(t, fileE("top", "t", 0o644)))
	s1 := newStore(t)
	s2 := &Store{Root: s1.Root}
	before := unpacks.Load()
	var wg sync.WaitGroup
	results := make([]*Image, 16)
	errs := make([]error, 16)
	for i := range results {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() { results[i], errs[i] = s.Resolve(context.Background(), "oci:"+dir) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !slices.Equal(results[i].Layers, results[0].Layers) || results[i].ID != results[0].ID {
			t.Fatalf("results differ: %+v vs %+v", results[i], results[0])
		}
	}
	if n := unpacks.Load() - before; n != 2 {
		t.Fatalf("%d unpacks, want 2", n)
	}
}

// TestCrashLeftovers: a temp dir left by a crashed unpack is removed by the next Resolve, and
// the warm path needs no blob at all.
func TestCrashLeftovers(t *testing.T) {
	needRoot(t)
	l := gzLayer(t, fileE("f", "x", 0o644))
	dir, _ := singleImageLayout(t, l)
	s := newStore(t)
	diff := digestOf(t, l.DiffID)
	stale := filepath.Join(s.Root, "layers", "sha256", ".tmp-"+diff.Hex+"-12345")
	if err := os.MkdirAll(filepath.Join(stale, "rootfs", "half"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := mustResolve(t, s, "oci:"+dir)
	if e := layersEntries(t, s); !slices.Equal(e, []string{diff.Hex}) {
		t.Fatalf("layers dir: %v", e)
	}
	if b, _ := os.ReadFile(filepath.Join(img.Layers[0], "f")); string(b) != "x" {
		t.Fatalf("f = %q", b)
	}
	// Warm: with every blob gone from the layout, the record still answers.
	os.RemoveAll(filepath.Join(dir, "blobs"))
	img2 := mustResolve(t, s, "oci:"+dir)
	if img2.ID != img.ID || !slices.Equal(img2.Layers, img.Layers) {
		t.Fatalf("warm Resolve differs: %+v vs %+v", img2, img)
	}
	// A layer removed behind the store's back (e.g. by GC) sends Resolve down the slow path.
	os.RemoveAll(filepath.Join(s.Root, "layers", "sha256", diff.Hex))
	if _, err := s.Resolve(context.Background(), "oci:"+dir); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	needRoot(t)
	dir, _ := singleImageLayout(t, gzLayer(t, fileE("f", "x", 0o644)))
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Resolve(ctx, "oci:"+dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if e := layersEntries(t, s); len(e) != 0 {
		t.Fatalf("Root/layers not empty: %v", e)
	}
}

func BenchmarkResolveWarm(b *testing.B) {
	needRoot(b)
	var layers []v1.Layer
	for i := range 5 {
		layers = append(layers, gzLayer(b, fileE("f"+string(rune('0'+i)), strings.Repeat("x", 1<<20), 0o644)))
	}
	dir, _ := singleImageLayout(b, layers...)
	s := newStore(b)
	mustResolve(b, s, "oci:"+dir)
	ref := "oci:" + dir
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Resolve(context.Background(), ref); err != nil {
			b.Fatal(err)
		}
	}
}
