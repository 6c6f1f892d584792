package crilog

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func contents(recs []Record) []string {
	var s []string
	for _, r := range recs {
		s = append(s, r.Stream+" "+string(r.Content))
	}
	return s
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	content := slices.Concat(record(Stdout, "one"), []byte("malformed\n"), record(Stderr, "two"),
		[]byte("\n"), record(Stdout, ""), record(Stdout, "four"), record(Stdout, "being writ")[:20])
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	all := []string{"stdout one", "stderr two", "stdout ", "stdout four"}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 100, -1} {
		recs, err := Tail(path, n)
		if err != nil {
			t.Fatal(err)
		}
		want := all
		if n >= 0 && n < len(all) {
			want = all[len(all)-n:]
		}
		if got := contents(recs); !slices.Equal(got, want) {
			t.Errorf("Tail %d = %q, want %q", n, got, want)
		}
	}
	if recs, err := Tail(filepath.Join(t.TempDir(), "empty"), 3); err == nil || recs != nil {
		t.Errorf("Tail of a missing file: %v, %v", recs, err)
	}
	empty := filepath.Join(t.TempDir(), "0.log")
	os.WriteFile(empty, nil, 0o640)
	if recs, err := Tail(empty, 3); err != nil || len(recs) != 0 {
		t.Errorf("Tail of an empty file: %v, %v", recs, err)
	}
}

// TestTailLarge tails a 10 MiB file: only the end is read.
func TestTailLarge(t *testing.T) {
	var b bytes.Buffer
	var lines []string
	for i := 0; b.Len() < 10<<20; i++ {
		l := fmt.Sprintf("%d %s", i, strings.Repeat("L", i%300))
		lines = append(lines, "stdout "+l)
		b.Write(record(Stdout, l))
	}
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, b.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	recs, err := Tail(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := contents(recs); !slices.Equal(got, lines[len(lines)-10:]) {
		t.Fatalf("Tail 10 = %q", got)
	}
	r := &countingReaderAt{r: bytes.NewReader(b.Bytes())}
	start, recs, err := tail(r, int64(b.Len()), 10)
	if err != nil || len(recs) != 10 {
		t.Fatal(recs, err)
	}
	if r.n > tailBlock {
		t.Errorf("read %d bytes for 10 records", r.n)
	}
	if want := int64(b.Len() - len(bytes.Join(lastLines(b.Bytes(), 10), nil))); start != want {
		t.Errorf("start %d, want %d", start, want)
	}
}

// lastLines returns the last n lines of b, '\n' included.
func lastLines(b []byte, n int) [][]byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines = lines[:len(lines)-1] // after the last '\n'
	return lines[len(lines)-n:]
}

// TestTailRandom compares tail with a forward read on files with lines across blocks,
// malformed and overlong lines.
func TestTailRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 50 {
		var b []byte
		var want []string
		var starts []int64
		overlong := iter%10 != 0
		for range rng.IntN(60) {
			switch k := rng.IntN(10); {
			case k == 0:
				b = append(b, "not a record\n"...)
			case k == 1 && !overlong:
				overlong = true
				b = append(b, record(Stdout, strings.Repeat("o", maxRecordLine))...)
			default:
				l := strings.Repeat(string(rune('a'+k)), rng.IntN(3*tailBlock/2))
				starts = append(starts, int64(len(b)))
				want = append(want, "stdout "+l)
				b = append(b, record(Stdout, l)...)
			}
		}
		if rng.IntN(2) == 0 {
			b = append(b, "2025-01-02T03:04:05Z stdout F unterminated"...)
		}
		all, err := readAll(bytes.NewReader(b))
		if err != nil || !slices.Equal(contents(all), want) {
			t.Fatalf("readAll: %v", err)
		}
		for _, n := range []int{0, 1, 2, 5, len(want), len(want) + 1, -1} {
			start, recs, err := tail(bytes.NewReader(b), int64(len(b)), n)
			if err != nil {
				t.Fatal(err)
			}
			w := want
			var wantStart int64
			switch {
			case n == 0:
				wantStart = int64(bytes.LastIndexByte(b, '\n') + 1)
				w = nil
			case n > 0 && n <= len(want):
				w = want[len(want)-n:]
				wantStart = starts[len(starts)-n]
			}
			if got := contents(recs); !slices.Equal(got, w) || start != wantStart {
				t.Fatalf("iteration %d, tail %d: %d records from %d, want %d from %d", iter, n, len(got), start, len(w), wantStart)
			}
		}
	}
}
