package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// tailBlock is how much Tail reads at a time, backwards from the end of the file.
const tailBlock = 32 << 10

// Tail returns the last n records of the file at path (all of them if n < 0), reading it
// backwards by blocks like the kubelet (pkg/util/tail/tail.go::FindTailLineStartIndex):
// only the blocks holding those records are read. Malformed lines are skipped and do not
// count; an unterminated last line, a record still being written, is left out (the kubelet
// does not count it either, but prints it).
func Tail(path string, n int) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tail container log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tail container log: %w", err)
	}
	_, recs, err := tail(f, st.Size(), n)
	if err != nil {
		return nil, fmt.Errorf("tail container log: %w", err)
	}
	return recs, nil
}

// tail returns the last n records in the first size bytes of r and the offset of the first
// one's line; the offset is that of the end of the last complete line for n == 0, and 0 if
// there are fewer than n records.
func tail(r io.ReaderAt, size int64, n int) (start int64, recs []Record, err error) {
	if n < 0 {
		recs, err := readAll(io.NewSectionReader(r, 0, size))
		return 0, recs, err
	}
	var (
		rev   []Record // newest first
		carry []byte   // the end of a line that starts before pos, its '\n' included
		// skip discards bytes up to the previous '\n': first those of an unterminated last
		// line, later those of a line too long to be a record.
		skip = true
		pos  = size // bytes before pos are yet to be read
	)
	for pos > 0 {
		lo := max(0, pos-tailBlock)
		block := make([]byte, pos-lo)
		if m, err := r.ReadAt(block, lo); m < len(block) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file shrank
			}
			return 0, nil, err
		}
		pos = lo
		buf := append(block, carry...)
		carry = nil
		if skip {
			i := bytes.LastIndexByte(block, '\n')
			if i < 0 {
				continue
			}
			skip = false
			buf = block[:i+1]
			if n == 0 {
				return lo + int64(i+1), nil, nil
			}
		}
		// buf, from offset lo, ends with a '\n': take lines off its end.
		for len(buf) > 0 {
			j := bytes.LastIndexByte(buf[:len(buf)-1], '\n')
			if j < 0 && lo > 0 {
				if len(buf)-1 > maxRecordLine {
					skip = true
				} else {
					carry = buf
				}
				break
			}
			// Overlong lines are skipped, as lineReader does.
			if line := buf[j+1:]; len(line)-1 <= maxRecordLine {
				if rec, err := Parse(line); err == nil {
					rec.Content = bytes.Clone(rec.Content)
					rev = append(rev, rec)
					if len(rev) == n {
						slices.Reverse(rev)
						return lo + int64(j+1), rev, nil
					}
				}
			}
			buf = buf[:j+1]
		}
	}
	slices.Reverse(rev)
	return 0, rev, nil
}

// readAll parses every complete line of r.
func readAll(r io.Reader) ([]Record, error) {
	var recs []Record
	l := newLineReader(r)
	for {
		line, ok, err := l.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return recs, nil
		}
		if rec, err := Parse(line); err == nil {
			rec.Content = bytes.Clone(rec.Content)
			recs = append(recs, rec)
		}
	}
}
