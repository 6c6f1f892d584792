package crilog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// noLeaks fails the test if it leaves goroutines or file descriptors behind.
func noLeaks(t *testing.T) {
	t.Helper()
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("count file descriptors: %v", err)
		}
		return len(entries)
	}
	goroutines, files := runtime.NumGoroutine(), fds()
	t.Cleanup(func() {
		// Goroutines of the test itself may still be on their way out.
		for i := 0; ; i++ {
			g, f := runtime.NumGoroutine(), fds()
			if g <= goroutines && f <= files {
				return
			}
			if i == 500 {
				buf := make([]byte, 1<<20)
				t.Fatalf("leak: %d goroutines (was %d), %d fds (was %d)\n%s", g, goroutines, f, files, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// record returns one encoded record of stream with content.
func record(stream, content string) []byte {
	return Record{Time: fixed, Stream: stream, Content: []byte(content)}.Append(nil)
}

// logFiles lists the names in dir, sorted.
func logFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// readLog concatenates the log's files, decompressed, oldest first, and checks each against
// maxSize.
func readLog(t *testing.T, path string, maxSize int64) []byte {
	t.Helper()
	files, err := Files(path)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, name := range files {
		r, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if maxSize >= 0 && int64(len(b)) > maxSize {
			t.Errorf("%s holds %d bytes, more than %d", name, len(b), maxSize)
		}
		all = append(all, b...)
	}
	return all
}

// writeRecords writes count records of varied length to f, returning their bytes and where
// each starts.
func writeRecords(t *testing.T, f *File, count int) (all []byte, starts []int) {
	t.Helper()
	for i := range count {
		rec := record(Stdout, fmt.Sprintf("line %d %s", i, strings.Repeat("x", i*7%150)))
		starts = append(starts, len(all))
		all = append(all, rec...)
		if n, err := f.Write(rec); err != nil || n != len(rec) {
			t.Fatalf("write record %d: %d, %v", i, n, err)
		}
	}
	return all, starts
}

func TestFileRotation(t *testing.T) {
	noLeaks(t)
	const maxSize = 4096
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, maxSize, DefaultMaxFiles)
	if err != nil {
		t.Fatal(err)
	}
	// Every rotation in the same second: names must still be unique and ordered.
	f.now = fixedNow
	all, starts := writeRecords(t, f, 3000)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// containerLogMaxFiles counts the current file: 5 = current + latest rotated (plain) + 3
	// gz, their timestamps one second apart as the clock stood still.
	names := logFiles(t, dir)
	if len(names) != DefaultMaxFiles || names[0] != "0.log" {
		t.Fatalf("files %q", names)
	}
	last, gz, ok := parseRotated("0.log", names[len(names)-1])
	if !ok || gz {
		t.Fatalf("latest rotated file %q", names[len(names)-1])
	}
	lastT, _ := time.Parse(timestampFormat, last)
	rotations := int(lastT.Sub(fixed.Truncate(time.Second))/time.Second) + 1
	want := []string{"0.log"}
	for i := rotations - 4; i < rotations; i++ {
		name := "0.log." + fixed.Add(time.Duration(i)*time.Second).Format(timestampFormat)
		if i < rotations-1 {
			name += ".gz"
		}
		want = append(want, name)
	}
	if !slices.Equal(names, want) || rotations < len(all)/maxSize {
		t.Fatalf("after %d rotations, files\n%q, want\n%q", rotations, names, want)
	}
	files, err := Files(path)
	if err != nil {
		t.Fatal(err)
	}
	if files[len(files)-1] != path || !slices.IsSorted(files[:len(files)-1]) || len(files) != DefaultMaxFiles {
		t.Errorf("Files = %q", files)
	}

	// What is left is the end of what was written, from a record on, each byte once.
	got := readLog(t, path, maxSize)
	if !bytes.HasSuffix(all, got) || !slices.Contains(starts, len(all)-len(got)) {
		t.Fatalf("files hold %d bytes that are not the end of the %d written, from a record on", len(got), len(all))
	}
	if len(got) <= 3*maxSize {
		t.Errorf("files hold only %d bytes", len(got))
	}
}

func TestFileRotationKeepsAll(t *testing.T) {
	noLeaks(t)
	const maxSize = 4096
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, maxSize, 1000)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := writeRecords(t, f, 2000)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, path, maxSize); !bytes.Equal(got, all) {
		t.Fatalf("files hold %d bytes, not the %d written", len(got), len(all))
	}
	files, err := Files(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d files", len(files))
	}
	// Rotated only when needed: each file plus the record after it would pass the limit.
	for i, name := range files[:len(files)-1] {
		if strings.HasSuffix(name, ".gz") != (i < len(files)-2) {
			t.Errorf("%s: only the latest rotated file is uncompressed", name)
		}
		r, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if len(b) < maxSize-200 {
			t.Errorf("%s rotated at %d bytes", name, len(b))
		}
	}
	if names := logFiles(t, filepath.Dir(path)); slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".tmp") }) {
		t.Errorf("temporary files left: %q", names)
	}
}

func TestFileMaxFiles2(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	f.now = fixedNow
	writeRecords(t, f, 200)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// removeExcessLogs keeps MaxFiles-2 = 0 rotated files before the rotation adds one.
	names := logFiles(t, dir)
	if len(names) != 2 || names[0] != "0.log" || !strings.HasPrefix(names[1], "0.log.") || strings.HasSuffix(names[1], ".gz") {
		t.Fatalf("files %q", names)
	}
	// Every earlier rotated file was removed before the next rename: names still grow.
	ts, _, _ := parseRotated(path, filepath.Join(dir, names[1]))
	if ts <= fixed.Add(time.Second).Format(timestampFormat) {
		t.Errorf("latest rotated file %s reuses an early timestamp", names[1])
	}
}

func TestOpenFileInvalid(t *testing.T) {
	if _, err := OpenFile(filepath.Join(t.TempDir(), "0.log"), 100, 1); err == nil {
		t.Error("OpenFile with max files 1 succeeded")
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing", "0.log"), 100, 5); err == nil {
		t.Error("OpenFile in a missing directory succeeded")
	}
}

func TestFileNoRotation(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, -1, 5)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := writeRecords(t, f, 1000)
	f.Close()
	if names := logFiles(t, dir); len(names) != 1 {
		t.Fatalf("files %q", names)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, all) {
		t.Fatal("content differs")
	}
}

func TestFileRecordLargerThanMax(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, 100, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	big := record(Stdout, strings.Repeat("b", 300))
	if _, err := f.Write(big); err != nil {
		t.Fatal(err)
	}
	// An empty file takes a record of any size: it is never split.
	if names := logFiles(t, dir); len(names) != 1 {
		t.Fatalf("files %q", names)
	}
	small := record(Stderr, "s")
	if _, err := f.Write(small); err != nil {
		t.Fatal(err)
	}
	names := logFiles(t, dir)
	if len(names) != 2 {
		t.Fatalf("files %q", names)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, names[1])); !bytes.Equal(b, big) {
		t.Errorf("rotated file holds %q", b)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, small) {
		t.Errorf("current file holds %q", b)
	}
}

func TestFileWriteAfterClose(t *testing.T) {
	noLeaks(t)
	f, err := OpenFile(filepath.Join(t.TempDir(), "0.log"), 100, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := f.Write(record(Stdout, "x")); err != ErrClosed {
		t.Errorf("Write after Close: %v", err)
	}
	if err := f.Reopen(); err != ErrClosed {
		t.Errorf("Reopen after Close: %v", err)
	}
}

// TestFileReopen is the kubelet's rotation done from outside: rename, then the CRI's
// ReopenContainerLog. The next rotation of the File compresses the externally rotated file.
func TestFileReopen(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, 1000, 5)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := record(Stdout, "a"), record(Stdout, "b"), record(Stdout, "c")
	f.Write(a)
	rotated := path + ".20240101-000000"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	f.Write(b) // still the renamed file, until reopened
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	f.Write(c)
	if got, _ := os.ReadFile(rotated); !bytes.Equal(got, slices.Concat(a, b)) {
		t.Errorf("rotated file holds %q", got)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, c) {
		t.Errorf("reopened file holds %q", got)
	}

	// Reopen keeps the size of an existing file: a record that would pass 1000 rotates.
	d := record(Stdout, strings.Repeat("d", 1000-len(c)))
	f.Write(d)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	names := logFiles(t, dir)
	if len(names) != 3 || names[1] != "0.log.20240101-000000.gz" {
		t.Fatalf("files %q", names)
	}
	if got := readLog(t, path, -1); !bytes.Equal(got, slices.Concat(a, b, c, d)) {
		t.Errorf("log holds %q", got)
	}
}

// TestFileCleanup checks cleanupUnusedLogs' part of a rotation: temporary files and
// uncompressed files whose .gz exists are removed.
func TestFileCleanup(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	for name, content := range map[string]string{
		"0.log.20240101-000000.tmp": "junk",
		"0.log.20240101-000001":     "dup",
		"0.log.20240101-000001.gz":  "",
		"1.log.20240101-000001":     "another container instance",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	f, err := OpenFile(path, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	f.now = fixedNow
	f.Write(record(Stdout, "1"))
	f.Write(record(Stdout, "2"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"0.log", "0.log.20240101-000001.gz", "0.log." + fixed.Format(timestampFormat), "1.log.20240101-000001"}
	slices.Sort(want)
	if names := logFiles(t, dir); !slices.Equal(names, want) {
		t.Errorf("files %q, want %q", names, want)
	}
}

// TestConcurrentWriters shares a File between a container's two streams: records never mix.
func TestConcurrentWriters(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, 8192, 100000)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string][]string{}
	for _, stream := range []string{Stdout, Stderr} {
		for i := range 2000 {
			// Some lines longer than MaxLineSize, split into P records.
			n := i * 13 % 300
			if i%500 == 7 {
				n = MaxLineSize + 100
			}
			lines[stream] = append(lines[stream], fmt.Sprintf("%s %d %s", stream, i, strings.Repeat(stream[3:4], n)))
		}
	}
	var wg sync.WaitGroup
	for _, stream := range []string{Stdout, Stderr} {
		wg.Go(func() {
			w := NewWriter(f, stream, nil)
			for _, l := range lines[stream] {
				// In pieces, as a pipe delivers them.
				s := l + "\n"
				for len(s) > 0 {
					k := min(len(s), 1+len(s)%97)
					if _, err := w.Write([]byte(s[:k])); err != nil {
						t.Error(err)
						return
					}
					s = s[k:]
				}
			}
			w.Close()
		})
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	pending := map[string]string{}
	for _, line := range bytes.SplitAfter(readLog(t, path, -1), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		r, err := Parse(line)
		if err != nil || line[len(line)-1] != '\n' {
			t.Fatalf("bad record %.80q: %v", line, err)
		}
		pending[r.Stream] += string(r.Content)
		if !r.Partial {
			got[r.Stream] = append(got[r.Stream], pending[r.Stream])
			pending[r.Stream] = ""
		}
	}
	for _, stream := range []string{Stdout, Stderr} {
		if !slices.Equal(got[stream], lines[stream]) {
			t.Errorf("%s: %d lines read back, %d written, or different", stream, len(got[stream]), len(lines[stream]))
		}
	}
}

// TestFileRotationFailure: a failed rotation loses nothing and is retried after the
// kubelet's monitoring period.
func TestFileRotationFailure(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	// removeExcessLogs cannot remove a non-empty directory named like a rotated log.
	junk := path + ".junk"
	if err := os.MkdirAll(filepath.Join(junk, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(path, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	now := fixed
	f.now = func() time.Time { return now }
	recs := [][]byte{record(Stdout, "1"), record(Stdout, "2"), record(Stdout, "3"), record(Stdout, "4")}
	if _, err := f.Write(recs[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Write(recs[1]); n != len(recs[1]) || err == nil || !strings.Contains(err.Error(), "rotate container log") {
		t.Fatalf("Write with a failing rotation = %d, %v", n, err)
	}
	now = now.Add(rotateRetry - time.Second)
	if _, err := f.Write(recs[2]); err != nil {
		t.Fatalf("Write before the retry period: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, slices.Concat(recs[:3]...)) {
		t.Fatalf("current file holds %q", got)
	}
	now = now.Add(time.Second)
	os.RemoveAll(junk)
	if _, err := f.Write(recs[3]); err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, path, -1); !bytes.Equal(got, slices.Concat(recs...)) {
		t.Fatalf("log holds %q", got)
	}
	if names := logFiles(t, dir); len(names) != 2 {
		t.Fatalf("files %q", names)
	}
}
