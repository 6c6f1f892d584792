package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The name index: repositories.json maps every name the store knows to the image record it
// points at. Names are normalized ("docker.io/library/busybox:1.36" for a tag,
// "docker.io/library/busybox@sha256:..." for a pull by digest). It is read without a lock (it
// is only ever replaced by rename) and rewritten under locks/index.lock, always while the gc
// lock is held too, so Prune never sees a record whose name is about to be written.
const indexFile = "repositories.json"

type nameEntry struct {
	// Manifest is the platform manifest the name resolved to: images/sha256/<hex>.json.
	Manifest string `json:"manifest"`
	// Digest is what the registry answered for the name (an index's digest for a
	// multi-platform image): the digest of the repo digest.
	Digest string `json:"digest"`
	// Local marks names made by Import: there is no registry to pull them from, so even
	// PullAlways uses the local image.
	Local bool `json:"local,omitempty"`
}

type nameIndex struct {
	Names map[string]nameEntry `json:"names"`
}

func (s *Store) readIndex() (*nameIndex, error) {
	idx := &nameIndex{Names: map[string]nameEntry{}}
	b, err := readSmall(filepath.Join(s.Root, indexFile), 64<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("image store: %s: %w", indexFile, err)
	}
	if idx.Names == nil {
		idx.Names = map[string]nameEntry{}
	}
	return idx, nil
}

// updateIndex applies fn to the index and writes it back atomically, serialised across
// processes. The caller holds the gc lock.
func (s *Store) updateIndex(ctx context.Context, fn func(*nameIndex) error) error {
	unlock, err := s.lock(ctx, "index")
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return s.writeFile(indexFile, b, true)
}

// repoName is a repository's normalized name, with docker.io rather than ggcr's index.docker.io,
// as Docker, containerd and the kubelet write it.
func repoName(r name.Repository) string {
	reg := r.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + r.RepositoryStr()
}

// canonical is a reference's normalized name: repo:tag or repo@digest.
func canonical(r name.Reference) string {
	if d, ok := r.(name.Digest); ok {
		return repoName(d.Context()) + "@" + d.DigestStr()
	}
	return repoName(r.Context()) + ":" + r.Identifier()
}

// lookupName finds a name in the index and its image, if both are present.
func (s *Store) lookupName(key string) (*Image, nameEntry, bool) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, nameEntry{}, false
	}
	e, ok := idx.Names[key]
	if !ok {
		return nil, nameEntry{}, false
	}
	h, err := v1.NewHash(e.Manifest)
	if err != nil || h.Algorithm != "sha256" {
		return nil, nameEntry{}, false
	}
	img, ok := s.readRecord(h)
	if !ok {
		return nil, nameEntry{}, false
	}
	return s.named(img, key, e), e, true
}

// named completes an Image found under a name.
func (s *Store) named(img *Image, key string, e nameEntry) *Image {
	img.Name = key
	repo := key
	if r, err := name.ParseReference(key); err == nil {
		repo = repoName(r.Context())
	}
	img.RepoDigest = repo + "@" + e.Digest
	return img
}

// lookupLocal finds a registry reference in the store without any network access. A short name
// ("myimg") also matches what Import made of it (localhost/myimg), as Podman resolves it.
func (s *Store) lookupLocal(r name.Reference, given string) (*Image, nameEntry, bool) {
	key := canonical(r)
	if img, e, ok := s.lookupName(key); ok {
		return img, e, true
	}
	if d, ok := r.(name.Digest); ok {
		// Pulled by a tag that resolved to this digest (an index's, say) ...
		if idx, err := s.readIndex(); err == nil {
			repo := repoName(d.Context())
			for n, e := range idx.Names {
				if e.Digest == d.DigestStr() && strings.HasPrefix(n, repo+":") {
					if img, e, ok := s.lookupName(n); ok {
						return s.named(img, key, e), e, true
					}
				}
			}
		}
		// ... or under another name, or from a layout: a manifest digest says it all.
		if h, err := v1.NewHash(d.DigestStr()); err == nil {
			if img, ok := s.readRecord(h); ok {
				e := nameEntry{Manifest: h.String(), Digest: h.String()}
				return s.named(img, key, e), e, true
			}
		}
	}
	if lr, err := name.ParseReference("localhost/"+given, name.WeakValidation); err == nil && !hasDomain(given) {
		return s.lookupName(canonical(lr))
	}
	return nil, nameEntry{}, false
}

// hasDomain tells whether a reference's first component names a registry, by Docker's rule.
func hasDomain(ref string) bool {
	first, _, ok := strings.Cut(ref, "/")
	return ok && (first == "localhost" || strings.ContainsAny(first, ".:"))
}
