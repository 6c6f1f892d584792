package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown, whiteout device nodes, trusted.* xattrs, overlay mounts)")
	}
}

// Tar entry constructors.
func fileE(name, body string, mode int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: testTime, PAXRecords: map[string]string{"body": body}}
}
func dirE(name string, mode int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: testTime}
}
func symlinkE(name, target string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: testTime}
}
func hardlinkE(name, target string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: testTime}
}

// tarBytes writes headers as a PAX tar; a regular file's content is carried in the fake PAX
// record "body", which is stripped before writing.
func tarBytes(t testing.TB, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h := *h
		body := ""
		pax := map[string]string{}
		for k, v := range h.PAXRecords {
			if k == "body" {
				body = v
			} else {
				pax[k] = v
			}
		}
		h.PAXRecords = pax
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if body != "" {
			if _, err := io.WriteString(tw, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzLayer is an OCI gzip layer built from an in-memory tar.
func gzLayer(t testing.TB, hdrs ...*tar.Header) v1.Layer {
	t.Helper()
	data := tarBytes(t, hdrs...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ociImage(t testing.TB, cfg v1.Config, arch string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", arch
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

func newLayout(t testing.TB) (string, layout.Path) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	return dir, p
}

func tagged(tag string) layout.Option {
	return layout.WithAnnotations(map[string]string{annotationRefName: tag})
}

// singleImageLayout writes a layout holding one untagged image.
func singleImageLayout(t testing.TB, layers ...v1.Layer) (string, v1.Image) {
	t.Helper()
	dir, p := newLayout(t)
	img := ociImage(t, v1.Config{Cmd: []string{"/bin/sh"}}, runtime.GOARCH, layers...)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir, img
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustResolve(t testing.TB, s *Store, ref string) *Image {
	t.Helper()
	img, err := s.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, f func() (v1.Hash, error)) v1.Hash {
	t.Helper()
	h, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// layersEntries lists what is in Root/layers/sha256 (finished layers and temp dirs alike).
func layersEntries(t testing.TB, s *Store) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Root, "layers", "sha256"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
