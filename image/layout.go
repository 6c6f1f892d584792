package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

const (
	annotationRefName = "org.opencontainers.image.ref.name"
	maxIndexJSON      = 4 << 20
	maxIndexDepth     = 4
)

// layoutFetcher reads blobs of an OCI image layout. It does no verification: pull does.
type layoutFetcher struct {
	dir     string
	checked bool
}

func (l *layoutFetcher) open(_ context.Context, desc v1.Descriptor) (io.ReadCloser, error) {
	// The oci-layout marker is checked on the first blob read, not on every Resolve: a warm
	// Resolve reads only index.json and the store's record.
	if !l.checked {
		if err := checkLayoutMarker(l.dir); err != nil {
			return nil, err
		}
		l.checked = true
	}
	// Digest fields were validated when parsed (algorithm name and hex only), so this path
	// stays inside blobs/.
	f, err := os.Open(filepath.Join(l.dir, "blobs", desc.Digest.Algorithm, desc.Digest.Hex))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, kindError(ErrNotFound, "blob %s is missing from OCI layout %s", desc.Digest, l.dir)
	}
	return f, err
}

func checkLayoutMarker(dir string) error {
	b, err := readSmall(filepath.Join(dir, "oci-layout"), 4096)
	if err != nil {
		return kindError(ErrNotFound, "%s is not an OCI image layout: %w", dir, err)
	}
	var l struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &l); err != nil || !strings.HasPrefix(l.Version, "1.") {
		return kindError(ErrInvalidImage, "%s/oci-layout: unsupported imageLayoutVersion %q", dir, l.Version)
	}
	return nil
}

// readSmall reads a file of at most max bytes with bare syscalls: os.ReadFile costs twice as
// many (fcntl, epoll registration, fstat), which shows on the warm path.
func readSmall(p string, max int) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 8192)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) > max {
			return nil, fmt.Errorf("%s is larger than %d bytes", p, max)
		}
	}
}

func (s *Store) resolveLayout(ctx context.Context, dir, tag string) (*Image, error) {
	b, err := readSmall(filepath.Join(dir, "index.json"), maxIndexJSON)
	if err != nil {
		if fi, serr := os.Stat(dir); serr != nil {
			return nil, kindError(ErrNotFound, "OCI layout: %w", serr)
		} else if !fi.IsDir() {
			return nil, kindError(ErrNotFound, "OCI layout %s is not a directory", dir)
		}
		if errors.Is(err, fs.ErrNotExist) {
			if merr := checkLayoutMarker(dir); merr != nil {
				return nil, merr
			}
			return nil, kindError(ErrNotFound, "%s is not an OCI image layout: %w", dir, err)
		}
		return nil, kindError(ErrInvalidImage, "OCI layout: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, kindError(ErrInvalidImage, "%s/index.json: %w", dir, err)
	}
	desc, err := pickTag(dir, tag, idx.Manifests)
	if err != nil {
		return nil, err
	}
	lf := &layoutFetcher{dir: dir}
	if desc, err = selectPlatform(ctx, lf, desc); err != nil {
		return nil, err
	}
	return s.pull(ctx, desc, lf)
}

// pickTag chooses the top-level descriptor: the first one whose ref.name is tag; without a tag,
// the only one, else the one named "latest".
func pickTag(dir, tag string, descs []v1.Descriptor) (v1.Descriptor, error) {
	var tags []string
	for _, d := range descs {
		if !isManifest(d.MediaType) && !isIndex(d.MediaType) {
			continue
		}
		if t := d.Annotations[annotationRefName]; t != "" {
			tags = append(tags, t)
		}
	}
	if tag == "" && len(descs) == 1 {
		return descs[0], nil
	}
	want := tag
	if want == "" {
		want = "latest"
	}
	for _, d := range descs {
		if d.Annotations[annotationRefName] == want {
			return d, nil
		}
	}
	known := "it has no tags"
	if len(tags) > 0 {
		if len(tags) > 20 {
			tags = append(tags[:20], "...")
		}
		known = "tags: " + strings.Join(tags, ", ")
	}
	if tag == "" {
		return v1.Descriptor{}, kindError(ErrNotFound, "OCI layout %s holds %d manifests and none is tagged \"latest\"; name one (%s)", dir, len(descs), known)
	}
	return v1.Descriptor{}, kindError(ErrNotFound, "tag %q not found in OCI layout %s (%s)", tag, dir, known)
}

// selectPlatform follows image indexes down to the manifest for linux/GOARCH.
func selectPlatform(ctx context.Context, f fetcher, desc v1.Descriptor) (v1.Descriptor, error) {
	for depth := 0; isIndex(desc.MediaType); depth++ {
		if depth == maxIndexDepth {
			return v1.Descriptor{}, kindError(ErrInvalidImage, "image indexes nested deeper than %d", maxIndexDepth)
		}
		b, err := readBlob(ctx, f, desc, maxJSONBlob)
		if err != nil {
			return v1.Descriptor{}, err
		}
		var idx v1.IndexManifest
		if err := json.Unmarshal(b, &idx); err != nil {
			return v1.Descriptor{}, kindError(ErrInvalidImage, "image index %s: %w", desc.Digest, err)
		}
		var next *v1.Descriptor
		var seen []string
		for i := range idx.Manifests {
			d := &idx.Manifests[i]
			if d.Platform == nil {
				continue
			}
			seen = append(seen, d.Platform.String())
			if d.Platform.OS != "linux" || d.Platform.Architecture != runtime.GOARCH {
				continue
			}
			if next == nil || preferredVariant(d.Platform.Variant) && !preferredVariant(next.Platform.Variant) {
				next = d
			}
		}
		if next == nil {
			slices.Sort(seen)
			return v1.Descriptor{}, kindError(ErrNotFound, "image index %s has no manifest for linux/%s (it has: %s)",
				desc.Digest, runtime.GOARCH, strings.Join(slices.Compact(seen), ", "))
		}
		desc = *next
	}
	return desc, nil
}

// preferredVariant reports whether a platform variant is the baseline for GOARCH, so that e.g.
// an amd64 "v3" build (which may not run on this CPU) loses to a plain one.
func preferredVariant(v string) bool {
	switch runtime.GOARCH {
	case "arm64":
		return v == "" || v == "v8"
	case "amd64":
		return v == "" || v == "v1"
	}
	return v == ""
}

func isIndex(mt types.MediaType) bool {
	return mt == types.OCIImageIndex || mt == types.DockerManifestList
}

func isManifest(mt types.MediaType) bool {
	return mt == types.OCIManifestSchema1 || mt == types.DockerManifestSchema2
}

func mediaTypeError(what string, desc v1.Descriptor) error {
	return kindError(ErrInvalidImage, "%s %s has unsupported media type %q", what, desc.Digest, desc.MediaType)
}
