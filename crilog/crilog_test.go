package crilog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

var fixed = time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)

func fixedNow() time.Time { return fixed }

type rec struct {
	tag     byte
	content string
}

func (r rec) String() string {
	c := r.content
	if len(c) > 20 {
		c = fmt.Sprintf("%.10q...(%d bytes)", c, len(c))
	} else {
		c = fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("%c %s", r.tag, c)
}

// records parses out, checking that it is a sequence of well-formed records of stream.
func records(t *testing.T, out []byte, stream string) []rec {
	t.Helper()
	var rs []rec
	for len(out) > 0 {
		line, rest, ok := bytes.Cut(out, []byte{'\n'})
		if !ok {
			t.Fatalf("output does not end in a newline: %q", out)
		}
		out = rest
		r, err := Parse(line)
		if err != nil {
			t.Fatalf("Parse(%q): %v", line, err)
		}
		if r.Stream != stream || !r.Time.Equal(fixed) {
			t.Fatalf("record %q: stream %s time %v", line, r.Stream, r.Time)
		}
		tag := byte('F')
		if r.Partial {
			tag = 'P'
		}
		rs = append(rs, rec{tag, string(r.Content)})
	}
	return rs
}

// write feeds chunks to a new Writer, closes it and returns its output.
func write(t *testing.T, chunks []string) []byte {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, Stdout, fixedNow)
	for _, c := range chunks {
		if n, err := w.Write([]byte(c)); n != len(c) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestWriter(t *testing.T) {
	const K = MaxLineSize
	a := func(n int) string { return strings.Repeat("a", n) }
	P := func(s string) rec { return rec{'P', s} }
	F := func(s string) rec { return rec{'F', s} }
	tests := []struct {
		name   string
		chunks []string
		want   []rec
	}{
		{"nothing", nil, nil},
		{"one line", []string{"hello world\n"}, []rec{F("hello world")}},
		{"two lines", []string{"a\nb\n"}, []rec{F("a"), F("b")}},
		{"line across writes", []string{"hel", "lo\nwor", "ld\n"}, []rec{F("hello"), F("world")}},
		{"empty lines", []string{"\n\nx\n\n"}, []rec{F(""), F(""), F("x"), F("")}},
		{"spaces kept", []string{"  two  spaces \n"}, []rec{F("  two  spaces ")}},
		{"CRLF ending dropped like containerd", []string{"a\r\nb\r\n"}, []rec{F("a"), F("b")}},
		{"CRLF across writes", []string{"a\r", "\nb"}, []rec{F("a"), P("b")}},
		{"only one CR dropped", []string{"a\r\r\n"}, []rec{F("a\r")}},
		{"CR alone", []string{"\r\n"}, []rec{F("")}},
		{"CR inside a line kept", []string{"50%\r100%\n"}, []rec{F("50%\r100%")}},
		{"CR at end of stream kept", []string{"a\r"}, []rec{P("a\r")}},
		{"unterminated last line is partial", []string{"a\nlast"}, []rec{F("a"), P("last")}},
		{"exactly MaxLineSize", []string{a(K) + "\n"}, []rec{F(a(K))}},
		{"exactly MaxLineSize, CRLF", []string{a(K) + "\r\n"}, []rec{F(a(K))}},
		{"exactly MaxLineSize, CR then more", []string{a(K) + "\r", "b\n"}, []rec{P(a(K)), F("\rb")}},
		{"MaxLineSize+1", []string{a(K+1) + "\n"}, []rec{P(a(K)), F("a")}},
		{"40 KiB line", []string{a(40*1024) + "\n"}, []rec{P(a(K)), P(a(K)), F(a(8 * 1024))}},
		{"40 KiB line in small writes", splitEvery(a(40*1024)+"\n", 1000), []rec{P(a(K)), P(a(K)), F(a(8 * 1024))}},
		{"2*MaxLineSize has no empty F", []string{a(2*K) + "\n"}, []rec{P(a(K)), F(a(K))}},
		{"unterminated MaxLineSize", []string{a(K)}, []rec{P(a(K))}},
		{"unterminated 40 KiB", []string{a(40 * 1024)}, []rec{P(a(K)), P(a(K)), P(a(8 * 1024))}},
		{"unterminated MaxLineSize then CR", []string{a(K) + "\r"}, []rec{P(a(K)), P("\r")}},
		{"binary bytes", []string{"\x00\xff\t\n"}, []rec{F("\x00\xff\t")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := strings.Join(tt.chunks, "")
			for _, chunks := range [][]string{tt.chunks, {all}, splitEvery(all, 1)} {
				got := records(t, write(t, chunks), Stdout)
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("chunks of %d: got %v\nwant %v", len(chunks), got, tt.want)
				}
			}
		})
	}
}

func splitEvery(s string, n int) []string {
	var r []string
	for len(s) > n {
		r = append(r, s[:n])
		s = s[n:]
	}
	if s != "" {
		r = append(r, s)
	}
	return r
}

func TestTimestamp(t *testing.T) {
	zone := time.FixedZone("", 2*3600)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC), "2025-01-02T03:04:05.123456789Z stderr F x\n"},
		{time.Date(2025, 1, 2, 3, 4, 5, 100000000, time.UTC), "2025-01-02T03:04:05.1Z stderr F x\n"},
		{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), "2025-01-02T03:04:05Z stderr F x\n"},
		// containerd formats time.Now() in the local zone, without converting to UTC.
		{time.Date(2025, 1, 2, 5, 4, 5, 5, zone), "2025-01-02T05:04:05.000000005+02:00 stderr F x\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := NewWriter(&out, Stderr, func() time.Time { return tt.t })
		w.Write([]byte("x\n"))
		if out.String() != tt.want {
			t.Errorf("got %q, want %q", out.String(), tt.want)
		}
		r, err := Parse(out.Bytes())
		if err != nil || !r.Time.Equal(tt.t) {
			t.Errorf("Parse: %v, %v", r.Time, err)
		}
	}
}

// containerdLog is a direct port of containerd's readLine and redirectLogs
// (internal/cri/io/logger.go), with a fixed clock: the reference the Writer must match.
func containerdLog(rc io.Reader, w io.Writer, stream string, maxLen int) {
	readLine := func(b *bufio.Reader) (line []byte, isPrefix bool, err error) {
		line, err = b.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(line) > 0 && line[len(line)-1] == '\r' {
				if err := b.UnreadByte(); err != nil {
					panic(err)
				}
				line = line[:len(line)-1]
			}
			return line, true, nil
		}
		if len(line) == 0 {
			if err != nil {
				line = nil
			}
			return
		}
		if line[len(line)-1] == '\n' {
			drop := 1
			if len(line) > 1 && line[len(line)-2] == '\r' {
				drop = 2
			}
			line = line[:len(line)-drop]
		}
		return
	}
	var (
		buf    [][]byte
		length int
	)
	bufSize := 4096
	if maxLen > 0 && maxLen < bufSize {
		bufSize = maxLen
	}
	r := bufio.NewReaderSize(rc, bufSize)
	writeLineBuffer := func(tag string, lineBytes [][]byte) {
		var lb bytes.Buffer
		lb.WriteString(fixed.Format(time.RFC3339Nano) + " " + stream + " " + tag + " ")
		for _, l := range lineBytes {
			lb.Write(l)
		}
		lb.WriteByte('\n')
		lb.WriteTo(w)
	}
	for {
		var stop bool
		newLine, isPrefix, err := readLine(r)
		if len(newLine) > 0 {
			l := make([]byte, len(newLine))
			copy(l, newLine)
			buf = append(buf, l)
			length += len(l)
		}
		if err != nil {
			if length == 0 {
				break
			}
			stop = true
		}
		if maxLen > 0 && length > maxLen {
			exceedLen := length - maxLen
			last := buf[len(buf)-1]
			if exceedLen > len(last) {
				panic("exceed length should <= last buffer size")
			}
			buf[len(buf)-1] = last[:len(last)-exceedLen]
			writeLineBuffer("P", buf)
			buf = [][]byte{last[len(last)-exceedLen:]}
			length = exceedLen
		}
		if isPrefix {
			continue
		}
		if stop {
			writeLineBuffer("P", buf)
		} else {
			writeLineBuffer("F", buf)
		}
		buf = nil
		length = 0
		if stop {
			break
		}
	}
}

// TestMatchesContainerd compares the Writer with the containerd port on random streams made
// of lines around MaxLineSize long, with '\r' in tricky places, written in random chunks.
func TestMatchesContainerd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var in bytes.Buffer
		for range rng.IntN(4) + 1 {
			n := rng.IntN(3*MaxLineSize + 10)
			if rng.IntN(2) == 0 {
				n = MaxLineSize*rng.IntN(3) + rng.IntN(5) - 2
			}
			for j := range max(n, 0) {
				c := byte('a' + j%26)
				if rng.IntN(500) == 0 {
					c = '\r'
				}
				in.WriteByte(c)
			}
			switch rng.IntN(4) {
			case 0:
				in.WriteString("\r\n")
			case 1, 2:
				in.WriteString("\n")
			} // 3: the line continues, or the stream ends without a newline
		}
		var want bytes.Buffer
		containerdLog(bytes.NewReader(in.Bytes()), &want, Stdout, MaxLineSize)

		var chunks []string
		for s := in.String(); len(s) > 0; {
			n := min(len(s), rng.IntN(2*MaxLineSize)+1)
			if rng.IntN(3) == 0 {
				n = min(len(s), rng.IntN(3)+1)
			}
			chunks = append(chunks, s[:n])
			s = s[n:]
		}
		got := write(t, chunks)
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("case %d: input %d bytes:\n got %v\nwant %v", i, in.Len(), records(t, got, Stdout), records(t, want.Bytes(), Stdout))
		}
	}
}

// A reader joining records gets the stream back, less the '\r' of "\r\n" endings.
func TestRoundTrip(t *testing.T) {
	in := "first\n" + strings.Repeat("x", 3*MaxLineSize+7) + "\n\nwin\r\nend"
	var out bytes.Buffer
	if err := Copy(&out, Stdout, strings.NewReader(in), nil); err != nil {
		t.Fatal(err)
	}
	var joined bytes.Buffer
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 2*MaxLineSize)
	for sc.Scan() {
		r, err := Parse(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		joined.Write(r.Content)
		if !r.Partial {
			joined.WriteByte('\n')
		}
	}
	if want := strings.ReplaceAll(in, "\r\n", "\n"); joined.String() != want {
		t.Errorf("joined %d bytes, want %d", joined.Len(), len(want))
	}
}

func TestParse(t *testing.T) {
	ts := "2016-10-06T00:17:09.669794202Z"
	tm, _ := time.Parse(time.RFC3339Nano, ts)
	tests := []struct {
		line    string
		want    Record
		wantErr string
	}{
		{ts + " stdout F log content 1\n", Record{tm, Stdout, false, []byte("log content 1")}, ""},
		{ts + " stderr P log content 2", Record{tm, Stderr, true, []byte("log content 2")}, ""},
		{ts + " stdout F \n", Record{tm, Stdout, false, []byte{}}, ""},
		{ts + " stdout P:extra:tags x", Record{tm, Stdout, true, []byte("x")}, ""},
		{ts + " stdout F:x  two  spaces ", Record{tm, Stdout, false, []byte(" two  spaces ")}, ""},
		{ts + " stdout F a\r", Record{tm, Stdout, false, []byte("a\r")}, ""},
		{ts + " stdout F a\n\n", Record{tm, Stdout, false, []byte("a\n")}, ""},               // only one newline is the terminator
		{ts + " stdout X unknown tag", Record{tm, Stdout, false, []byte("unknown tag")}, ""}, // kubelet: not P means full
		{"2016-10-06T02:17:09+02:00 stdout F z", Record{time.Date(2016, 10, 6, 0, 17, 9, 0, time.UTC), Stdout, false, []byte("z")}, ""},
		{"", Record{}, "timestamp is not found"},
		{"nospace", Record{}, "timestamp is not found"},
		{"2016-10-06 stdout F x", Record{}, "unexpected timestamp format"},
		{ts + " stdin F x", Record{}, "unexpected stream type"},
		{ts + " stdout", Record{}, "stream type is not found"},
		{ts + " stdout F", Record{}, "log tag is not found"},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.line))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error %v, want %q", tt.line, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.line, err)
			continue
		}
		if !got.Time.Equal(tt.want.Time) || got.Stream != tt.want.Stream || got.Partial != tt.want.Partial || !bytes.Equal(got.Content, tt.want.Content) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

// Every record reaches dst in exactly one Write call.
func TestOneWritePerRecord(t *testing.T) {
	var calls []string
	dst := writerFunc(func(p []byte) (int, error) {
		calls = append(calls, string(p))
		return len(p), nil
	})
	w := NewWriter(dst, Stdout, fixedNow)
	w.Write([]byte("a\nb"))
	w.Write([]byte(strings.Repeat("c", MaxLineSize+5) + "\nd"))
	w.Close()
	if len(calls) != 4 { // F a, P and F of "b"+c..., P d
		t.Fatalf("%d writes", len(calls))
	}
	for _, c := range calls {
		if strings.Count(c, "\n") != 1 || !strings.HasSuffix(c, "\n") {
			t.Errorf("write %q is not one record", c)
		}
		if _, err := Parse([]byte(c)); err != nil {
			t.Error(err)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A failing destination loses records but does not stop the draining.
func TestWriteErrors(t *testing.T) {
	errFull := errors.New("disk full")
	var good []string
	n := 0
	dst := writerFunc(func(p []byte) (int, error) {
		n++
		if n == 2 {
			return 0, errFull
		}
		good = append(good, string(p))
		return len(p), nil
	})
	in := strings.NewReader("one\ntwo\nthree\nfour")
	if err := Copy(dst, Stderr, in, fixedNow); !errors.Is(err, errFull) {
		t.Fatalf("Copy error %v", err)
	}
	if in.Len() != 0 || len(good) != 3 || !strings.HasSuffix(good[2], " stderr P four\n") {
		t.Errorf("left %d, wrote %q", in.Len(), good)
	}

	w := NewWriter(io.Discard, Stdout, nil)
	w.Close()
	if _, err := w.Write([]byte("x")); err != ErrClosed {
		t.Errorf("write after close: %v", err)
	}
	if err := Copy(io.Discard, "stdin", strings.NewReader(""), nil); err == nil {
		t.Error("Copy accepted stream stdin")
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestCopyReadError(t *testing.T) {
	boom := errors.New("boom")
	var out bytes.Buffer
	err := Copy(&out, Stdout, io.MultiReader(strings.NewReader("partial"), errReader{boom}), fixedNow)
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if got := records(t, out.Bytes(), Stdout); fmt.Sprint(got) != fmt.Sprint([]rec{{'P', "partial"}}) {
		t.Errorf("got %v", got)
	}
}

// Two streams sharing a LockedWriter never interleave within a record.
func TestSharedDestination(t *testing.T) {
	var buf bytes.Buffer
	dst := NewLockedWriter(&buf)
	line := strings.Repeat("y", 100) + "\n"
	var wg sync.WaitGroup
	for _, s := range []string{Stdout, Stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Copy(dst, s, iotestOneByte(strings.Repeat(line, 200)), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		r, err := Parse(sc.Bytes())
		if err != nil || r.Partial || string(r.Content)+"\n" != line {
			t.Fatalf("bad record %q: %v", sc.Bytes(), err)
		}
		count[r.Stream]++
	}
	if count[Stdout] != 200 || count[Stderr] != 200 {
		t.Errorf("counts %v", count)
	}
}

// iotestOneByte reads s in small pieces to interleave the two streams more.
func iotestOneByte(s string) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		if s == "" {
			return 0, io.EOF
		}
		n := copy(p[:min(len(p), 7)], s)
		s = s[n:]
		return n, nil
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func FuzzParse(f *testing.F) {
	f.Add([]byte("2016-10-06T00:17:09.669794202Z stdout F log content 1\n"))
	f.Add([]byte("2016-10-06T00:17:09.669794202+02:00 stderr P:x a b"))
	f.Add([]byte("2016-10-06T00:17:09Z stdout F \r\n"))
	f.Add([]byte("x y z"))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := Parse(line)
		if err != nil {
			return
		}
		if bytes.IndexByte(r.Content, '\n') >= 0 {
			return // Append's precondition; such records are not written by a Writer
		}
		again, err := Parse(r.Append(nil))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", r.Append(nil), err)
		}
		if !again.Time.Equal(r.Time) || again.Stream != r.Stream || again.Partial != r.Partial || !bytes.Equal(again.Content, r.Content) {
			t.Fatalf("round trip: %+v != %+v", again, r)
		}
	})
}

func BenchmarkCopy(b *testing.B) {
	// Typical log output: lines of 20 to 200 bytes, a long line now and then.
	rng := rand.New(rand.NewPCG(3, 4))
	var in bytes.Buffer
	for in.Len() < 4<<20 {
		n := 20 + rng.IntN(180)
		if rng.IntN(1000) == 0 {
			n = 40 * 1024
		}
		in.WriteString(strings.Repeat("z", n))
		in.WriteByte('\n')
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Copy(io.Discard, Stdout, bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}
