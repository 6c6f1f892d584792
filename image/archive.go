package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ociArchive reads an OCI layout straight out of its tar: one pass over the headers (data is
// skipped with Seek) finds where each file lies, and blobs are then read as sections of the
// file, so nothing is extracted to disk.
type ociArchive struct {
	file    string
	f       *os.File
	entries map[string][2]int64 // name → offset, size
}

// seekCounter tells archive/tar's reader where it is in the file; it is an io.Seeker so the
// reader skips entry data instead of reading it.
type seekCounter struct {
	f   *os.File
	off int64
}

func (c *seekCounter) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.off += int64(n)
	return n, err
}

func (c *seekCounter) Seek(offset int64, whence int) (int64, error) {
	n, err := c.f.Seek(offset, whence)
	if err == nil {
		c.off = n
	}
	return n, err
}

func openOCIArchive(file string) (*ociArchive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, kindError(ErrNotFound, "OCI archive: %w", err)
	}
	a := &ociArchive{file: file, f: f, entries: map[string][2]int64{}}
	c := &seekCounter{f: f}
	tr := tar.NewReader(c)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, kindError(ErrInvalidImage, "OCI archive %s: %w", file, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			a.entries[path.Clean(strings.TrimLeft(hdr.Name, "/"))] = [2]int64{c.off, hdr.Size}
		}
	}
	return a, nil
}

func (a *ociArchive) read(n string, max int64) ([]byte, error) {
	e, ok := a.entries[n]
	if !ok {
		return nil, fs.ErrNotExist
	}
	if e[1] > max {
		return nil, errors.New(n + " is too large")
	}
	return io.ReadAll(io.NewSectionReader(a.f, e[0], e[1]))
}

func (a *ociArchive) open(_ context.Context, desc v1.Descriptor) (io.ReadCloser, error) {
	e, ok := a.entries[path.Join("blobs", desc.Digest.Algorithm, desc.Digest.Hex)]
	if !ok {
		return nil, kindError(ErrNotFound, "blob %s is missing from OCI archive %s", desc.Digest, a.file)
	}
	return io.NopCloser(io.NewSectionReader(a.f, e[0], e[1])), nil
}

func (s *Store) resolveOCIArchive(ctx context.Context, file, tag string) (*Image, error) {
	a, err := openOCIArchive(file)
	if err != nil {
		return nil, err
	}
	defer a.f.Close()
	b, err := a.read("oci-layout", 4096)
	if err != nil {
		return nil, kindError(ErrNotFound, "%s is not an OCI archive (no oci-layout): %w", file, err)
	}
	var l struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &l); err != nil || !strings.HasPrefix(l.Version, "1.") {
		return nil, kindError(ErrInvalidImage, "%s: oci-layout: unsupported imageLayoutVersion %q", file, l.Version)
	}
	b, err = a.read("index.json", maxIndexJSON)
	if err != nil {
		return nil, kindError(ErrInvalidImage, "%s: index.json: %w", file, err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, kindError(ErrInvalidImage, "%s: index.json: %w", file, err)
	}
	desc, err := pickTag(file, tag, idx.Manifests)
	if err != nil {
		return nil, err
	}
	if desc, err = selectPlatform(ctx, a, desc); err != nil {
		return nil, err
	}
	return s.pull(ctx, desc, a)
}

// imageFetcher serves the blobs of a ggcr v1.Image (here, a docker-archive).
type imageFetcher struct {
	img      v1.Image
	manifest v1.Hash
	raw      []byte
	config   v1.Hash
}

func (f *imageFetcher) open(_ context.Context, desc v1.Descriptor) (io.ReadCloser, error) {
	switch desc.Digest {
	case f.manifest:
		return io.NopCloser(bytes.NewReader(f.raw)), nil
	case f.config:
		b, err := f.img.RawConfigFile()
		if err != nil {
			return nil, kindError(ErrInvalidImage, "config: %w", err)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	l, err := f.img.LayerByDigest(desc.Digest)
	if err != nil {
		return nil, kindError(ErrNotFound, "layer %s: %w", desc.Digest, err)
	}
	return l.Compressed()
}

// resolveDockerArchive reads what `docker save` writes: "FILE" (an archive of one image) or
// "FILE:REF" (REF as in its manifest.json RepoTags, e.g. busybox:latest). ggcr presents it with
// gzip layers, so each layer is compressed once to compute its digest, then again to unpack.
func (s *Store) resolveDockerArchive(ctx context.Context, spec string) (*Image, error) {
	file, ref, hasRef := strings.Cut(spec, ":")
	file, err := absPath(file)
	if err != nil {
		return nil, err
	}
	var tag *name.Tag
	if hasRef {
		t, err := name.NewTag(ref)
		if err != nil {
			return nil, kindError(ErrInvalidReference, "docker-archive reference %q: %v", ref, err)
		}
		tag = &t
	}
	if _, err := os.Stat(file); err != nil {
		return nil, kindError(ErrNotFound, "docker archive: %w", err)
	}
	img, err := tarball.ImageFromPath(file, tag)
	if err != nil {
		return nil, kindError(ErrNotFound, "docker archive %s: %w", file, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, kindError(ErrInvalidImage, "docker archive %s: %w", file, err)
	}
	f := &imageFetcher{img: img, raw: raw}
	if f.manifest, _, err = v1.SHA256(bytes.NewReader(raw)); err != nil {
		return nil, err
	}
	if f.config, err = img.ConfigName(); err != nil {
		return nil, kindError(ErrInvalidImage, "docker archive %s: %w", file, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, kindError(ErrInvalidImage, "docker archive %s: %w", file, err)
	}
	return s.pull(ctx, v1.Descriptor{MediaType: mt, Digest: f.manifest, Size: int64(len(raw))}, f)
}
