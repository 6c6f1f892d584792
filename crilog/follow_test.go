package crilog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// collector gathers what Follow emits.
type collector struct {
	mu    sync.Mutex
	lines []string
	first chan struct{} // closed at the first record
	once  sync.Once
}

func newCollector() *collector { return &collector{first: make(chan struct{})} }

func (c *collector) emit(r Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tag := "F"
	if r.Partial {
		tag = "P"
	}
	c.lines = append(c.lines, r.Stream+" "+tag+" "+string(r.Content))
	c.once.Do(func() { close(c.first) })
	return nil
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// expected renders lines written with one Writer as the collector does.
func expected(stream string, lines []string) []string {
	var want []string
	for _, l := range lines {
		want = append(want, stream+" F "+l)
	}
	return want
}

// follow runs Follow in the background; wait returns its error.
func startFollow(ctx context.Context, path string, offset int64, done <-chan struct{}, emit func(Record) error) (wait func() error) {
	errc := make(chan error, 1)
	go func() { errc <- Follow(ctx, path, offset, done, emit) }()
	return func() error { return <-errc }
}

func compareLines(t *testing.T, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("record %d of %d: got %.60q, want %.60q (%d emitted)", i, len(want), got[i], want[i], len(got))
		}
	}
	t.Fatalf("%d records emitted, want %d", len(got), len(want))
}

// TestFollowRotations follows 1 MiB written through a 4 KiB rotating log.
func TestFollowRotations(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, 4096, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	size := 0
	for i := 0; size < 1<<20; i++ {
		l := fmt.Sprintf("%d %s", i, strings.Repeat("y", i*31%200))
		lines = append(lines, l)
		size += len(l) + 1
	}
	c := newCollector()
	done := make(chan struct{})
	wait := startFollow(context.Background(), path, 0, done, c.emit)
	w := NewWriter(f, Stdout, nil)
	for i, l := range lines {
		if i == 1 {
			<-c.first // Follow started with the file the first line went to
		}
		if _, err := w.Write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	close(done)
	if err := wait(); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	compareLines(t, c.got(), expected(Stdout, lines))
	if files, _ := Files(path); len(files) < 4 {
		t.Fatalf("only %d files: not 3 rotations", len(files))
	}
}

// TestFollowBehind holds Follow at its first record while the log rotates many times and
// the file it has open is compressed and removed: it catches up through the .gz files.
func TestFollowBehind(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, 4096, 100000)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, Stderr, nil)
	lines := []string{"first"}
	w.Write([]byte("first\n"))

	c := newCollector()
	release := make(chan struct{})
	emit := func(r Record) error {
		if err := c.emit(r); err != nil {
			return err
		}
		<-release
		return nil
	}
	done := make(chan struct{})
	wait := startFollow(context.Background(), path, 0, done, emit)
	<-c.first
	for i := range 3000 {
		l := fmt.Sprintf("%d %s", i, strings.Repeat("z", i%120))
		lines = append(lines, l)
		w.Write([]byte(l + "\n"))
	}
	w.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// The file Follow has open exists only compressed now.
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if files, _ := Files(path); len(files) < 10 || !strings.HasSuffix(files[0], ".gz") {
		t.Fatalf("files %q", files)
	}
	close(done)
	close(release)
	if err := wait(); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	compareLines(t, c.got(), expected(Stderr, lines))
}

// TestFollowExternalRotation follows a log rotated the kubelet's way: rename, more writes
// to the renamed file, then ReopenContainerLog.
func TestFollowExternalRotation(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, -1, 5)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, Stdout, nil)
	c := newCollector()
	done := make(chan struct{})
	wait := startFollow(context.Background(), path, 0, done, c.emit)
	var lines []string
	write := func(l string) {
		lines = append(lines, l)
		w.Write([]byte(l + "\n"))
	}
	write("start")
	<-c.first
	for round := range 4 {
		write(fmt.Sprintf("before %d", round))
		if err := os.Rename(path, fmt.Sprintf("%s.20240101-00000%d", path, round)); err != nil {
			t.Fatal(err)
		}
		write(fmt.Sprintf("renamed %d", round))
		if err := f.Reopen(); err != nil {
			t.Fatal(err)
		}
		write(fmt.Sprintf("reopened %d", round))
	}
	w.Close()
	f.Close()
	close(done)
	if err := wait(); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	compareLines(t, c.got(), expected(Stdout, lines))
}

func TestFollowDone(t *testing.T) {
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "0.log")
	content := slices.Concat(record(Stdout, "one"), []byte("malformed\n"), record(Stderr, "two"),
		Record{Time: fixed, Stream: Stdout, Partial: true, Content: []byte("par")}.Append(nil),
		record(Stdout, "tial"))
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	want := []string{"stdout F one", "stderr F two", "stdout P par", "stdout F tial"}

	// Closed before: everything there is emitted, then Follow returns.
	done := make(chan struct{})
	close(done)
	c := newCollector()
	if err := Follow(context.Background(), path, 0, done, c.emit); err != nil {
		t.Fatal(err)
	}
	compareLines(t, c.got(), want)

	// From an offset.
	c = newCollector()
	off := int64(len(record(Stdout, "one")) + len("malformed\n"))
	if err := Follow(context.Background(), path, off, done, c.emit); err != nil {
		t.Fatal(err)
	}
	compareLines(t, c.got(), want[1:])
	if err := Follow(context.Background(), path, int64(len(content)+1), done, c.emit); err == nil {
		t.Error("Follow past the end succeeded")
	}

	// Closed while waiting, after a last write.
	f, err := OpenFile(path, -1, 5)
	if err != nil {
		t.Fatal(err)
	}
	done = make(chan struct{})
	c = newCollector()
	wait := startFollow(context.Background(), path, 0, done, c.emit)
	<-c.first
	f.Write(record(Stderr, "last"))
	f.Close()
	close(done)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	compareLines(t, c.got(), append(want, "stderr F last"))
}

func TestFollowCancel(t *testing.T) {
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, record(Stdout, "one"), 0o640); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := newCollector()
	wait := startFollow(ctx, path, 0, nil, c.emit)
	<-c.first
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow after cancel: %v", err)
	}
}

func TestFollowEmitError(t *testing.T) {
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, slices.Concat(record(Stdout, "one"), record(Stdout, "two")), 0o640); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("client went away")
	n := 0
	err := Follow(context.Background(), path, 0, nil, func(Record) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("Follow = %v after %d records", err, n)
	}
}

func TestFollowErrors(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	if err := Follow(context.Background(), filepath.Join(dir, "missing.log"), 0, nil, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Follow of a missing file: %v", err)
	}
	if err := Follow(context.Background(), filepath.Join(dir, "none", "0.log"), 0, nil, nil); err == nil {
		t.Error("Follow in a missing directory succeeded")
	}
}

// TestFollowDirectoryRemoved: the pod's logs are deleted; Follow ends with what it read.
func TestFollowDirectoryRemoved(t *testing.T) {
	noLeaks(t)
	dir := filepath.Join(t.TempDir(), "c")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "0.log")
	if err := os.WriteFile(path, record(Stdout, "one"), 0o640); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	wait := startFollow(context.Background(), path, 0, nil, c.emit)
	<-c.first
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	compareLines(t, c.got(), []string{"stdout F one"})
}

func TestFollowTail(t *testing.T) {
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "0.log")
	var lines []string
	var content []byte
	for i := range 100 {
		l := fmt.Sprintf("line %d", i)
		lines = append(lines, l)
		content = append(content, record(Stdout, l)...)
	}
	// The last record is being written: left out of the tail, emitted once complete.
	last := record(Stdout, "written last")
	content = append(content, last[:10]...)
	for _, n := range []int{0, 1, 10, -1} {
		if err := os.WriteFile(path, content, 0o640); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		c := newCollector()
		errc := make(chan error, 1)
		go func() { errc <- FollowTail(context.Background(), path, n, done, c.emit) }()
		want := expected(Stdout, lines)
		if n >= 0 {
			want = want[len(want)-n:]
		}
		if n > 0 {
			<-c.first // the tail is found: complete the last record
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(last[10:])
			f.Close()
			want = append(want, "stdout F written last")
		}
		close(done)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if got := c.got(); !slices.Equal(got, want) {
			t.Errorf("FollowTail %d: got %q, want %q", n, got, want)
		}
	}
}

// TestFollowExcessRemoved follows a log that keeps two files: a reader that falls behind
// loses the files removed meanwhile, but never repeats or reorders a record.
func TestFollowExcessRemoved(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	f, err := OpenFile(path, 4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, Stdout, nil)
	c := newCollector()
	done := make(chan struct{})
	wait := startFollow(context.Background(), path, 0, done, c.emit)
	const n = 20000
	for i := range n {
		fmt.Fprintf(w, "%d %s\n", i, strings.Repeat("r", i%90))
		if i == 0 {
			<-c.first
		}
	}
	w.Close()
	f.Close()
	close(done)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	got := c.got()
	last := -1
	for _, l := range got {
		var i int
		if _, err := fmt.Sscanf(l, "stdout F %d", &i); err != nil || i <= last {
			t.Fatalf("record %q after %d", l, last)
		}
		last = i
	}
	if last != n-1 {
		t.Fatalf("last record %d, want %d", last, n-1)
	}
	t.Logf("%d of %d records", len(got), n)
}

// TestFollowMidRotation starts Follow while path is renamed away and not yet recreated.
func TestFollowMidRotation(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	if err := os.WriteFile(path+".20240101-000000", record(Stdout, "old"), 0o640); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	done := make(chan struct{})
	wait := startFollow(context.Background(), path, 0, done, c.emit)
	f, err := OpenFile(path, -1, 5)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(record(Stdout, "new"))
	f.Close()
	close(done)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	compareLines(t, c.got(), []string{"stdout F new"})
}

func TestSameContent(t *testing.T) {
	dir := t.TempDir()
	gz := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, content, 0o640)
		if err := compressLog(p); err != nil {
			t.Fatal(err)
		}
		return p + compressSuffix
	}
	content := []byte(strings.Repeat("0123456789", 10000))
	other := slices.Clone(content)
	other[len(other)-1] = 'x'
	os.WriteFile(filepath.Join(dir, "ours"), content, 0o640)
	f, err := os.Open(filepath.Join(dir, "ours"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		gz   string
		want bool
	}{
		{gz("same", content), true},
		{gz("other", other), false},                 // same size
		{gz("longer", append(content, 'y')), false}, // size differs
		{gz("prefix", content[:len(content)-1]), false},
		{filepath.Join(dir, "missing.gz"), false},
	} {
		if got, err := sameContent(c.gz, f); got != c.want || err != nil {
			t.Errorf("sameContent(%s) = %v, %v", filepath.Base(c.gz), got, err)
		}
	}
}

// pieces yields its chunks one Read at a time, then nothing (a file not written further yet).
type pieces struct{ chunks []string }

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.chunks[0])
	p.chunks = p.chunks[1:]
	return n, nil
}

// A line reader that has read everything holds no buffer; one with a line still partly
// written keeps it, and the line comes whole once its end arrives.
func TestLineReaderGivesBackItsBuffer(t *testing.T) {
	src := &pieces{chunks: []string{"one\ntw"}}
	l := newLineReader(src)
	if line, ok, err := l.next(); err != nil || !ok || string(line) != "one" {
		t.Fatalf("first line = %q, %v, %v; want one", line, ok, err)
	}
	if _, ok, err := l.next(); ok || err != nil {
		t.Fatalf("a partial line was returned (%v, %v)", ok, err)
	}
	if l.buf == nil {
		t.Fatal("the partial line's buffer was given back")
	}
	src.chunks = []string{"o\n"}
	if line, ok, err := l.next(); err != nil || !ok || string(line) != "two" {
		t.Fatalf("second line = %q, %v, %v; want two", line, ok, err)
	}
	if _, ok, err := l.next(); ok || err != nil {
		t.Fatalf("a line after the end (%v, %v)", ok, err)
	}
	if l.buf != nil {
		t.Fatalf("an idle reader holds a %d-byte buffer", cap(l.buf))
	}
	src.chunks = []string{"three\n"}
	if line, ok, err := l.next(); err != nil || !ok || string(line) != "three" {
		t.Fatalf("third line = %q, %v, %v; want three", line, ok, err)
	}
}
