package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// records reads every image record; damaged ones are skipped (Prune leaves them to a re-pull,
// which rewrites them).
// snapshot reads the names index and every image record.
func (s *Store) snapshot() (*nameIndex, []record, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, nil, err
	}
	recs, err := s.records()
	if err != nil {
		return nil, nil, err
	}
	return idx, recs, nil
}

func (s *Store) records() ([]record, error) {
	dir := filepath.Join(s.Root, "images", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image store: %w", err)
	}
	var recs []record
	for _, e := range ents {
		hexName, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(hexName, ".") {
			continue
		}
		b, err := readSmall(filepath.Join(dir, e.Name()), maxJSONBlob)
		if err != nil {
			continue
		}
		var rec record
		if json.Unmarshal(b, &rec) != nil || rec.Manifest != "sha256:"+hexName || !validDigests(rec) {
			continue
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// validDigests guards paths built from a record's digests.
func validDigests(rec record) bool {
	for _, d := range append([]string{rec.Manifest, rec.Config}, rec.DiffIDs...) {
		if h, err := v1.NewHash(d); err != nil || h.Algorithm != "sha256" {
			return false
		}
	}
	return true
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

// configFile reads a record's image config from the store.
func (s *Store) configFile(rec record) (*v1.ConfigFile, []byte) {
	b, err := readSmall(filepath.Join(s.Root, "blobs", "sha256", hexOf(rec.Config)), maxJSONBlob)
	if err != nil {
		return &v1.ConfigFile{}, nil
	}
	var cf v1.ConfigFile
	if json.Unmarshal(b, &cf) != nil {
		return &v1.ConfigFile{}, nil
	}
	return &cf, b
}

// layerSize is a layer's uncompressed size, from the size file ensureLayer writes, else by
// walking the tree (layers unpacked before size files existed).
func (s *Store) layerSize(diffHex string) int64 {
	if b, err := readSmall(filepath.Join(s.layerDir(diffHex), "size"), 64); err == nil {
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return n
		}
	}
	return treeSize(filepath.Join(s.layerDir(diffHex), "rootfs"))
}

func (s *Store) imageSize(rec record) int64 {
	var n int64
	for i, d := range rec.DiffIDs {
		if !slices.Contains(rec.DiffIDs[:i], d) {
			n += s.layerSize(hexOf(d))
		}
	}
	return n
}

// treeSize sums the sizes of the regular files under p.
func treeSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// namesOf groups the index's names by manifest.
func namesOf(idx *nameIndex) map[string][]string {
	m := map[string][]string{}
	for n, e := range idx.Names {
		m[e.Manifest] = append(m[e.Manifest], n)
	}
	for _, v := range m {
		slices.Sort(v)
	}
	return m
}

// splitName cuts a normalized name into repository and tag ("" for a digest name).
func splitName(n string) (repo, tag string) {
	if r, _, ok := strings.Cut(n, "@"); ok {
		return r, ""
	}
	i := strings.LastIndexByte(n, ':')
	if i < strings.LastIndexByte(n, '/') {
		return n, ""
	}
	return n[:i], n[i+1:]
}

func (s *Store) list() ([]Summary, error) {
	idx, recs, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	names := namesOf(idx)
	var out []Summary
	for _, rec := range recs {
		cf, _ := s.configFile(rec)
		base := Summary{ID: rec.Config, RepoDigest: rec.Manifest, Created: cf.Created.Time, Size: s.imageSize(rec)}
		var rows []Summary
		var untaggedRepos []string
		for _, n := range names[rec.Manifest] {
			repo, tag := splitName(n)
			row := base
			row.RepoDigest = idx.Names[n].Digest
			if tag == "" {
				untaggedRepos = append(untaggedRepos, repo)
				continue
			}
			row.Repository, row.Tag = repo, tag
			rows = append(rows, row)
		}
		if len(rows) == 0 {
			for _, repo := range slices.Compact(untaggedRepos) {
				row := base
				row.Repository, row.Tag = repo, "<none>"
				rows = append(rows, row)
			}
		}
		if len(rows) == 0 {
			base.Repository, base.Tag = "<none>", "<none>"
			rows = append(rows, base)
		}
		out = append(out, rows...)
	}
	slices.SortFunc(out, func(a, b Summary) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		if c := strings.Compare(a.Repository, b.Repository); c != 0 {
			return c
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	return out, nil
}

// find resolves ref for Remove and Inspect: a name (normalized; a short name also matches its
// localhost/ import), a digest reference, or an image ID or a unique prefix of one. It returns
// the matching records and the names to drop when removing by that ref.
func (s *Store) find(idx *nameIndex, recs []record, ref string) ([]record, []string, error) {
	byManifest := func(m string) []record {
		for _, r := range recs {
			if r.Manifest == m {
				return []record{r}
			}
		}
		return nil
	}
	if r, err := s.parseRegistryRef(ref); err == nil {
		keys := []string{canonical(r)}
		if lr, err := name.ParseReference("localhost/" + ref); err == nil && !hasDomain(ref) {
			keys = append(keys, canonical(lr))
		}
		for _, k := range keys {
			if e, ok := idx.Names[k]; ok {
				if m := byManifest(e.Manifest); m != nil {
					return m, []string{k}, nil
				}
			}
		}
		if d, ok := r.(name.Digest); ok {
			if m := byManifest(d.DigestStr()); m != nil {
				return m, namesOf(idx)[d.DigestStr()], nil
			}
		}
	}
	id := strings.TrimPrefix(ref, "sha256:")
	if len(id) >= 3 && len(id) <= 64 && strings.Trim(id, "0123456789abcdef") == "" {
		var matched []record
		ids := map[string]bool{}
		for _, r := range recs {
			if strings.HasPrefix(hexOf(r.Config), id) {
				matched = append(matched, r)
				ids[r.Config] = true
			}
		}
		if len(ids) > 1 {
			return nil, nil, &Error{Ref: ref, Kind: ErrInvalidReference, Err: fmt.Errorf("image ID prefix %q is ambiguous: %d images match", id, len(ids))}
		}
		if len(matched) > 0 {
			var names []string
			byM := namesOf(idx)
			for _, r := range matched {
				names = append(names, byM[r.Manifest]...)
			}
			return matched, names, nil
		}
	}
	return nil, nil, &Error{Ref: ref, Kind: ErrNotFound, Err: errors.New("no such image in the local store")}
}

func inUseOrNil(inUse InUse) InUse {
	if inUse == nil {
		return func(string) bool { return false }
	}
	return inUse
}

func (s *Store) remove(ref string, force bool, inUse InUse) ([]string, error) {
	inUse = inUseOrNil(inUse)
	unlock, err := s.lockMode(context.Background(), gcLock, unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlock()
	idx, recs, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	matched, drop, err := s.find(idx, recs, ref)
	if err != nil {
		return nil, err
	}
	// The images left without a name are deleted; check they are free before changing anything.
	left := namesLeft(idx.Names, drop)
	var doomed []record
	for _, r := range matched {
		if left[r.Manifest] > 0 {
			continue
		}
		if inUse(r.Config) && !force {
			return nil, &Error{Ref: ref, Kind: ErrInUse, Err: fmt.Errorf("image %s is used by a pod (remove the pod first, or force)", r.Config)}
		}
		doomed = append(doomed, r)
	}
	var removed []string
	if len(drop) > 0 {
		if err := s.updateIndex(context.Background(), func(idx *nameIndex) error {
			for _, n := range drop {
				delete(idx.Names, n)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		for _, n := range drop {
			removed = append(removed, "Untagged: "+n)
		}
	}
	gone, _, err := s.deleteImages(doomed, inUse)
	return append(removed, gone...), err
}

// namesLeft counts, per manifest, the names that remain after dropping drop.
func namesLeft(names map[string]nameEntry, drop []string) map[string]int {
	left := map[string]int{}
	for n, e := range names {
		if !slices.Contains(drop, n) {
			left[e.Manifest]++
		}
	}
	return left
}

// deleteImages deletes records, then their manifest and config blobs and layers that no
// remaining record uses, keeping layers in use. The caller holds the gc lock exclusively and has
// already removed the names.
func (s *Store) deleteImages(doomed []record, inUse InUse) (removed []string, freed int64, err error) {
	for _, r := range doomed {
		p := filepath.Join(s.Root, "images", "sha256", hexOf(r.Manifest)+".json")
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, freed, err
		}
		removed = append(removed, "Deleted: "+r.Config)
	}
	recs, err := s.records()
	if err != nil {
		return removed, freed, err
	}
	usedBlob, usedLayer := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		usedBlob[r.Manifest], usedBlob[r.Config] = true, true
		for _, d := range r.DiffIDs {
			usedLayer[d] = true
		}
	}
	for _, r := range doomed {
		for _, b := range []string{r.Manifest, r.Config} {
			if !usedBlob[b] {
				freed += s.removeTree(filepath.Join(s.Root, "blobs", "sha256", hexOf(b)))
			}
		}
		for _, d := range r.DiffIDs {
			if usedLayer[d] || inUse(filepath.Join(s.layerDir(hexOf(d)), "rootfs")) {
				continue
			}
			usedLayer[d] = true // once
			n := s.removeTree(s.layerDir(hexOf(d)))
			if n >= 0 {
				freed += n
				removed = append(removed, "Deleted: "+d)
			}
		}
	}
	return removed, freed, nil
}

// removeTree deletes p and returns the bytes its regular files held, or -1 if p was absent.
func (s *Store) removeTree(p string) int64 {
	if _, err := os.Lstat(p); err != nil {
		return -1
	}
	n := treeSize(p)
	if err := os.RemoveAll(p); err != nil {
		return 0
	}
	return n
}

func (s *Store) prune(inUse InUse) ([]string, int64, error) {
	inUse = inUseOrNil(inUse)
	unlock, err := s.lockMode(context.Background(), gcLock, unix.LOCK_EX)
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	idx, recs, err := s.snapshot()
	if err != nil {
		return nil, 0, err
	}
	named := namesOf(idx)
	var doomed []record
	for _, r := range recs {
		if len(named[r.Manifest]) == 0 && !inUse(r.Config) {
			doomed = append(doomed, r)
		}
	}
	removed, freed, err := s.deleteImages(doomed, inUse)
	if err != nil {
		return removed, freed, err
	}
	// Whatever else no record references: layers of images deleted by force while in use,
	// records lost in a crash, blobs of indexes whose names are gone, temp files of crashes.
	if recs, err = s.records(); err != nil {
		return removed, freed, err
	}
	used := map[string]bool{}
	for _, r := range recs {
		used[hexOf(r.Manifest)], used[hexOf(r.Config)] = true, true
		for _, d := range r.DiffIDs {
			used["layer:"+hexOf(d)] = true
		}
	}
	for _, e := range idx.Names {
		used[hexOf(e.Digest)] = true
	}
	layers := filepath.Join(s.Root, "layers", "sha256")
	ents, _ := os.ReadDir(layers)
	for _, e := range ents {
		n := e.Name()
		if hex, ok := strings.CutPrefix(n, ".tmp-"); ok {
			// An unpack in progress holds its layer's lock; one that died does not.
			hex, _, _ = strings.Cut(hex, "-")
			if unl, err := s.lockNB("layer-" + hex); err == nil {
				freed += max(0, s.removeTree(filepath.Join(layers, n)))
				unl()
			}
			continue
		}
		if used["layer:"+n] || inUse(filepath.Join(layers, n, "rootfs")) {
			continue
		}
		if sz := s.removeTree(filepath.Join(layers, n)); sz >= 0 {
			freed += sz
			removed = append(removed, "Deleted: sha256:"+n)
		}
	}
	for _, sub := range []string{"blobs", "images"} {
		dir := filepath.Join(s.Root, sub, "sha256")
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			n := e.Name()
			switch {
			case strings.HasPrefix(n, ".tmp-"):
				// writeFile's temp files: no writer runs while we hold the gc lock.
			case sub == "blobs" && !used[n]:
			default:
				continue
			}
			freed += max(0, s.removeTree(filepath.Join(dir, n)))
		}
	}
	freed += s.cleanStaging()
	return removed, freed, nil
}

// lockNB takes a lock only if it is free.
func (s *Store) lockNB(name string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.Root, "locks", name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// inspectJSON is the essentials of `podman image inspect`.
type inspectJSON struct {
	ID           string          `json:"Id"`
	Digest       string          `json:"Digest"`
	RepoTags     []string        `json:"RepoTags"`
	RepoDigests  []string        `json:"RepoDigests"`
	Created      time.Time       `json:"Created"`
	Config       v1.Config       `json:"Config"`
	Architecture string          `json:"Architecture"`
	Os           string          `json:"Os"`
	Size         int64           `json:"Size"`
	GraphDriver  graphDriver     `json:"GraphDriver"`
	RootFS       rootFS          `json:"RootFS"`
	History      []v1.History    `json:"History,omitempty"`
	ImageConfig  json.RawMessage `json:"ImageConfig,omitempty"` // the OCI image config as stored
}

type graphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

type rootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

func (s *Store) inspect(ref string) ([]byte, error) {
	idx, recs, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	matched, _, err := s.find(idx, recs, ref)
	if err != nil {
		return nil, err
	}
	rec := matched[0]
	cf, raw := s.configFile(rec)
	out := inspectJSON{
		ID: hexOf(rec.Config), Digest: rec.Manifest, RepoTags: []string{}, RepoDigests: []string{},
		Created: cf.Created.Time, Config: cf.Config, Architecture: cf.Architecture, Os: cf.OS,
		Size: s.imageSize(rec), History: cf.History, ImageConfig: raw,
		GraphDriver: graphDriver{Name: "overlay", Data: map[string]string{}},
		RootFS:      rootFS{Type: "layers", Layers: rec.DiffIDs},
	}
	for _, n := range namesOf(idx)[rec.Manifest] {
		repo, tag := splitName(n)
		if tag != "" {
			out.RepoTags = append(out.RepoTags, n)
		}
		if rd := repo + "@" + idx.Names[n].Digest; !slices.Contains(out.RepoDigests, rd) {
			out.RepoDigests = append(out.RepoDigests, rd)
		}
	}
	layers := s.image(rec).Layers
	slices.Reverse(layers) // overlay order: top first
	out.GraphDriver.Data["LowerDir"] = strings.Join(layers, ":")
	return json.MarshalIndent([]inspectJSON{out}, "", "  ")
}
