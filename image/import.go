package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// memFetcher serves blobs built in memory or in a file.
type memFetcher struct {
	mem   map[v1.Hash][]byte
	files map[v1.Hash]string
}

func (m *memFetcher) open(_ context.Context, desc v1.Descriptor) (io.ReadCloser, error) {
	if b, ok := m.mem[desc.Digest]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	if p, ok := m.files[desc.Digest]; ok {
		return os.Open(p)
	}
	return nil, kindError(ErrNotFound, "blob %s", desc.Digest)
}

// importName normalizes an import's name as Podman does: no registry means localhost/.
func importName(n string) (name.Tag, error) {
	if !hasDomain(n) {
		n = "localhost/" + n
	}
	t, err := name.NewTag(n)
	if err != nil {
		return name.Tag{}, kindError(ErrInvalidReference, "image name: %v", err)
	}
	return t, nil
}

func (s *Store) importImage(ctx context.Context, src, nm string, changes []string) (*Image, error) {
	if err := checkRefChars(nm); err != nil {
		return nil, kindError(ErrInvalidReference, "%v", err)
	}
	tag, err := importName(nm)
	if err != nil {
		return nil, err
	}
	// Before anything is written: a bad change leaves the store as it was.
	config, err := ParseChanges(changes)
	if err != nil {
		return nil, kindError(ErrInvalidChange, "%w", err)
	}
	key := canonical(tag)
	fi, err := os.Stat(src)
	if err != nil {
		return nil, kindError(ErrNotFound, "import source: %w", err)
	}
	if err := s.mkdirs(); err != nil {
		return nil, err
	}
	dir, unlockDir, err := s.stagingDir()
	if err != nil {
		return nil, err
	}
	defer func() {
		os.RemoveAll(dir)
		unlockDir()
	}()
	layerPath := filepath.Join(dir, "layer.tar")
	out, err := os.OpenFile(layerPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(out, h)}
	bw := bufio.NewWriterSize(cw, 256<<10)
	tw := tar.NewWriter(bw)
	if fi.IsDir() {
		err = tarDir(ctx, tw, src)
	} else {
		err = copyTar(tw, src)
	}
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}

	now := time.Now().UTC()
	cf := v1.ConfigFile{
		Architecture: runtime.GOARCH, OS: "linux", Created: v1.Time{Time: now}, Config: config,
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History: []v1.History{{Created: v1.Time{Time: now}, CreatedBy: "minipod image import", Comment: "imported from " + src}},
	}
	rawCfg, err := json.Marshal(cf)
	if err != nil {
		return nil, err
	}
	cfgDigest, _, _ := v1.SHA256(bytes.NewReader(rawCfg))
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfgDigest, Size: int64(len(rawCfg))},
		// Uncompressed: the blob is read once, from local disk, so gzip would only cost time.
		Layers: []v1.Descriptor{{MediaType: types.OCIUncompressedLayer, Digest: diffID, Size: cw.n}},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	mDigest, _, _ := v1.SHA256(bytes.NewReader(raw))
	f := &memFetcher{
		mem:   map[v1.Hash][]byte{mDigest: raw, cfgDigest: rawCfg},
		files: map[v1.Hash]string{diffID: layerPath},
	}
	unlock, err := s.lockMode(ctx, gcLock, unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	img, err := s.pullLocked(ctx, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: mDigest, Size: int64(len(raw))}, f)
	if err != nil {
		return nil, err
	}
	e := nameEntry{Manifest: mDigest.String(), Digest: mDigest.String(), Local: true}
	if err := s.updateIndex(ctx, func(idx *nameIndex) error {
		idx.Names[key] = e
		return nil
	}); err != nil {
		return nil, err
	}
	img = s.named(img, key, e)
	img.Ref = nm
	return img, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// copyTar rewrites a (possibly gzip-compressed) tarball, dropping device nodes, which the
// unpacker refuses and the runtime provides in /dev anyway.
func copyTar(tw *tar.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				return fmt.Errorf("%s is an empty tar archive", src)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s is not a tar archive (plain or gzip): %w", src, err)
		}
		if hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// tarDir writes the tree at root as a layer: owners, modes, times, xattrs, symlinks and
// hardlinks kept; device nodes and sockets left out.
func tarDir(ctx context.Context, tw *tar.Writer, root string) error {
	links := map[[2]uint64]string{}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket) != 0 {
			return nil
		}
		target := ""
		if mode&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, target)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Format = tar.FormatPAX
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && mode.IsRegular() && st.Nlink > 1 {
			k := [2]uint64{uint64(st.Dev), st.Ino}
			if first, seen := links[k]; seen {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[k] = hdr.Name
			}
		}
		if mode&fs.ModeSymlink == 0 {
			if err := xattrs(p, hdr); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
}

func xattrs(p string, hdr *tar.Header) error {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		return nil // no xattr support here: nothing to keep
	}
	buf := make([]byte, sz)
	if sz, err = unix.Llistxattr(p, buf); err != nil {
		return nil
	}
	for _, k := range bytes.Split(buf[:sz], []byte{0}) {
		if len(k) == 0 {
			continue
		}
		vsz, err := unix.Lgetxattr(p, string(k), nil)
		if err != nil {
			continue
		}
		v := make([]byte, vsz)
		if vsz, err = unix.Lgetxattr(p, string(k), v); err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+string(k)] = string(v[:vsz])
	}
	return nil
}
