package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// maxJSONBlob bounds manifests, indexes and configs read into memory.
const maxJSONBlob = 8 << 20

// fetcher is what a transport supplies: the raw bytes of a blob. Everything it returns is
// checked against the descriptor's size and digest here, so no transport has to be trusted
// (ggcr's layout package, for one, does not verify). A registry or archive transport plugs in
// by implementing fetcher and handing pull the manifest descriptor it resolved.
type fetcher interface {
	open(ctx context.Context, desc v1.Descriptor) (io.ReadCloser, error)
}

// record is what a manifest resolved to. Its presence, with every layer directory present, lets
// a warm Resolve skip reading and hashing blobs.
type record struct {
	Manifest string   `json:"manifest"`
	Config   string   `json:"config"`
	DiffIDs  []string `json:"diffIDs"`
	Image    Config   `json:"image"`
}

// unpacks counts layer unpacks, for tests that check concurrent Resolves do the work once.
var unpacks atomic.Int64

// pull makes the image whose manifest desc names available and returns it.
func (s *Store) pull(ctx context.Context, desc v1.Descriptor, f fetcher) (*Image, error) {
	if !isManifest(desc.MediaType) {
		return nil, mediaTypeError("manifest", desc)
	}
	if desc.Digest.Algorithm != "sha256" {
		return nil, kindError(ErrInvalidImage, "manifest digest %s: only sha256 is supported", desc.Digest)
	}
	if img, ok := s.readRecord(desc.Digest); ok {
		return img, nil
	}
	if err := s.mkdirs(); err != nil {
		return nil, err
	}
	// Shared: pulls run side by side, but Prune and Remove (exclusive) must not delete a layer
	// between our check that it exists and the record that references it.
	unlock, err := s.lockMode(ctx, gcLock, unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.pullLocked(ctx, desc, f)
}

// layerNotifier is implemented by fetchers that report progress: pull tells them when a layer
// is in place.
type layerNotifier interface {
	layerDone(desc v1.Descriptor)
}

// pullLocked is pull's slow path; the caller holds the gc lock shared.
func (s *Store) pullLocked(ctx context.Context, desc v1.Descriptor, f fetcher) (*Image, error) {
	raw, err := readBlob(ctx, f, desc, maxJSONBlob)
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, kindError(ErrInvalidImage, "manifest %s: %w", desc.Digest, err)
	}
	if m.Config.MediaType != types.OCIConfigJSON && m.Config.MediaType != types.DockerConfigJSON {
		return nil, mediaTypeError("config of manifest "+desc.Digest.String()+":", m.Config)
	}
	if m.Config.Digest.Algorithm != "sha256" {
		return nil, kindError(ErrInvalidImage, "config digest %s: only sha256 is supported", m.Config.Digest)
	}
	rawCfg, err := readBlob(ctx, f, m.Config, maxJSONBlob)
	if err != nil {
		return nil, err
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(rawCfg, &cf); err != nil {
		return nil, kindError(ErrInvalidImage, "config %s: %w", m.Config.Digest, err)
	}
	if cf.OS != "" && cf.OS != "linux" {
		return nil, kindError(ErrInvalidImage, "image is for OS %q, not linux", cf.OS)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, kindError(ErrInvalidImage, "manifest %s lists %d layers but its config %d diff_ids",
			desc.Digest, len(m.Layers), len(cf.RootFS.DiffIDs))
	}

	rec := record{
		Manifest: desc.Digest.String(),
		Config:   m.Config.Digest.String(),
		Image: Config{
			Entrypoint: cf.Config.Entrypoint,
			Cmd:        cf.Config.Cmd,
			Env:        cf.Config.Env,
			WorkingDir: cf.Config.WorkingDir,
			User:       cf.Config.User,
			StopSignal: cf.Config.StopSignal,
		},
	}
	for i, l := range m.Layers {
		diffID := cf.RootFS.DiffIDs[i]
		if diffID.Algorithm != "sha256" || l.Digest.Algorithm != "sha256" {
			return nil, kindError(ErrInvalidImage, "layer %s: only sha256 digests are supported", l.Digest)
		}
		if !isLayer(l.MediaType) {
			return nil, mediaTypeError("layer", l)
		}
		if err := s.ensureLayer(ctx, f, l, diffID); err != nil {
			return nil, err
		}
		if n, ok := f.(layerNotifier); ok {
			n.layerDone(l)
		}
		rec.DiffIDs = append(rec.DiffIDs, diffID.String())
	}
	// Keep manifest and config: small, and what a later registry pull or `inspect` wants.
	if err := s.writeFile(filepath.Join("blobs", "sha256", desc.Digest.Hex), raw, false); err != nil {
		return nil, err
	}
	if err := s.writeFile(filepath.Join("blobs", "sha256", m.Config.Digest.Hex), rawCfg, false); err != nil {
		return nil, err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	// Always rewritten: a damaged record may be why we are on this path.
	if err := s.writeFile(filepath.Join("images", "sha256", desc.Digest.Hex+".json"), b, true); err != nil {
		return nil, err
	}
	return s.image(rec), nil
}

func isLayer(mt types.MediaType) bool {
	switch mt {
	case types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer,
		types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		types.DockerLayer, types.DockerForeignLayer, types.DockerUncompressedLayer:
		return true
	}
	return false
}

func (s *Store) layerDir(diffHex string) string {
	return filepath.Join(s.Root, "layers", "sha256", diffHex)
}

// image builds the Image for a record. A layer listed twice appears once, at its topmost
// position: overlayfs refuses a repeated lowerdir, and the lower copy cannot change the merged
// view since the upper copy holds the same entries, whiteouts and opaque markers.
func (s *Store) image(rec record) *Image {
	img := &Image{ID: rec.Config, RepoDigest: rec.Manifest, Config: rec.Image}
	for i, d := range rec.DiffIDs {
		if slices.Contains(rec.DiffIDs[i+1:], d) {
			continue
		}
		img.Layers = append(img.Layers, filepath.Join(s.layerDir(d[len("sha256:"):]), "rootfs"))
	}
	return img
}

// readRecord is the warm path: one small file read and a stat per layer.
func (s *Store) readRecord(manifest v1.Hash) (*Image, bool) {
	b, err := readSmall(filepath.Join(s.Root, "images", "sha256", manifest.Hex+".json"), maxJSONBlob)
	if err != nil {
		return nil, false
	}
	var rec record
	if json.Unmarshal(b, &rec) != nil || rec.Manifest != manifest.String() {
		return nil, false
	}
	for _, d := range rec.DiffIDs {
		// Parsing guards against a damaged record steering paths outside the store.
		h, err := v1.NewHash(d)
		if err != nil || h.Algorithm != "sha256" {
			return nil, false
		}
		var st unix.Stat_t
		if unix.Stat(filepath.Join(s.layerDir(h.Hex), "rootfs"), &st) != nil {
			return nil, false // e.g. a layer was garbage-collected: redo the slow path
		}
	}
	return s.image(rec), true
}

// writeFile atomically writes a store file. Unless replace, an existing file is kept: blobs are
// content-addressed, so it is already right.
func (s *Store) writeFile(rel string, data []byte, replace bool) error {
	p := filepath.Join(s.Root, rel)
	if _, err := os.Lstat(p); err == nil && !replace {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// lock takes an exclusive flock on locks/<name>.lock. flock rather than a mutex because two
// minipod processes may resolve the same image; it is polled so ctx can cancel the wait. Lock
// files are never removed: removing one while another process waits on it would split the lock.
func (s *Store) lock(ctx context.Context, name string) (unlock func(), err error) {
	return s.lockMode(ctx, name, unix.LOCK_EX)
}

// gcLock is held shared by every writer of records and layers and exclusively by Remove and
// Prune, which delete them.
const gcLock = "gc"

// lockMode is lock with how = unix.LOCK_EX or unix.LOCK_SH.
func (s *Store) lockMode(ctx context.Context, name string, how int) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.Root, "locks", name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the flock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// ensureLayer unpacks one layer into layers/sha256/<diffID hex>/rootfs unless it is there. The
// work happens in a temp directory beside the final one and is renamed into place only after
// both the compressed digest and the diffID have been verified, so a crash or a corrupt blob
// leaves at most a temp directory, which the next attempt (under the same lock) removes.
func (s *Store) ensureLayer(ctx context.Context, f fetcher, desc v1.Descriptor, diffID v1.Hash) error {
	final := s.layerDir(diffID.Hex)
	if _, err := os.Stat(filepath.Join(final, "rootfs")); err == nil {
		return nil
	}
	unlock, err := s.lock(ctx, "layer-"+diffID.Hex)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(final, "rootfs")); err == nil {
		return nil // another Resolve finished it while we waited
	}
	parent := filepath.Dir(final)
	stale, _ := filepath.Glob(filepath.Join(parent, ".tmp-"+diffID.Hex+"-*"))
	for _, d := range stale {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("removing stale %s: %w", d, err)
		}
	}
	if err := os.RemoveAll(final); err != nil { // an incomplete final dir cannot exist, but be sure
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+diffID.Hex+"-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Mkdir(filepath.Join(tmp, "rootfs"), 0o755); err != nil {
		return err
	}
	unpacks.Add(1)
	size, err := unpackBlob(ctx, f, desc, diffID, filepath.Join(tmp, "rootfs"))
	if err != nil {
		return err
	}
	// The uncompressed size, for `image ls`: walking the tree later would cost a stat per file.
	if err := os.WriteFile(filepath.Join(tmp, "size"), []byte(strconv.FormatInt(size, 10)), 0o600); err != nil {
		return err
	}
	if err := syncDir(tmp, true); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	ok = true
	return syncDir(parent, false)
}

// syncDir fsyncs a directory or, with whole, the filesystem it is on: the unpacked files must
// be durable before the rename publishes them.
func syncDir(dir string, whole bool) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if whole {
		return unix.Syncfs(int(f.Fd()))
	}
	return f.Sync()
}

func unpackBlob(ctx context.Context, f fetcher, desc v1.Descriptor, diffID v1.Hash, dir string) (int64, error) {
	rc, err := f.open(ctx, desc)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	vr := newVerifier(rc, desc)
	br := bufio.NewReaderSize(vr, 64<<10)
	var r io.Reader = br
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, layerErr(desc, vr, kindError(ErrInvalidImage, "layer %s: %w", desc.Digest, err))
		}
		defer zr.Close()
		r = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return 0, layerErr(desc, vr, kindError(ErrInvalidImage, "layer %s: %w", desc.Digest, err))
		}
		defer zr.Close()
		r = zr
	}
	dh := &countingHash{Hash: sha256.New()}
	tee := io.TeeReader(r, dh)
	if err := unpackTar(ctx, tee, dir, desc.Digest.String()); err != nil {
		return 0, layerErr(desc, vr, err)
	}
	// The digests cover everything, including padding after the tar end marker and anything
	// after the compressed stream.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return 0, layerErr(desc, vr, kindError(ErrInvalidImage, "layer %s: %w", desc.Digest, err))
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return 0, layerErr(desc, vr, err)
	}
	if !vr.verified {
		return 0, kindError(ErrInvalidImage, "layer %s: blob not verified", desc.Digest)
	}
	if got := hex.EncodeToString(dh.Sum(nil)); got != diffID.Hex {
		return 0, kindError(ErrInvalidImage, "layer %s: uncompressed content has digest sha256:%s, config says %s", desc.Digest, got, diffID)
	}
	return dh.n, nil
}

// countingHash hashes and counts the uncompressed bytes of a layer.
type countingHash struct {
	hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.Hash.Write(p)
}

// layerErr prefers reporting a digest mismatch over whatever parse error corrupt data caused,
// so it reads the rest of the blob to find out.
func layerErr(desc v1.Descriptor, vr *verifier, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if vr.err == nil && !vr.verified {
		io.Copy(io.Discard, vr)
	}
	if vr.err != nil {
		return vr.err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("layer %s: %w", desc.Digest, err)
}

// verifier hashes a blob as it is read and fails the read that reaches EOF (or exceeds the
// size) if the blob does not match its descriptor.
type verifier struct {
	r        io.Reader
	h        hash.Hash
	desc     v1.Descriptor
	n        int64
	verified bool
	err      error
}

func newVerifier(r io.Reader, desc v1.Descriptor) *verifier {
	return &verifier{r: r, h: sha256.New(), desc: desc}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.desc.Size {
		v.err = kindError(ErrInvalidImage, "blob %s is larger than its descriptor's %d bytes", v.desc.Digest, v.desc.Size)
		return 0, v.err
	}
	if err == io.EOF {
		if v.n != v.desc.Size {
			v.err = kindError(ErrInvalidImage, "blob %s has %d bytes, descriptor says %d", v.desc.Digest, v.n, v.desc.Size)
		} else if got := hex.EncodeToString(v.h.Sum(nil)); got != v.desc.Digest.Hex {
			v.err = kindError(ErrInvalidImage, "blob %s does not match its digest (got sha256:%s)", v.desc.Digest, got)
		}
		if v.err != nil {
			return 0, v.err
		}
		v.verified = true
	}
	return n, err
}

// readBlob reads a small blob whole and verifies it.
func readBlob(ctx context.Context, f fetcher, desc v1.Descriptor, max int64) ([]byte, error) {
	if desc.Digest.Algorithm != "sha256" {
		return nil, kindError(ErrInvalidImage, "blob %s: only sha256 digests are supported", desc.Digest)
	}
	if desc.Size > max || desc.Size < 0 {
		return nil, kindError(ErrInvalidImage, "blob %s: size %d is out of range", desc.Digest, desc.Size)
	}
	rc, err := f.open(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(newVerifier(rc, desc))
	if err != nil {
		return nil, err
	}
	return b, nil
}
