package probe

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// plainHTTP is the round tripper of httpGet probes: plain HTTP goes over one connection per
// request, dialled, written and read on the probing goroutine; https goes to probeTransport
// (HTTP/2 by ALPN, as the kubelet's). http.Client on top keeps net/http's redirect rules,
// headers and error texts.
//
// Why not probeTransport for plain HTTP too: with keep-alives off it still runs every request
// on two or three fresh goroutines (the dial, the connection's read and write loops). Each
// grows its stack through net/http's deep call chains, and every stack growth walks the
// frames' tables in the binary's read-only data, which a probe every second keeps resident
// (README Performance, "Probes"). Here a probe is a dial, one write and one read on the
// probe's own goroutine, whose stack is already grown.
type plainHTTP struct{}

func (plainHTTP) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return probeTransport.RoundTrip(req)
	}
	ctx := req.Context()
	conn, err := probeDialer.DialContext(ctx, "tcp", canonicalAddr(req))
	if err != nil {
		return nil, err
	}
	// The request's I/O ends when its context does (Client.Timeout ends it the same way), and
	// only then: a deadline set on the connection could expire a moment before the context
	// does, and the probe would report an i/o timeout where the kubelet reports the context's.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	res, br, err := exchange(conn, req)
	if err != nil {
		stop()
		conn.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			// What http.Transport returns for a request whose context ended.
			return nil, ctxErr
		}
		return nil, err
	}
	res.Body = &connBody{Reader: res.Body, br: br, conn: conn, stop: stop, ctx: ctx}
	return res, nil
}

// exchange writes req, as http.Transport would with keep-alives and compression off, and
// reads the response head with a pooled reader, which the body keeps.
func exchange(conn net.Conn, req *http.Request) (*http.Response, *bufio.Reader, error) {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(conn)
	out := *req
	out.Close = true // "Connection: close", as the transport with DisableKeepAlives sends
	err := out.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	if err != nil {
		return nil, nil, err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	res, err := http.ReadResponse(br, req)
	if err != nil {
		putReader(br)
		return nil, nil, err
	}
	return res, br, nil
}

// Pooled: a probe every second would otherwise allocate them anew each time.
var (
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1024) }}
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
)

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readers.Put(br)
}

// connBody closes the connection with the body, and reports the request's end as the
// transport does when its context ends during the read.
type connBody struct {
	io.Reader
	br   *bufio.Reader
	conn net.Conn
	stop func() bool
	ctx  context.Context
}

func (b *connBody) Read(p []byte) (int, error) {
	if b.br == nil {
		return 0, errReadOnClosedBody
	}
	n, err := b.Reader.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() != nil {
		return n, b.ctx.Err()
	}
	return n, err
}

// errReadOnClosedBody is net/http's text for the same mistake.
var errReadOnClosedBody = errors.New("http: read on closed response body")

func (b *connBody) Close() error {
	if b.br == nil {
		return nil // closed before
	}
	b.stop()
	err := b.conn.Close()
	putReader(b.br)
	b.br = nil
	return err
}

// canonicalAddr is net/http's canonicalAddr for http URLs: host:port, port 80 when absent.
func canonicalAddr(req *http.Request) string {
	port := req.URL.Port()
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(req.URL.Hostname(), port)
}
