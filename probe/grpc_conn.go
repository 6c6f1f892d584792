package probe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The HTTP/2 side of the gRPC probe: one connection carrying one stream, driven by the calling
// goroutine. Wherever its behaviour shows in a probe's output it follows grpc-go's client
// transport.

// grpcBackoff is grpc-go's DefaultExponential back-off between connection attempts: 1 s, then
// growing by 1.6 with ±20 % jitter up to 120 s.
func grpcBackoff(retries int) time.Duration {
	const baseDelay, maxDelay = float64(time.Second), float64(120 * time.Second)
	if retries == 0 {
		return time.Duration(baseDelay)
	}
	backoff := baseDelay
	for ; backoff < maxDelay && retries > 0; retries-- {
		backoff *= 1.6
	}
	backoff = min(backoff, maxDelay)
	backoff *= 1 + 0.2*(rand.Float64()*2-1)
	return time.Duration(backoff)
}

// dialGRPC connects like grpc.DialContext with WithBlock: an attempt succeeds once the server's
// HTTP/2 SETTINGS arrived (grpc-go's READY); failed attempts are retried after grpcBackoff until
// ctx ends, and then only ctx's error is returned, as grpc-go does.
func dialGRPC(ctx context.Context, addr string) (*h2Conn, error) {
	for retries := 0; ; retries++ {
		conn, err := connectH2(ctx, addr)
		if err == nil {
			return conn, nil
		}
		if err := ctxDone(ctx); err != nil {
			return nil, err
		}
		timer := time.NewTimer(grpcBackoff(retries))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// aLongTimeAgo is a deadline that makes pending and future I/O on a connection fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// h2Conn is a client HTTP/2 connection that carries one stream (ID 1), driven by the calling
// goroutine alone: no reader goroutine, nothing left running after close.
type h2Conn struct {
	ctx      context.Context
	nc       net.Conn
	bw       *bufio.Writer
	fr       *http2.Framer
	stopFunc func() bool // unregisters the cancellation hook

	henc *hpack.Encoder
	hbuf bytes.Buffer

	// What the server allows us to send.
	maxFrameSize  uint32
	initialWindow int64
	connWindow    int64
	streamWindow  int64
	pending       []byte // request DATA not yet sent for lack of flow-control window
}

// connectH2 makes one connection attempt: TCP connect (with the probes' dialer), client
// preface and SETTINGS, then the server's SETTINGS, which must be its first frame.
func connectH2(ctx context.Context, addr string) (*h2Conn, error) {
	nc, err := probeDialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(deadline)
	}
	c := &h2Conn{
		ctx:           ctx,
		nc:            nc,
		bw:            bufio.NewWriterSize(nc, 1024),
		maxFrameSize:  http2MaxFrameLen,
		initialWindow: http2InitialWindow,
		connWindow:    http2InitialWindow,
		streamWindow:  http2InitialWindow,
	}
	// Cancellation interrupts blocked reads and writes; the deadline is already on the socket.
	c.stopFunc = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
	c.fr = http2.NewFramer(c.bw, bufio.NewReaderSize(nc, 4096))
	c.fr.SetMaxReadFrameSize(http2MaxFrameLen)
	c.fr.MaxHeaderListSize = grpcMaxHeaderListSize
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.henc = hpack.NewEncoder(&c.hbuf)

	if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
		c.close()
		return nil, fmt.Errorf("write HTTP/2 preface to %s: %w", addr, err)
	}
	// Nothing is pushed to a gRPC client; saying so keeps stray streams away.
	_ = c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0})
	if err := c.bw.Flush(); err != nil {
		c.close()
		return nil, fmt.Errorf("write HTTP/2 preface to %s: %w", addr, err)
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.close()
		return nil, fmt.Errorf("read HTTP/2 server preface from %s: %w", addr, err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		c.close()
		return nil, fmt.Errorf("read HTTP/2 server preface from %s: first frame is %v, not SETTINGS", addr, f.Header().Type)
	}
	c.applySettings(sf)
	return c, nil
}

func (c *h2Conn) close() {
	c.stopFunc()
	_ = c.nc.Close()
}

// applySettings takes the server's limits on what we send, and acknowledges them.
func (c *h2Conn) applySettings(sf *http2.SettingsFrame) {
	_ = sf.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingMaxFrameSize:
			if s.Val >= http2MaxFrameLen && s.Val < 1<<24 {
				c.maxFrameSize = s.Val
			}
		case http2.SettingInitialWindowSize:
			if s.Val <= 1<<31-1 {
				c.streamWindow += int64(s.Val) - c.initialWindow
				c.initialWindow = int64(s.Val)
			}
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	_ = c.fr.WriteSettingsAck()
}

// flush sends what the framer buffered. Write errors are not reported: a broken connection
// also fails the next read, which decides the outcome, and a server that answered before it
// went away still has its answer read.
func (c *h2Conn) flush() { _ = c.bw.Flush() }

// sendPending sends as much of the request DATA as flow control allows.
func (c *h2Conn) sendPending() {
	for len(c.pending) > 0 {
		n := min(int64(len(c.pending)), int64(c.maxFrameSize), c.connWindow, c.streamWindow)
		if n <= 0 {
			return
		}
		_ = c.fr.WriteData(1, n == int64(len(c.pending)), c.pending[:n])
		c.pending = c.pending[n:]
		c.connWindow -= n
		c.streamWindow -= n
	}
}

// healthCheck sends the Check request on stream 1 and reads the answer: the status from the
// response message, or the gRPC error the call ended with.
func (c *h2Conn) healthCheck(addr, service, userAgent string) (int32, *rpcError) {
	if err := ctxDone(c.ctx); err != nil {
		return 0, ctxRPCError(err)
	}
	// protobuf-go refuses to marshal a proto3 string that is not UTF-8, so grpc-go fails the
	// call before sending it.
	if !utf8.ValidString(service) {
		return 0, rpcErrorf(codeInternal, "grpc: error while marshaling: string field contains invalid UTF-8")
	}

	c.hbuf.Reset()
	fields := [...]hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: grpcHealthCheckPath},
		{Name: ":authority", Value: addr},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "user-agent", Value: userAgent},
		{Name: "te", Value: "trailers"},
	}
	for _, f := range fields {
		if f.Name == "user-agent" && f.Value == "" {
			continue
		}
		_ = c.henc.WriteField(f)
	}
	if deadline, ok := c.ctx.Deadline(); ok {
		// Lets the server give up when the probe does.
		_ = c.henc.WriteField(hpack.HeaderField{Name: "grpc-timeout", Value: encodeGRPCTimeout(time.Until(deadline))})
	}
	c.writeHeaderBlock(c.hbuf.Bytes())
	c.pending = encodeHealthCheckRequest(service)
	c.sendPending()
	c.flush()

	return c.readResponse()
}

// writeHeaderBlock sends the request HEADERS, split into CONTINUATION frames if it is larger
// than a frame (only a huge user agent or address makes it so).
func (c *h2Conn) writeHeaderBlock(block []byte) {
	size := int(c.maxFrameSize)
	first := min(len(block), size)
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID:      1,
		BlockFragment: block[:first],
		EndHeaders:    first == len(block),
	})
	for rest := block[first:]; len(rest) > 0; {
		n := min(len(rest), size)
		_ = c.fr.WriteContinuation(1, n == len(rest), rest[:n])
		rest = rest[n:]
	}
}

// readResponse reads frames until stream 1 ends, handling the connection-level frames on the
// way, and turns the response into the call's result as grpc-go's client would.
func (c *h2Conn) readResponse() (int32, *rpcError) {
	var (
		gotHeaders   bool
		recvCompress string
		body         []byte
	)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if err := ctxDone(c.ctx); err != nil {
				return 0, ctxRPCError(err)
			}
			var se http2.StreamError
			if errors.As(err, &se) {
				if se.StreamID != 1 {
					continue
				}
				desc := "received invalid frame"
				if detail := c.fr.ErrorDetail(); detail != nil {
					desc = detail.Error()
				}
				return 0, &rpcError{code: h2ErrCode(se.Code), desc: desc}
			}
			return 0, rpcErrorf(codeUnavailable, "error reading from server: %v", err)
		}

		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.applySettings(f)
				c.sendPending()
				c.flush()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = c.fr.WritePing(true, f.Data)
				c.flush()
			}
		case *http2.WindowUpdateFrame:
			switch f.StreamID {
			case 0:
				c.connWindow += int64(f.Increment)
			case 1:
				c.streamWindow += int64(f.Increment)
			}
			c.sendPending()
			c.flush()
		case *http2.GoAwayFrame:
			if f.LastStreamID < 1 {
				return 0, rpcErrorf(codeUnavailable, "the stream is rejected because server is draining the connection")
			}
		case *http2.RSTStreamFrame:
			if f.StreamID != 1 {
				continue
			}
			code := h2ErrCode(f.ErrCode)
			if code == codeCanceled && ctxDone(c.ctx) != nil {
				// The server most likely cancelled because our grpc-timeout ran out.
				code = codeDeadlineExceeded
			}
			return 0, rpcErrorf(code, "stream terminated by RST_STREAM with error code: %v", f.ErrCode)
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			initial := !gotHeaders
			gotHeaders = true
			st, encoding := responseStatus(f, initial)
			if initial {
				recvCompress = encoding
			}
			if st == nil {
				continue // response headers; the message and trailers follow
			}
			if st.code != codeOK {
				return 0, st
			}
			return decodeHealthCheckResponse(body, recvCompress)
		case *http2.DataFrame:
			if f.StreamID != 1 {
				continue
			}
			body = append(body, f.Data()...)
			if rpcErr := checkBodySize(body); rpcErr != nil {
				return 0, rpcErr
			}
			if f.StreamEnded() {
				return 0, rpcErrorf(codeInternal, "server closed the stream without sending trailers")
			}
			// Give back the window the frame used, so that a large answer is not stalled.
			if n := f.Header().Length; n > 0 {
				_ = c.fr.WriteWindowUpdate(0, n)
				_ = c.fr.WriteWindowUpdate(1, n)
				c.flush()
			}
		}
	}
}
