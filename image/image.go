// Package image resolves a container's `image:` to root filesystem layers on the local host.
//
// References understood:
//
//	rootfs:/abs/dir                   an unpacked root filesystem directory, used as is (no image config)
//	oci:/abs/layout[:tag]             an OCI image layout; tag matches org.opencontainers.image.ref.name
//	oci-archive:/abs/file.tar[:tag]   a tar of an OCI image layout, read in place
//	docker-archive:/abs/file.tar[:ref] what `docker save` writes
//	busybox, localhost:5000/app@sha256:...  a registry reference, normalized as Docker does
//
// Layers of OCI images are verified against their digests and unpacked once, individually, into
// the Store, so pods share them as overlay lowerdirs. Every transport feeds the Store through the
// fetcher interface (see pull.go); registry pulls (registry.go) also record names in an index
// (index.go) that List, Remove, Prune and Inspect (manage.go) work from.
package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Store holds unpacked layers and per-image records under Root:
//
//	layers/sha256/<diffID hex>/rootfs   one unpacked layer (keyed by its uncompressed digest, so
//	                                    gzip and zstd copies of a layer share a directory)
//	blobs/sha256/<hex>                  manifests and configs, content-addressed
//	images/sha256/<manifest hex>.json   what a manifest resolved to, so a warm Resolve reads no blob
//	locks/<name>.lock                   flock files serialising work across minipod processes
//	repositories.json                   names (repo:tag, repo@digest) → manifest; see index.go
//	tmp/                                layer blobs of registry pulls in progress
//
// A Store is safe for concurrent use; set its fields before the first call.
type Store struct {
	Root string

	// Insecure lists registries (host[:port]) that may be reached over plain HTTP besides
	// localhost and 127.0.0.1, like Docker's insecure-registries.
	Insecure []string

	reg registryState // pullers and in-flight pulls; zero value ready
}

// Open creates the store directories if needed. The layer tree is mode 0700 because unpacked
// layers contain setuid binaries that host users must not reach.
func Open(root string, insecure ...string) (*Store, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("image store root %q is not an absolute path", root)
	}
	s := &Store{Root: filepath.Clean(root), Insecure: insecure}
	if err := s.mkdirs(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) mkdirs() error {
	if err := os.MkdirAll(s.Root, 0o700); err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	for _, d := range []string{"layers", "layers/sha256", "blobs/sha256", "images/sha256", "locks"} {
		p := filepath.Join(s.Root, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("image store: %w", err)
		}
	}
	// MkdirAll leaves an existing directory's mode alone; the layer tree must not be reachable.
	if err := os.Chmod(filepath.Join(s.Root, "layers"), 0o700); err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	return nil
}

// Resolve makes the image available locally (verifying and unpacking layers on first use) and
// returns it. Errors are *Error; see the sentinels for how to classify them.
func (s *Store) Resolve(ctx context.Context, ref string) (*Image, error) {
	img, err := s.resolve(ctx, ref)
	if err != nil {
		// Only a top-level *Error is completed in place; anything else is wrapped whole so no
		// context is lost.
		if e, ok := err.(*Error); ok && e.Ref == "" {
			e.Ref = ref
			return nil, e
		}
		return nil, &Error{Ref: ref, Kind: kindOf(err), Err: err}
	}
	img.Ref = ref
	return img, nil
}

func (s *Store) resolve(ctx context.Context, ref string) (*Image, error) {
	if err := checkRefChars(ref); err != nil {
		return nil, kindError(ErrInvalidReference, "%v", err)
	}
	switch {
	case strings.HasPrefix(ref, prefixRootfs):
		dir, err := absPath(strings.TrimPrefix(ref, prefixRootfs))
		if err != nil {
			return nil, err
		}
		return resolveRootfs(dir)
	case strings.HasPrefix(ref, prefixOCI):
		dir, tag, err := parseOCI(strings.TrimPrefix(ref, prefixOCI))
		if err != nil {
			return nil, err
		}
		return s.resolveLayout(ctx, dir, tag)
	case strings.HasPrefix(ref, prefixOCIArchive):
		file, tag, err := parseOCI(strings.TrimPrefix(ref, prefixOCIArchive))
		if err != nil {
			return nil, err
		}
		return s.resolveOCIArchive(ctx, file, tag)
	case strings.HasPrefix(ref, prefixDockerArchive):
		return s.resolveDockerArchive(ctx, strings.TrimPrefix(ref, prefixDockerArchive))
	}
	// Anything else is a registry reference: Resolve answers from the store and never pulls.
	r, err := s.parseRegistryRef(ref)
	if err != nil {
		return nil, err
	}
	if img, _, ok := s.lookupLocal(r, ref); ok {
		return img, nil
	}
	return nil, kindError(ErrNotFound, "%s is not in the local store (Resolve never pulls; Get does)", canonical(r))
}

// parseOCI splits "path[:tag]" at the first colon, as skopeo's oci: transport does, so a tag may
// itself be a full name such as "example.com/app:v1" but the path may not contain a colon.
func parseOCI(s string) (dir, tag string, err error) {
	dir, tag, hasTag := strings.Cut(s, ":")
	if dir, err = absPath(dir); err != nil {
		return "", "", err
	}
	if hasTag && !validRefName(tag) {
		return "", "", kindError(ErrInvalidReference, "invalid tag %q", tag)
	}
	return dir, tag, nil
}

// validRefName checks the org.opencontainers.image.ref.name grammar of the OCI layout spec:
// components of alphanumerics joined by one of -._:@+ (or "--"), separated by "/".
func validRefName(s string) bool {
	if s == "" {
		return false
	}
	for comp := range strings.SplitSeq(s, "/") {
		if comp == "" || !isAlnum(comp[0]) || !isAlnum(comp[len(comp)-1]) {
			return false
		}
		for i := 0; i < len(comp); i++ {
			c := comp[i]
			if isAlnum(c) {
				continue
			}
			if !strings.ContainsRune("-._:@+", rune(c)) {
				return false
			}
			// A separator must be followed by an alphanumeric, except the "--" separator.
			if next := comp[i+1]; !isAlnum(next) && (c != '-' || next != '-' || !isAlnum(comp[i+2])) {
				return false
			}
			if c == '-' && comp[i+1] == '-' {
				i++
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
