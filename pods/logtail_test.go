package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minipod/minipod/crilog"
)

func criRecord(stream, content string, partial bool) []byte {
	r := crilog.Record{Time: time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC), Stream: stream, Partial: partial, Content: []byte(content)}
	return r.Append(nil)
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	tail := &logTail{dir: dir}
	defer tail.close()
	var got []string
	poll := func() []string {
		before := len(got)
		tail.poll(func(r crilog.Record) {
			tag := "F"
			if r.Partial {
				tag = "P"
			}
			got = append(got, fmt.Sprintf("%s %s %s", r.Stream, tag, r.Content))
		})
		return got[before:]
	}
	expect := func(step string, gotNew []string, want ...string) {
		t.Helper()
		if !slices.Equal(gotNew, want) {
			t.Errorf("%s: emitted %q, want %q", step, gotNew, want)
		}
	}
	log0, log1, log2 := filepath.Join(dir, "0.log"), filepath.Join(dir, "1.log"), filepath.Join(dir, "2.log")

	expect("no file yet", poll())

	appendFile(t, log0, append(criRecord("stdout", "one", false), criRecord("stderr", "two", false)...))
	expect("first records", poll(), "stdout F one", "stderr F two")
	expect("nothing new", poll())

	// A record whose newline has not been written yet is not emitted, and emitted whole once
	// completed.
	rec := criRecord("stdout", "three", false)
	appendFile(t, log0, rec[:len(rec)-3])
	expect("incomplete record", poll())
	appendFile(t, log0, rec[len(rec)-3:])
	expect("completed record", poll(), "stdout F three")

	// P records pass through as partial.
	appendFile(t, log0, criRecord("stdout", "par", true))
	expect("partial record", poll(), "stdout P par")

	// Lines that are not CRI records are skipped.
	appendFile(t, log0, []byte("garbage line\n"))
	expect("garbage", poll())

	// The container restarted: whatever 0.log got before 1.log appeared comes first.
	appendFile(t, log0, criRecord("stdout", "last of 0", false))
	appendFile(t, log1, append(criRecord("stdout", "first of 1", false), criRecord("stderr", "second of 1", false)...))
	expect("restart", poll(), "stdout F last of 0", "stdout F first of 1", "stderr F second of 1")

	// Several files at once are drained in order.
	appendFile(t, log1, criRecord("stdout", "late in 1", false))
	appendFile(t, log2, criRecord("stdout", "in 2", false))
	expect("two files", poll(), "stdout F late in 1", "stdout F in 2")
	if tail.n != 2 {
		t.Errorf("tail at %d.log, want 2.log", tail.n)
	}

	// A file is complete once the next one exists (the monitor closes n.log before it
	// creates n+1.log), so a file left behind is not read again.
	appendFile(t, log1, criRecord("stdout", "too late", false))
	appendFile(t, log2, criRecord("stdout", "more in 2", false))
	expect("after moving on", poll(), "stdout F more in 2")
}

// A writer that fills n.log then creates n+1.log, the way a container's restarts do, while
// the tail polls concurrently: no record may be lost at a switch of files. Whatever the
// interleaving, every record must be emitted exactly once and in order.
func TestLogTailNoLossAtRestart(t *testing.T) {
	dir := t.TempDir()
	const files, perFile = 200, 20
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := range files {
			f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.log", n)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				panic(err)
			}
			for i := range perFile {
				f.Write(criRecord("stdout", fmt.Sprintf("%d/%d", n, i), false))
			}
			f.Close()
		}
	}()
	tail := &logTail{dir: dir}
	defer tail.close()
	var got []string
	emit := func(r crilog.Record) { got = append(got, string(r.Content)) }
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		tail.poll(emit)
	}
	var want []string
	for n := range files {
		for i := range perFile {
			want = append(want, fmt.Sprintf("%d/%d", n, i))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("emitted %d records, want %d in order", len(got), len(want))
	}
}
