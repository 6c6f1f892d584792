// Package crilog writes and reads the CRI container log format that the kubelet reads
// (parseCRILog in kubernetes pkg/kubelet/kuberuntime/logs/logs.go):
//
//	<RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>\n
//
// The Writer reproduces containerd's CRI logger (redirectLogs in internal/cri/io/logger.go,
// formerly pkg/cri/io/logger.go) byte for byte apart from the timestamps:
//   - each line of the stream becomes one F ("full") record; a "\r\n" ending is dropped like a
//     "\n" ending (containerd's readLine), a '\r' anywhere else is content;
//   - a line longer than MaxLineSize (containerd's default max_container_log_line_size) is
//     cut into P ("partial") records of exactly MaxLineSize bytes followed by an F record with
//     the rest; the cut is by bytes and may split a UTF-8 sequence, as containerd's does;
//   - output that ends without a newline is written as P records when the stream ends
//     (containerd: "it should be treated as a partial line"), so a reader joining P records
//     reproduces the stream without inventing a newline;
//   - the timestamp is time.Now() formatted with time.RFC3339Nano in the local time zone:
//     containerd does not convert to UTC, so neither does the Writer (inject now to choose).
//
// Both streams of a container go to one file, so a record must reach the file in one piece:
// the Writer makes exactly one Write call on its destination per record, and the destination
// must make each such call atomic with respect to the other stream's Writer, either a file
// opened with O_APPEND (one write(2) per record) or a LockedWriter.
package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Stream names, as in the CRI (runtimeapi.Stdout, runtimeapi.Stderr).
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// MaxLineSize is the longest content of one record: containerd's default
// max_container_log_line_size (16 KiB).
const MaxLineSize = 16 * 1024

// Log tags (runtimeapi.LogTagPartial, runtimeapi.LogTagFull).
const (
	tagPartial = 'P'
	tagFull    = 'F'
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("crilog: write after close")

// Record is one parsed log record.
type Record struct {
	Time   time.Time
	Stream string // Stdout or Stderr
	// Partial is set for a P record: the line continues in the next record of the stream.
	Partial bool
	// Content excludes the record's terminating newline. A reader reproduces the container's
	// output by writing Content followed by "\n" unless Partial (the kubelet keeps the
	// newline of F records and trims it from P records to the same effect).
	Content []byte
}

// Append appends r encoded as one record, newline included, to b. Content must not contain
// a newline.
func (r Record) Append(b []byte) []byte {
	tag := byte(tagFull)
	if r.Partial {
		tag = tagPartial
	}
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, r.Stream...)
	b = append(b, ' ', tag, ' ')
	b = append(b, r.Content...)
	return append(b, '\n')
}

// Parse parses one record, with or without its trailing newline, following the kubelet's
// parseCRILog: a timestamp in RFC 3339 with optional fraction, the stream (stdout or
// stderr), then the tags separated by ':' of which the first decides the kind (P is partial,
// anything else full; later tags are ignored, for forward compatibility). Content aliases
// line.
func Parse(line []byte) (Record, error) {
	var r Record
	line = bytes.TrimSuffix(line, []byte{'\n'})

	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return r, errors.New("crilog: timestamp is not found")
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return r, fmt.Errorf("crilog: unexpected timestamp format %q: %w", time.RFC3339Nano, err)
	}
	r.Time = t

	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return r, errors.New("crilog: stream type is not found")
	}
	switch string(stream) {
	case Stdout:
		r.Stream = Stdout
	case Stderr:
		r.Stream = Stderr
	default:
		return r, fmt.Errorf("crilog: unexpected stream type %q", stream)
	}

	tags, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return r, errors.New("crilog: log tag is not found")
	}
	first, _, _ := bytes.Cut(tags, []byte{':'})
	r.Partial = len(first) == 1 && first[0] == tagPartial
	r.Content = content
	return r, nil
}

// Writer turns one stream of a container into CRI log records written to dst. It is an
// io.WriteCloser; Close flushes an unterminated last line as P records. A Writer is not safe
// for concurrent use (it is one stream); see the package comment for sharing dst.
//
// A failed write to dst loses that record but not the Writer's state: the Writer goes on
// consuming input, as containerd does so that a full disk never blocks the container on its
// pipe, and reports the first failure of the call.
type Writer struct {
	dst     io.Writer
	stream  string
	now     func() time.Time
	pending []byte // the current line's content not yet written
	rec     []byte // record buffer, reused
	err     error  // first dst error of the current call
	closed  bool
}

// NewWriter returns a Writer for stream (Stdout or Stderr; anything else panics) writing
// records to dst, time-stamped by now (time.Now if nil).
func NewWriter(dst io.Writer, stream string, now func() time.Time) *Writer {
	if stream != Stdout && stream != Stderr {
		panic(fmt.Sprintf("crilog: invalid stream %q", stream))
	}
	if now == nil {
		now = time.Now
	}
	return &Writer{dst: dst, stream: stream, now: now}
}

// Write consumes all of p, writing a record for each line or MaxLineSize piece completed.
// It returns len(p) and the first error from dst, if any.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	n := len(p)
	w.err = nil
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		if line := p[:i]; len(w.pending) == 0 {
			w.writeLine(line)
		} else {
			w.buffer(line)
			w.writeLine(w.pending)
		}
		w.pending = w.pending[:0]
		p = p[i+1:]
	}
	if len(p) > 0 {
		w.buffer(p)
	}
	return n, w.err
}

// writeLine writes a complete line (its '\n' removed) as P records and a final F record.
func (w *Writer) writeLine(line []byte) {
	// containerd's readLine drops "\r\n" as the line ending.
	line = bytes.TrimSuffix(line, []byte{'\r'})
	for len(line) > MaxLineSize {
		w.record(tagPartial, line[:MaxLineSize])
		line = line[MaxLineSize:]
	}
	w.record(tagFull, line)
}

// buffer adds p, which holds no newline, to the pending line, writing P records for every
// MaxLineSize piece that is sure to be followed by more content. A trailing '\r' may yet turn
// out to be half of a "\r\n" line ending, which containerd drops before measuring the line,
// so it does not count toward the limit until more content follows. This keeps pending at
// most MaxLineSize+1 bytes, however long the line.
func (w *Writer) buffer(p []byte) {
	for len(w.pending) > 0 && len(p) > 0 {
		k := min(len(p), MaxLineSize+1-len(w.pending))
		w.pending = append(w.pending, p[:k]...)
		p = p[k:]
		if len(w.pending) <= MaxLineSize || (len(p) == 0 && w.pending[MaxLineSize] == '\r') {
			return
		}
		w.record(tagPartial, w.pending[:MaxLineSize])
		w.pending = append(w.pending[:0], w.pending[MaxLineSize:]...)
	}
	if len(p) == 0 {
		return
	}
	// Nothing pending: write full pieces straight from p.
	limit := len(p)
	if p[limit-1] == '\r' {
		limit--
	}
	for limit > MaxLineSize {
		w.record(tagPartial, p[:MaxLineSize])
		p = p[MaxLineSize:]
		limit -= MaxLineSize
	}
	w.pending = append(w.pending, p...)
}

// record writes one record with a single Write call on dst.
func (w *Writer) record(tag byte, content []byte) {
	b := w.now().AppendFormat(w.rec[:0], time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, w.stream...)
	b = append(b, ' ', tag, ' ')
	b = append(b, content...)
	b = append(b, '\n')
	w.rec = b
	if _, err := w.dst.Write(b); err != nil && w.err == nil {
		w.err = err
	}
}

// Close writes a pending unterminated line as P records, like containerd at the end of the
// stream, and makes further writes fail. It does not close dst.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.err = nil
	line := w.pending
	for len(line) > 0 {
		piece := line[:min(len(line), MaxLineSize)]
		w.record(tagPartial, piece)
		line = line[len(piece):]
	}
	w.pending = nil
	return w.err
}

// Copy reads r until EOF and writes its content to dst as CRI records of stream, the way a
// container's stdout or stderr pipe is drained: go Copy(logFile, crilog.Stdout, pipe, nil).
// Write errors do not stop the draining; Copy returns the first of them, or the read error
// other than io.EOF that ended it (after flushing the unterminated line, as containerd does).
func Copy(dst io.Writer, stream string, r io.Reader, now func() time.Time) error {
	if stream != Stdout && stream != Stderr {
		return fmt.Errorf("crilog: invalid stream %q", stream)
	}
	w := NewWriter(dst, stream, now)
	buf := make([]byte, 32*1024)
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			_, err := w.Write(buf[:n])
			keep(err)
		}
		if rerr != nil {
			keep(w.Close())
			if rerr != io.EOF {
				keep(rerr)
			}
			return first
		}
	}
}

// LockedWriter serializes Write calls on W, so that the stdout and stderr Writers of one
// container can share a destination that is not a file opened with O_APPEND.
type LockedWriter struct {
	mu sync.Mutex
	W  io.Writer
}

// NewLockedWriter returns a LockedWriter on w.
func NewLockedWriter(w io.Writer) *LockedWriter { return &LockedWriter{W: w} }

func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.W.Write(p)
}
