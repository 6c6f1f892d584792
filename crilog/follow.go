package crilog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/hostlimit"
)

// maxRecordLine bounds the memory a reader spends on one line: a record of the Writer is at
// most MaxLineSize plus a header; lines longer than this, '\n' excluded, are skipped as
// malformed.
const maxRecordLine = 1 << 20

// Follow emits the records of the container log at path from byte offset on in the file
// found there, then every record appended to the log, and returns nil once done is closed and
// every record written before that has been emitted (the writer closes done after its last
// write; nil done follows until ctx ends). It returns ctx's error when ctx ends first, and
// emit's error, unchanged, when emit fails. Malformed lines are skipped; P records are
// emitted as they are. Record.Content is emit's to keep.
//
// Follow waits with inotify on the log's directory, without polling. When path is rotated
// (renamed to <path>.<timestamp>, a new file created at path), Follow reads the file it has
// open to its end, then goes on with the next file: the next rotated one if it fell behind by
// more than a rotation (decompressing .gz files), path itself otherwise. So no record is lost
// or repeated as long as the files it has yet to read are not removed as excess; removed
// ones are skipped.
//
// The kubelet (pkg/kubelet/kuberuntime/logs/logs.go::ReadLogs) reopens path when
// logs.go::waitLogs reports a create, rename or removal, dropping what was written to the old
// file after it last read it, and polls every second besides (logForceCheckPeriod); Follow
// does neither.
func Follow(ctx context.Context, path string, offset int64, done <-chan struct{}, emit func(Record) error) error {
	if offset < 0 {
		return fmt.Errorf("follow container log %s: negative offset %d", path, offset)
	}
	return follow(ctx, path, done, emit, func(_ io.ReaderAt, size int64) (int64, error) {
		if offset > size {
			return 0, fmt.Errorf("offset %d is past the end of the file (%d bytes)", offset, size)
		}
		return offset, nil
	})
}

// FollowTail is Follow starting with the last n records of the current file (the whole file
// if n < 0), found in the file it follows: Tail then Follow from an offset could apply the
// offset to a file rotated in between.
func FollowTail(ctx context.Context, path string, n int, done <-chan struct{}, emit func(Record) error) error {
	return follow(ctx, path, done, emit, func(r io.ReaderAt, size int64) (int64, error) {
		if n < 0 {
			return 0, nil
		}
		start, _, err := tail(r, size, n)
		return start, err
	})
}

// How Follow tells files apart: File rotates by renaming path to a timestamp larger than any
// existing one, then creating path anew, with no write in between, so
//   - the rotated files in timestamp order, then path, are the log in order;
//   - once path is a different file than the one being read, that one is complete;
//   - a file opened at path becomes the first rotated file newer than the newest rotated file
//     that existed when it was opened (checked by listing before and after opening).
//
// Identifying it after the fact by inode fails once it has been compressed, when Follow was
// behind by two rotations; the .gz file is then compared with the open file.
//
// A directory listing is not atomic: it can miss a file renamed while it runs, and show a
// later one. Listings are therefore taken twice (stableRotatedFiles), which finds every file
// renamed into place before they started, and a conclusion drawn from a listing is checked
// with one taken after the files it concerns were opened.

type follower struct {
	ctx  context.Context
	path string
	emit func(Record) error
}

// generation is one file of the log being read.
type generation struct {
	f     *os.File
	info  os.FileInfo // of f, for an uncompressed file
	lines *lineReader
	gz    bool   // compressed, hence complete
	name  string // the timestamp it was opened under; "" when opened at path
	after string // the newest timestamp read or skipped before it
}

func (g *generation) close() { g.f.Close() }

func follow(ctx context.Context, path string, done <-chan struct{}, emit func(Record) error, start func(io.ReaderAt, int64) (int64, error)) error {
	// The watch exists before the first look at the files: every change after it wakes the
	// wait below.
	w, err := newWatcher(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("follow container log %s: %w", path, err)
	}
	defer w.close()
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("follow container log: %w", err)
	}
	fl := &follower{ctx: ctx, path: path, emit: emit}
	g, err := fl.openCurrent()
	for errors.Is(err, os.ErrNotExist) && !isClosed(done) {
		// Between a rotation's rename and the creation of the new file, path is missing
		// (for longer if someone else rotates it and has yet to call Reopen).
		if ts, lerr := fl.timestamps(); lerr != nil || len(ts) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
		case <-w.events:
		}
		g, err = fl.openCurrent()
	}
	if err != nil {
		return fmt.Errorf("follow container log: %w", err)
	}
	defer func() {
		if g != nil {
			g.close()
		}
	}()
	off, err := start(g.f, g.info.Size())
	if err != nil {
		return fmt.Errorf("follow container log %s: %w", path, err)
	}
	if _, err := g.f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("follow container log: %w", err)
	}

	floor := "" // with g == nil: the newest timestamp read or skipped
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.err(); err != nil {
			return fmt.Errorf("follow container log %s: %w", path, err)
		}
		// Decided before reading: what done promises was written is then read below.
		ended := isClosed(done) || fl.dirGone(dir)
		if g == nil {
			if g, err = fl.successor(floor); err != nil {
				return fmt.Errorf("follow container log %s: %w", path, err)
			}
		}
		if g != nil {
			if err := fl.drain(g); err != nil {
				return err
			}
			fin, err := fl.finished(g)
			if err != nil {
				return fmt.Errorf("follow container log %s: %w", path, err)
			}
			if fin {
				// Writes to g ended before path changed: this read gets the last of them.
				if err := fl.drain(g); err != nil {
					return err
				}
				if rest := g.lines.rest(); len(rest) > 0 {
					// A last line cut short by a failed write: the kubelet too prints an
					// incomplete last line when it gets to the end.
					if err := fl.emitLine(rest); err != nil {
						return err
					}
				}
				if floor, err = fl.nameOf(g); err != nil {
					return fmt.Errorf("follow container log %s: %w", path, err)
				}
				g.close()
				g = nil
				continue
			}
		}
		if ended {
			if g != nil {
				// The writer is gone: a last line cut short will not be completed.
				if rest := g.lines.rest(); len(rest) > 0 {
					return fl.emitLine(rest)
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
		case <-w.events:
		}
	}
}

// dirGone reports whether the log's directory was removed or replaced, with the pod: no
// file can appear at path any more.
func (fl *follower) dirGone(dir os.FileInfo) bool {
	st, err := os.Stat(filepath.Dir(fl.path))
	return errors.Is(err, os.ErrNotExist) || err == nil && !os.SameFile(st, dir)
}

func isClosed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// drain emits the complete records available in g.
func (fl *follower) drain(g *generation) error {
	for {
		if err := fl.ctx.Err(); err != nil {
			return err
		}
		line, ok, err := g.lines.next()
		if err != nil {
			if pe := (*os.PathError)(nil); !errors.As(err, &pe) {
				err = fmt.Errorf("decompress %s: %w", g.f.Name(), err)
			}
			return fmt.Errorf("follow container log: %w", err)
		}
		if !ok {
			return nil
		}
		if err := fl.emitLine(line); err != nil {
			return err
		}
	}
}

func (fl *follower) emitLine(line []byte) error {
	r, err := Parse(line)
	if err != nil {
		return nil
	}
	r.Content = bytes.Clone(r.Content)
	return fl.emit(r)
}

// finished reports whether nothing more will be written to g.
func (fl *follower) finished(g *generation) (bool, error) {
	if g.gz {
		return true, nil
	}
	st, err := os.Stat(fl.path)
	if errors.Is(err, os.ErrNotExist) {
		// Renamed away by someone else, who has yet to have the writer reopen path.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !os.SameFile(st, g.info), nil
}

// timestamps lists the timestamps of path's rotated files, compressed or not, sorted.
func (fl *follower) timestamps() ([]string, error) {
	logs, err := stableRotatedFiles(fl.path)
	if err != nil {
		return nil, err
	}
	var ts []string
	for _, l := range logs {
		if t, _, ok := parseRotated(fl.path, l); ok {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return slices.Compact(ts), nil
}

// newer returns the rotated timestamps after floor, oldest first.
func (fl *follower) newer(floor string) ([]string, error) {
	ts, err := fl.timestamps()
	if err != nil {
		return nil, err
	}
	i, _ := slices.BinarySearch(ts, floor)
	if i < len(ts) && ts[i] == floor {
		i++
	}
	return ts[i:], nil
}

// openCurrent opens path, knowing which rotated file it will become.
func (fl *follower) openCurrent() (*generation, error) {
	for {
		if err := fl.ctx.Err(); err != nil {
			return nil, err
		}
		before, err := fl.timestamps()
		if err != nil {
			return nil, err
		}
		f, err := os.Open(fl.path)
		if err != nil {
			return nil, err
		}
		after, err := fl.timestamps()
		if err != nil {
			f.Close()
			return nil, err
		}
		if slices.Equal(before, after) {
			latest := ""
			if len(after) > 0 {
				latest = after[len(after)-1]
			}
			return newGeneration(f, "", latest)
		}
		// Rotated meanwhile: f may be either side of it.
		f.Close()
	}
}

// successor opens the file after the rotated file floor: the oldest newer rotated file, or
// path. It returns nil if there is none yet.
func (fl *follower) successor(floor string) (*generation, error) {
	for {
		if err := fl.ctx.Err(); err != nil {
			return nil, err
		}
		ts, err := fl.newer(floor)
		if err != nil {
			return nil, err
		}
		if len(ts) > 0 {
			g, err := fl.openRotated(ts[0], floor)
			if errors.Is(err, os.ErrNotExist) {
				continue // removed as excess meanwhile
			}
			if err != nil {
				return nil, err
			}
			// The listing may have caught ts[0] being renamed into place and missed an
			// older file renamed just before. Every older file exists since before ts[0],
			// which is open now: a new listing shows them.
			again, err := fl.newer(floor)
			if err != nil || len(again) > 0 && again[0] < ts[0] {
				g.close()
				if err != nil {
					return nil, err
				}
				continue
			}
			return g, nil
		}
		f, err := os.Open(fl.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if ts, err = fl.newer(floor); err != nil || len(ts) > 0 {
			// Rotated meanwhile: f may be a later file than the next one.
			f.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		return newGeneration(f, "", floor)
	}
}

// openRotated opens the rotated file ts, compressed or not. The error is os.ErrNotExist
// if it is gone.
func (fl *follower) openRotated(ts, floor string) (*generation, error) {
	name := fl.path + "." + ts
	f, err := os.Open(name)
	if err == nil {
		return newGeneration(f, ts, floor)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Compressed since listed: compressLog creates the .gz before removing the original.
	name += compressSuffix
	if f, err = os.Open(name); err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("decompress %s: %w", name, err)
	}
	return &generation{f: f, lines: newLineReader(zr), gz: true, name: ts, after: floor}, nil
}

func newGeneration(f *os.File, name, after string) (*generation, error) {
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &generation{f: f, info: info, lines: newLineReader(f), name: name, after: after}, nil
}

// nameOf returns the timestamp that a finished g was rotated to, or g.after if it is gone.
func (fl *follower) nameOf(g *generation) (string, error) {
	if g.gz {
		return g.name, nil
	}
	ts, err := fl.newer(g.after)
	if err != nil || len(ts) == 0 {
		// Not rotated but removed, or replaced: what comes next is newer than g.after.
		return g.after, err
	}
	if ts[0] == g.name {
		// Still there, maybe compressed: a name is never reused.
		return g.name, nil
	}
	same, err := fl.isGeneration(ts[0], g)
	if err != nil || !same {
		return g.after, err
	}
	return ts[0], nil
}

// isGeneration reports whether the rotated file ts is g's file.
func (fl *follower) isGeneration(ts string, g *generation) (bool, error) {
	name := fl.path + "." + ts
	st, err := os.Stat(name)
	if err == nil {
		return os.SameFile(st, g.info), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return sameContent(name+compressSuffix, g.f)
}

// sameContent reports whether the gzip file gzName decompresses to the content of f.
func sameContent(gzName string, f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := st.Size()
	z, err := os.Open(gzName)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer z.Close()
	// The gzip trailer ends with the content's size modulo 2^32 (RFC 1952 ISIZE): most
	// other files differ there.
	zst, err := z.Stat()
	if err != nil {
		return false, err
	}
	var isize [4]byte
	if zst.Size() < 18 {
		return false, nil
	}
	if _, err := z.ReadAt(isize[:], zst.Size()-4); err != nil {
		return false, err
	}
	if binary.LittleEndian.Uint32(isize[:]) != uint32(size) {
		return false, nil
	}
	zr, err := gzip.NewReader(z)
	if err != nil {
		return false, nil // not a gzip file, so not f's copy
	}
	ours := io.NewSectionReader(f, 0, size)
	a, b := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		nb, err := io.ReadFull(ours, b)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return false, err
		}
		// A gzip error means a different or damaged file: not f's copy either way.
		if na, _ := io.ReadFull(zr, a[:nb]); na != nb || !bytes.Equal(a[:na], b[:nb]) {
			return false, nil
		}
		if nb < len(b) {
			n, err := zr.Read(a[:1])
			return n == 0 && err == io.EOF, nil
		}
	}
}

// lineReader splits a growing file into lines without losing a line that is only partly
// written yet.
type lineReader struct {
	r    io.Reader
	buf  []byte
	pos  int  // buf[pos:] is unread
	skip bool // discarding an overlong line up to its end
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: r} }

// readChunk is what a lineReader reads at once.
const readChunk = 64 << 10

// readBuffers holds the buffers of lineReaders that have read everything there was: a
// follower mostly waits (a foreground run follows every container of its pod for as long as
// it runs), and then holds no buffer.
var readBuffers = sync.Pool{New: func() any { return new([readChunk]byte) }}

// next returns the next complete line without its '\n', valid until the next call, or
// ok == false if no complete line is available now.
func (l *lineReader) next() (line []byte, ok bool, err error) {
	for {
		if i := bytes.IndexByte(l.buf[l.pos:], '\n'); i >= 0 {
			line = l.buf[l.pos : l.pos+i]
			l.pos += i + 1
			if l.skip || len(line) > maxRecordLine {
				l.skip = false
				continue
			}
			return line, true, nil
		}
		if l.skip || len(l.buf)-l.pos > maxRecordLine {
			l.skip = true
			l.pos = len(l.buf)
		}
		n := copy(l.buf, l.buf[l.pos:])
		l.buf, l.pos = l.buf[:n], 0
		switch {
		case l.buf == nil:
			l.buf = readBuffers.Get().(*[readChunk]byte)[:0]
		case cap(l.buf)-n < readChunk:
			l.buf = slices.Grow(l.buf, readChunk)
		}
		m, err := l.r.Read(l.buf[n:cap(l.buf)])
		l.buf = l.buf[:n+m]
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		if m == 0 {
			if n == 0 {
				// Nothing unread: no buffer until there is more to read (one grown for a
				// long line is left to the collector).
				if cap(l.buf) == readChunk {
					readBuffers.Put((*[readChunk]byte)(l.buf[:readChunk]))
				}
				l.buf = nil
			}
			return nil, false, nil
		}
	}
}

// rest returns and consumes the unterminated end of the input.
func (l *lineReader) rest() []byte {
	if l.skip {
		return nil
	}
	b := l.buf[l.pos:]
	l.pos = len(l.buf)
	return b
}

// watcher wakes Follow on changes in the log's directory: files created, written, renamed
// or removed; and on the removal of the directory, seen from its parent: the directory's own
// IN_DELETE_SELF waits for the last reference to it, and the file Follow has open is one.
type watcher struct {
	f      *os.File
	events chan struct{} // a pending wakeup; changes coalesce, as Follow re-examines all
	wg     sync.WaitGroup

	mu      sync.Mutex
	readErr error
}

func newWatcher(dir string) (*watcher, error) {
	// Non-blocking, so that the runtime poller waits for it and Close interrupts the wait.
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("create inotify instance: %w", hostlimit.Inotify("inotify_init1", err))
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_DELETE | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, hostlimit.Inotify("inotify_add_watch", err))
	}
	// Best effort: without it, Follow notices a removed directory at the next other event.
	// IN_MASK_ADD in case the parent is dir itself ("/").
	unix.InotifyAddWatch(fd, filepath.Dir(dir), unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_ONLYDIR|unix.IN_MASK_ADD)
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), events: make(chan struct{}, 1)}
	w.wg.Add(1)
	go w.run()
	return w, nil
}

func (w *watcher) run() {
	defer w.wg.Done()
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		// What changed does not matter (Follow looks at the files), nor does an overflow.
		if _, err := w.f.Read(buf); err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.mu.Lock()
				w.readErr = fmt.Errorf("read inotify events: %w", err)
				w.mu.Unlock()
				w.wake()
			}
			return
		}
		w.wake()
	}
}

func (w *watcher) wake() {
	select {
	case w.events <- struct{}{}:
	default:
	}
}

func (w *watcher) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.readErr
}

func (w *watcher) close() {
	w.f.Close()
	w.wg.Wait()
}
