package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A layer is untrusted input. Every path is resolved relative to the layer directory with
// openat2 and these flags: no symlink is ever followed (a layer may write one, and later entries
// may not pass through it), no ".." or mount crossing leaves the root. Objects are then created
// with *at calls on a single final component, which do not follow a symlink there either.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

type unpacker struct {
	root  int    // O_PATH fd of the layer directory
	layer string // layer digest, for errors

	// The parent directory of the previous entry, since tar entries come grouped by directory.
	dirName string
	dirFd   int

	dirTimes map[string][2]unix.Timespec // set last: creating children changes a dir's mtime
	buf      []byte
}

// unpackTar writes the layer tar r into dir, converting AUFS-style whiteouts to overlayfs ones.
func unpackTar(ctx context.Context, r io.Reader, dir, layer string) error {
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	u := &unpacker{root: root, layer: layer, dirFd: -1, dirTimes: map[string][2]unix.Timespec{}, buf: make([]byte, 128<<10)}
	defer u.close()
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		if n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return kindError(ErrInvalidImage, "layer %s: reading tar: %w", layer, err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return u.fail(hdr, err)
		}
	}
	return u.setDirTimes()
}

func (u *unpacker) close() {
	u.dropCache()
	unix.Close(u.root)
}

func (u *unpacker) dropCache() {
	if u.dirFd >= 0 {
		unix.Close(u.dirFd)
	}
	u.dirFd, u.dirName = -1, ""
}

// refusal marks an entry the unpacker will not write.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

// fail attributes an entry error: problems of the host (disk full, I/O error) keep no kind, so
// they are not blamed on the image; anything else the entry provoked is ErrInvalidImage.
func (u *unpacker) fail(hdr *tar.Header, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var r *refusal
	if errors.As(err, &r) {
		return kindError(ErrInvalidImage, "layer %s: entry %q refused: %s", u.layer, hdr.Name, r.msg)
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.ENOSPC, unix.EDQUOT, unix.EIO, unix.EMFILE, unix.ENFILE, unix.ENOMEM, unix.EROFS:
			return fmt.Errorf("layer %s: entry %q: %w", u.layer, hdr.Name, err)
		}
	}
	return kindError(ErrInvalidImage, "layer %s: entry %q: %w", u.layer, hdr.Name, err)
}

// cleanName makes an entry name relative to the layer root the way containerd does (a leading
// "/" is dropped, the rest cleaned lexically), and reports false if it climbs out with "..".
// The root itself comes back as "".
func cleanName(n string) (string, bool) {
	n = path.Clean(strings.TrimLeft(n, "/"))
	switch {
	case n == ".":
		return "", true
	case n == ".." || strings.HasPrefix(n, "../"):
		return "", false
	}
	return n, true
}

func split(name string) (dir, base string) {
	dir, base = path.Split(name)
	return strings.TrimSuffix(dir, "/"), base
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, ok := cleanName(hdr.Name)
	if !ok {
		return refuse("path escapes the layer")
	}
	if name == "" {
		return nil // the layer root keeps the store's ownership and mode
	}
	dir, base := split(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(dir, base)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.mkdir(name, dir, base, hdr)
	case tar.TypeReg:
		return u.file(name, dir, base, hdr, r)
	case tar.TypeSymlink:
		return u.symlink(name, dir, base, hdr)
	case tar.TypeLink:
		return u.hardlink(name, dir, base, hdr)
	case tar.TypeFifo:
		return u.fifo(name, dir, base, hdr)
	case tar.TypeChar, tar.TypeBlock:
		// A device node in a lower layer is reachable from the container; /dev is provided
		// by the runtime instead.
		return refuse("device nodes are not allowed in layers")
	default:
		return refuse("unsupported tar entry type %q", hdr.Typeflag)
	}
}

// openat2 opens p below dirfd without following any symlink. EAGAIN is the kernel's answer to
// a concurrent rename racing the lookup; retry a few times, then give up.
func openat2(dirfd int, p string, flags uint64, mode uint64) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC | unix.O_NOFOLLOW, Mode: mode, Resolve: resolveFlags}
	for range 16 {
		fd, err := unix.Openat2(dirfd, p, &how)
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// parentErr turns lookup failures of an entry's directory into refusals that say what is wrong.
func (u *unpacker) parentErr(dir string, err error) error {
	switch err {
	case unix.ELOOP, unix.ENOTDIR:
		// Name the culprit: the first component that is a symlink or not a directory.
		prefix := ""
		for comp := range strings.SplitSeq(dir, "/") {
			prefix = path.Join(prefix, comp)
			var st unix.Stat_t
			if unix.Fstatat(u.root, prefix, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				break
			}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFLNK:
				return refuse("%q is a symlink; entries may not be written through one", prefix)
			case unix.S_IFDIR:
				continue
			}
			return refuse("%q is not a directory", prefix)
		}
		return refuse("%q is a symlink or not a directory", dir)
	case unix.EXDEV:
		return refuse("%q leaves the layer", dir)
	}
	return err
}

// parent returns an O_PATH fd for dir (owned by the unpacker: do not close), creating missing
// directories as root:root 0755 like tar does for entries whose parent was not listed.
func (u *unpacker) parent(dir string) (int, error) {
	if dir == "" {
		return u.root, nil
	}
	if u.dirFd >= 0 && u.dirName == dir {
		return u.dirFd, nil
	}
	fd, err := openat2(u.root, dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == unix.ENOENT {
		fd, err = u.mkdirAll(dir)
	}
	if err != nil {
		return -1, u.parentErr(dir, err)
	}
	u.dropCache()
	u.dirName, u.dirFd = dir, fd
	return fd, nil
}

func (u *unpacker) mkdirAll(dir string) (int, error) {
	cur := u.root
	for comp := range strings.SplitSeq(dir, "/") {
		fd, err := openat2(cur, comp, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err == unix.ENOENT {
			if err = unix.Mkdirat(cur, comp, 0o755); err == nil || err == unix.EEXIST {
				fd, err = openat2(cur, comp, unix.O_RDONLY|unix.O_DIRECTORY, 0)
				if err == nil {
					err = unix.Fchmod(fd, 0o755) // undo the umask
				}
			}
		}
		if cur != u.root {
			unix.Close(cur)
		}
		if err != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			return -1, err
		}
		cur = fd
	}
	return cur, nil
}

// remove deletes whatever is at base in pfd (the directory of name) so an entry can replace it:
// later entries win, as with tar. The cached parent is dropped if it was inside what went.
func (u *unpacker) remove(pfd int, name, base string) error {
	delete(u.dirTimes, name)
	err := unix.Unlinkat(pfd, base, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR {
		return err
	}
	if u.dirFd >= 0 && (u.dirName == name || strings.HasPrefix(u.dirName, name+"/")) {
		u.dropCache()
	}
	return removeAllAt(pfd, base)
}

func removeAllAt(dfd int, base string) error {
	err := unix.Unlinkat(dfd, base, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR {
		return err
	}
	fd, err := openat2(dfd, base, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	names, err := f.Readdirnames(-1)
	for _, n := range names {
		if err == nil {
			err = removeAllAt(fd, n)
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dfd, base, unix.AT_REMOVEDIR)
}

func (u *unpacker) whiteout(dir, base string) error {
	if base == whiteoutOpaque {
		// Hide the lower layers' contents of dir, keep this layer's.
		if _, err := u.parent(dir); err != nil {
			return err
		}
		p := dir
		if p == "" {
			p = "."
		}
		fd, err := openat2(u.root, p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return u.parentErr(dir, err)
		}
		defer unix.Close(fd)
		return unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // AUFS bookkeeping such as .wh..wh.plnk; nothing for overlayfs
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return refuse("whiteout names no file")
	}
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}
	if err := u.remove(pfd, path.Join(dir, target), target); err != nil {
		return err
	}
	// overlayfs' whiteout: a 0/0 character device (mode 0, owned by us, i.e. root).
	return unix.Mknodat(pfd, target, unix.S_IFCHR, 0)
}

func (u *unpacker) mkdir(name, dir, base string, hdr *tar.Header) error {
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err = u.remove(pfd, name, base); err == nil {
			err = unix.ENOENT
		}
	}
	if err == unix.ENOENT {
		err = unix.Mkdirat(pfd, base, 0o700)
	}
	if err != nil {
		return err // an existing directory is kept: entries merge into it
	}
	fd, err := openat2(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := u.attrs(fd, hdr); err != nil {
		return err
	}
	u.dirTimes[name] = times(hdr)
	return nil
}

func (u *unpacker) file(name, dir, base string, hdr *tar.Header, r io.Reader) error {
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}
	if err := u.remove(pfd, name, base); err != nil {
		return err
	}
	fd, err := openat2(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	// Hide ReadFrom so the copy uses our buffer rather than allocating one per file.
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, r, u.buf); err != nil {
		return err
	}
	if err := u.attrs(fd, hdr); err != nil {
		return err
	}
	ts := times(hdr)
	return unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
}

func (u *unpacker) symlink(name, dir, base string, hdr *tar.Header) error {
	if hdr.Linkname == "" {
		return refuse("symlink without a target")
	}
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}
	if err := u.remove(pfd, name, base); err != nil {
		return err
	}
	// The target is stored verbatim: it only means something inside the container's root,
	// and nothing here ever follows it.
	if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
		return err
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	ts := times(hdr)
	return unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
}

func (u *unpacker) hardlink(name, dir, base string, hdr *tar.Header) error {
	target, ok := cleanName(hdr.Linkname)
	if !ok || target == "" {
		return refuse("hardlink target %q is outside the layer", hdr.Linkname)
	}
	if target == name {
		return nil
	}
	tdir, tbase := split(target)
	p := tdir
	if p == "" {
		p = "."
	}
	// Not via the parent cache: that fd is replaced when we look up our own directory.
	tfd, err := openat2(u.root, p, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == unix.ENOENT {
		return refuse("hardlink target %q is not in this layer", hdr.Linkname)
	}
	if err != nil {
		return u.parentErr(tdir, err)
	}
	defer unix.Close(tfd)
	var st unix.Stat_t
	if err := unix.Fstatat(tfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return refuse("hardlink target %q is not in this layer", hdr.Linkname)
		}
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return refuse("hardlink to directory %q", hdr.Linkname)
	}
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}
	if err := u.remove(pfd, name, base); err != nil {
		return err
	}
	// Flags 0: a symlink target is linked itself, never followed.
	return unix.Linkat(tfd, tbase, pfd, base, 0)
}

func (u *unpacker) fifo(name, dir, base string, hdr *tar.Header) error {
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}
	if err := u.remove(pfd, name, base); err != nil {
		return err
	}
	if err := unix.Mknodat(pfd, base, unix.S_IFIFO|0o600, 0); err != nil {
		return err
	}
	// Not opened (that could block on a FIFO): metadata goes through *at calls on the name we
	// just created, in a directory only this unpacker writes to.
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode)&0o7777, 0); err != nil {
		return err
	}
	ts := times(hdr)
	return unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
}

// attrs sets owner, mode and xattrs on an open file or directory. chown comes first because it
// clears setuid bits and security.capability.
func (u *unpacker) attrs(fd int, hdr *tar.Header) error {
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
		return err
	}
	var keys []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		attr := strings.TrimPrefix(k, "SCHILY.xattr.")
		// trusted.* would let a layer forge overlayfs metadata (opaque, redirect, metacopy)
		// that the whiteout conversion alone is meant to produce.
		if strings.HasPrefix(attr, "trusted.") {
			continue
		}
		err := unix.Fsetxattr(fd, attr, []byte(hdr.PAXRecords[k]), 0)
		if err == unix.ENOTSUP {
			continue // the store's filesystem lacks this namespace; as containerd, carry on
		}
		if err != nil {
			return fmt.Errorf("xattr %s: %w", attr, err)
		}
	}
	return nil
}

func times(hdr *tar.Header) [2]unix.Timespec {
	ts := func(t time.Time) unix.Timespec {
		if t.IsZero() {
			return unix.Timespec{}
		}
		return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
	}
	a := hdr.AccessTime
	if a.IsZero() {
		a = hdr.ModTime
	}
	return [2]unix.Timespec{ts(a), ts(hdr.ModTime)}
}

func (u *unpacker) setDirTimes() error {
	for name, ts := range u.dirTimes {
		dir, base := split(name)
		p := dir
		if p == "" {
			p = "."
		}
		pfd, err := openat2(u.root, p, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			continue // the directory went away or was replaced by a later entry
		}
		var st unix.Stat_t
		if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
		}
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("layer %s: %s: %w", u.layer, name, err)
		}
	}
	return nil
}
