package crilog

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Rotation follows the kubelet's container log manager, kubernetes
// pkg/kubelet/logs/container_log_manager.go, cited below as clm.go::function. It differs in
// when: the kubelet stats the log every containerLogMonitorInterval (10 s) and rotates once
// it has reached MaxSize, while a File owns the log and rotates before the write that would
// take it past MaxSize.

const (
	// DefaultMaxSize and DefaultMaxFiles are the kubelet's defaults for containerLogMaxSize
	// ("10Mi") and containerLogMaxFiles (5):
	// pkg/kubelet/apis/config/v1beta1/defaults.go::SetDefaults_KubeletConfiguration.
	DefaultMaxSize  = 10 << 20
	DefaultMaxFiles = 5

	// timestampFormat, compressSuffix and tmpSuffix are clm.go's constants: a rotated log is
	// <path>.<timestamp> (clm.go::rotateLatestLog), compressed to <path>.<timestamp>.gz by way
	// of <path>.<timestamp>.tmp (clm.go::compressLog).
	timestampFormat = "20060102-150405"
	compressSuffix  = ".gz"
	tmpSuffix       = ".tmp"

	// rotateRetry is how long a File waits before trying again after a failed rotation: the
	// kubelet's default containerLogMonitorInterval, after which it would try again too.
	rotateRetry = 10 * time.Second

	// logFileMode is the mode container/stdio.go has always created container logs with.
	logFileMode = 0o640
)

// File is a container log that rotates itself like the kubelet rotates container logs. The
// stdout and stderr Writers of a container share one File: each Write is one record and
// reaches the file whole, in one write(2), serialized with the other Writes.
type File struct {
	path     string
	maxSize  int64
	maxFiles int
	now      func() time.Time // names rotated files; a test hook

	mu      sync.Mutex
	f       *os.File
	size    int64 // of f, counted by Write
	closed  bool
	retryAt time.Time // no rotation before, after a failed one

	// compress runs at most one background compression at a time: rotate waits for the
	// previous one so that its listing of the rotated files is settled.
	compress    sync.WaitGroup
	compressErr error // first compression failure; read only after compress.Wait
}

// OpenFile opens the container log at path for appending, creating it if needed. Before a
// write would take the file past maxSize bytes, the file is rotated; a negative maxSize
// disables rotation (as the kubelet's containerLogMaxSize). maxFiles, counting the current
// file, must be at least 2 (clm.go::NewContainerLogManager rejects fewer).
func OpenFile(path string, maxSize int64, maxFiles int) (*File, error) {
	if maxFiles <= 1 {
		return nil, fmt.Errorf("open container log %s: invalid max files %d, must be > 1", path, maxFiles)
	}
	f, size, err := openAppend(path)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	return &File{path: path, maxSize: maxSize, maxFiles: maxFiles, now: time.Now, f: f, size: size}, nil
}

func openAppend(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, logFileMode)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Write appends p, one record, in a single write. If p would take a non-empty file past the
// maximum size, the file is rotated first; should that fail, p still goes to the current file
// and the rotation error is returned with n == len(p), and rotation is retried only after
// rotateRetry.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, ErrClosed
	}
	var rotErr error
	if f.maxSize >= 0 && f.size > 0 && f.size+int64(len(p)) > f.maxSize {
		if now := f.now(); !now.Before(f.retryAt) {
			if err := f.rotate(); err != nil {
				rotErr = fmt.Errorf("rotate container log %s: %w", f.path, err)
				f.retryAt = now.Add(rotateRetry)
			}
		}
	}
	n, err := f.f.Write(p)
	f.size += int64(n)
	if err != nil {
		return n, err
	}
	return n, rotErr
}

// Reopen reopens the log at its path, creating it, as the CRI's ReopenContainerLog: after
// someone else renamed the file away, later writes go to a new file at the path.
func (f *File) Reopen() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	nf, size, err := openAppend(f.path)
	if err != nil {
		return fmt.Errorf("reopen container log: %w", err)
	}
	old := f.f
	f.f, f.size = nf, size
	// Every write to old has completed: its close cannot lose data.
	old.Close()
	return nil
}

// Close closes the log after waiting for the compression of rotated files to finish. It
// returns the first compression failure, if any: the uncompressed file stays in place and is
// compressed by the next rotation, as in the kubelet.
func (f *File) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	err := f.f.Close()
	f.mu.Unlock()
	// No rotation can start a compression any more.
	f.compress.Wait()
	return errors.Join(err, f.compressErr)
}

// rotate is clm.go::rotateLog, with f.mu held. The steps are the kubelet's, in its order,
// except that compression runs after the rename, in the background, so that the container's
// output does not wait for it.
func (f *File) rotate() error {
	f.compress.Wait()
	logs, err := rotatedFiles(f.path)
	if err != nil {
		return err
	}
	latest := latestTimestamp(f.path, logs)
	if logs, err = cleanupUnusedLogs(logs); err != nil {
		return fmt.Errorf("clean up logs: %w", err)
	}
	if logs, err = removeExcessLogs(logs, f.maxFiles); err != nil {
		return fmt.Errorf("remove excess logs: %w", err)
	}
	var uncompressed []string
	for _, l := range logs {
		if !strings.HasSuffix(l, compressSuffix) {
			uncompressed = append(uncompressed, l)
		}
	}
	if err := f.rotateLatestLog(latest); err != nil {
		return err
	}
	if len(uncompressed) > 0 {
		f.compress.Add(1)
		go func() {
			defer f.compress.Done()
			for _, l := range uncompressed {
				if err := compressLog(l); err != nil && f.compressErr == nil {
					f.compressErr = fmt.Errorf("compress log %s: %w", l, err)
				}
			}
		}()
	}
	return nil
}

// rotateLatestLog is clm.go::rotateLatestLog with the runtime's ReopenContainerLog done in
// place: rename the log to <path>.<timestamp> and open a new one, renaming the rotated log
// back if that fails.
//
// Unlike the kubelet, which rotates at most every 10 s, a File can rotate several times in
// one second, and rename would then replace the previous rotated file. So the timestamp is
// the later of now and one second after the newest existing rotated file's: names stay
// unique and in rotation order (readers sort them, as removeExcessLogs does), at the cost of
// running ahead of the clock during bursts.
func (f *File) rotateLatestLog(latest string) error {
	ts := f.now().Format(timestampFormat)
	if latest != "" && ts <= latest {
		t, err := time.Parse(timestampFormat, latest)
		if err != nil {
			return fmt.Errorf("parse rotated log timestamp %q: %w", latest, err)
		}
		// Parsed and formatted in UTC: plain arithmetic on the digits, whatever the zone.
		ts = t.Add(time.Second).Format(timestampFormat)
	}
	rotated := f.path + "." + ts
	if err := os.Rename(f.path, rotated); err != nil {
		return err
	}
	nf, size, err := openAppend(f.path)
	if err != nil {
		if rerr := os.Rename(rotated, f.path); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore rotated log: %w", rerr))
		}
		return err
	}
	old := f.f
	f.f, f.size = nf, size
	// The new file exists only now, with f.mu held: a reader that sees it knows old is
	// complete (see Follow).
	old.Close()
	return nil
}

// rotatedFiles lists <path>.*, the glob of clm.go::rotateLog, without treating
// metacharacters in path as a pattern.
func rotatedFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	readDir := dir
	if readDir == "" {
		readDir = "."
	}
	entries, err := os.ReadDir(readDir)
	if err != nil {
		return nil, fmt.Errorf("list rotated logs of %s: %w", path, err)
	}
	var logs []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base+".") {
			// Spelled like path, so that the name is path plus a suffix.
			logs = append(logs, dir+e.Name())
		}
	}
	return logs, nil
}

// stableRotatedFiles is rotatedFiles for a reader, while the log may be rotating. A
// directory listing may miss a file renamed during it (readdir(3)), so that one listing can
// miss a file being compressed: the .gz appears where the listing has passed and the
// original goes before the listing gets to it. A file is compressed once, so a second
// listing after the first finds whatever the first missed that still exists.
func stableRotatedFiles(path string) ([]string, error) {
	first, err := rotatedFiles(path)
	if err != nil {
		return nil, err
	}
	second, err := rotatedFiles(path)
	if err != nil {
		return nil, err
	}
	all := append(first, second...)
	slices.Sort(all)
	return slices.Compact(all), nil
}

// parseRotated returns the timestamp of a rotated log name of path, <path>.<timestamp> or
// <path>.<timestamp>.gz, and whether it is compressed. Other names, temporary files included,
// are not rotated logs.
func parseRotated(path, name string) (ts string, gz bool, ok bool) {
	rest, ok := strings.CutPrefix(name, path+".")
	if !ok || len(rest) < len(timestampFormat) {
		return "", false, false
	}
	ts, suffix := rest[:len(timestampFormat)], rest[len(timestampFormat):]
	if suffix != "" && suffix != compressSuffix {
		return "", false, false
	}
	if _, err := time.Parse(timestampFormat, ts); err != nil {
		return "", false, false
	}
	return ts, suffix == compressSuffix, true
}

// latestTimestamp returns the newest timestamp among the rotated logs of path, "" if none.
// Fixed-width digits sort like the times they stand for.
func latestTimestamp(path string, logs []string) string {
	latest := ""
	for _, l := range logs {
		if ts, _, ok := parseRotated(path, l); ok && ts > latest {
			latest = ts
		}
	}
	return latest
}

// cleanupUnusedLogs is clm.go::cleanupUnusedLogs: remove what a failed or interrupted
// rotation left behind.
func cleanupUnusedLogs(logs []string) ([]string, error) {
	inuse, unused := filterUnusedLogs(logs)
	for _, l := range unused {
		if err := os.Remove(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove unused log: %w", err)
		}
	}
	return inuse, nil
}

// filterUnusedLogs and isInUse are clm.go's: temporary files and logs whose compressed copy
// exists are unused.
func filterUnusedLogs(logs []string) (inuse, unused []string) {
	for _, l := range logs {
		if isInUse(l, logs) {
			inuse = append(inuse, l)
		} else {
			unused = append(unused, l)
		}
	}
	return inuse, unused
}

func isInUse(l string, logs []string) bool {
	if strings.HasSuffix(l, tmpSuffix) {
		return false
	}
	if strings.HasSuffix(l, compressSuffix) {
		return true
	}
	return !slices.Contains(logs, l+compressSuffix)
}

// removeExcessLogs is clm.go::removeExcessLogs: the rotation is about to add a rotated file
// and the new current file, so keep at most maxFiles-2 rotated files, removing the oldest
// first so as not to break readers that are behind.
func removeExcessLogs(logs []string, maxFiles int) ([]string, error) {
	slices.Sort(logs)
	keep := max(maxFiles-2, 0)
	i := 0
	for ; i < len(logs)-keep; i++ {
		if err := os.Remove(logs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove old log: %w", err)
		}
	}
	return logs[i:], nil
}

// compressLog is clm.go::compressLog: gzip log into log.tmp with log's mode, rename that to
// log.gz, then remove log. Readers find the content under one name or the other at every
// moment, and a complete .gz only.
func compressLog(log string) (err error) {
	st, err := os.Stat(log)
	if err != nil {
		return err
	}
	r, err := os.Open(log)
	if err != nil {
		return err
	}
	defer r.Close()
	tmp := log + tmpSuffix
	w, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Close()
			os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(w)
	if _, err := io.Copy(zw, r); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, log+compressSuffix); err != nil {
		return err
	}
	return os.Remove(log)
}

// Files returns the files of the container log at path, oldest first: the rotated files in
// use (compressed or not) followed by path itself, as clm.go::GetAllLogs.
// Read them with Open.
func Files(path string) ([]string, error) {
	logs, err := stableRotatedFiles(path)
	if err != nil {
		return nil, err
	}
	inuse, _ := filterUnusedLogs(logs)
	slices.Sort(inuse)
	return append(inuse, path), nil
}

// Open opens one of the files Files returns for reading, decompressing a .gz one.
func Open(name string) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(name, compressSuffix) {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("decompress %s: %w", name, err)
	}
	return &gzipFile{Reader: zr, f: f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g *gzipFile) Close() error {
	return errors.Join(g.Reader.Close(), g.f.Close())
}
