package probe

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The kubelet's gRPC probe (pkg/probe/grpc/grpc.go) is grpc-go's blocking dial plus one
// grpc.health.v1.Health/Check call. minipod makes that call with net/http's client, which speaks
// plaintext HTTP/2 with prior knowledge as gRPC does, rather than linking grpc-go into every
// pod's monitor. Where the kubelet's output quotes a grpc-go status, minipod prints one in the
// same form ("rpc error: code = <code> desc = <desc>"), with grpc-go's descriptions for what
// servers commonly answer and net/http's error text for failures of the transport.

// grpcMaxRecvMsgSize is grpc-go's defaultClientMaxReceiveMessageSize.
const grpcMaxRecvMsgSize = 4 << 20

// The gRPC status codes (google.golang.org/grpc/codes) that minipod produces or looks for.
const (
	codeCanceled          = 1
	codeUnknown           = 2
	codeDeadlineExceeded  = 4
	codeResourceExhausted = 8
	codeUnimplemented     = 12
	codeInternal          = 13
	codeUnavailable       = 14
)

var grpcCodeNames = [...]string{
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
	"OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
}

// httpStatusCodes is grpc-go's HTTPStatusConvTab: the code of a non-gRPC HTTP answer (Unknown if
// not listed). A plain HTTP/2 server without the health route answers 404, which is how such a
// server "does not implement the grpc health protocol".
var httpStatusCodes = map[int]uint64{400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}

// rpcError is a non-OK gRPC status; its text is grpc-go's status error text, which the kubelet
// embeds in "error: health rpc probe failed: %+v".
type rpcError struct {
	code uint64
	desc string
}

func (e *rpcError) Error() string {
	name := fmt.Sprintf("Code(%d)", e.code)
	if e.code < uint64(len(grpcCodeNames)) {
		name = grpcCodeNames[e.code]
	}
	return fmt.Sprintf("rpc error: code = %s desc = %s", name, e.desc)
}

func rpcErrorf(code uint64, format string, args ...any) *rpcError {
	return &rpcError{code: code, desc: fmt.Sprintf(format, args...)}
}

// GRPC runs a grpc probe (pkg/probe/grpc/grpc.go::Probe): a grpc.health.v1.Health/Check call
// for service over plaintext HTTP/2 to host:port, sending userAgent ("kube-probe/<maj>.<min>";
// grpc-go appends " grpc-go/<version>" to it, minipod sends it as given).
//
// ctx must carry the probe's timeoutSeconds as its deadline; the timeout quoted in the output is
// the time left in ctx when GRPC starts. Unlike grpc-go's blocking dial, which the kubelet uses,
// a connection that cannot be made (refused, unreachable) is not retried until the deadline: the
// probe fails at once with the dial's error.
//
// Only a SERVING answer is a Success ("service healthy"); everything else is a Failure, with the
// kubelet's output:
//
//   - `timeout: failed to connect service "<addr>" within <timeout>: context deadline exceeded`
//   - `error: failed to connect service at "<addr>": <dial error, or context canceled>`
//   - `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): <desc>`
//     (grpc-status 12, or HTTP status 404)
//   - `timeout: health rpc did not complete within <timeout>`
//   - `error: health rpc probe failed: rpc error: code = <code> desc = <desc>`
//   - `service unhealthy (responded with "NOT_SERVING")` (or UNKNOWN, SERVICE_UNKNOWN, a number)
//
// No connection or goroutine outlives the call. The error result is always nil.
func GRPC(ctx context.Context, host string, port int, service string, userAgent string) (Result, string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	// The kubelet's messages print the probe's timeout ("1s"): the time left in ctx, rounded to
	// hide the microseconds since the caller's context.WithTimeout ("999.98ms").
	var timeout time.Duration
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline).Round(10 * time.Millisecond)
	}

	// A transport of the call's own, whose connections are all closed when the call ends, even
	// one whose dial completes only afterwards (net/http lets dials outlive their request).
	callDone, endCall := context.WithCancel(context.Background())
	defer endCall()
	var connected atomic.Bool
	transport := &http.Transport{
		Protocols: new(http.Protocols),
		DialContext: func(dialCtx context.Context, network, address string) (net.Conn, error) {
			conn, err := probeDialer.DialContext(dialCtx, network, address)
			if err == nil {
				connected.Store(true)
				context.AfterFunc(callDone, func() { _ = conn.Close() })
			}
			return conn, err
		},
		DisableKeepAlives:      true,     // the HTTP/2 connection closes after its one call
		DisableCompression:     true,     // no Accept-Encoding: gzip
		MaxResponseHeaderBytes: 64 << 10, // a health check's response headers are tiny
	}
	transport.Protocols.SetUnencryptedHTTP2(true) // alone: HTTP/2 with prior knowledge
	defer transport.CloseIdleConnections()        // also cancels a dial still running

	status, err := healthCheck(ctx, transport, addr, service, userAgent)
	var rpcErr *rpcError
	switch {
	case err == nil && status == 1:
		return Success, "service healthy", nil
	case err == nil:
		name := strconv.Itoa(int(status)) // protobuf-go's String of an unknown enum number
		if status >= 0 && status < 4 {
			name = [...]string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}[status]
		}
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", name), nil
	case !connected.Load():
		err = cmp.Or(ctx.Err(), err) // ctx's error rather than the dial's "i/o timeout", as grpc-go
		if errors.Is(err, context.DeadlineExceeded) {
			return Failure, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err), nil
		}
		return Failure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	case errors.As(err, &rpcErr): // the server's answer
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		rpcErr = rpcErrorf(codeDeadlineExceeded, "%v", context.DeadlineExceeded)
	case ctx.Err() != nil:
		rpcErr = rpcErrorf(codeCanceled, "%v", ctx.Err())
	default: // the transport failed
		rpcErr = rpcErrorf(codeUnavailable, "%v", err)
	}
	switch rpcErr.code {
	case codeUnimplemented:
		return Failure, fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", rpcErr.desc), nil
	case codeDeadlineExceeded:
		return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
	}
	return Failure, fmt.Sprintf("error: health rpc probe failed: %+v", rpcErr), nil
}

// healthCheck makes the call and returns HealthCheckResponse.status, or the call's status as an
// *rpcError, or net/http's error.
func healthCheck(ctx context.Context, transport *http.Transport, addr, service, userAgent string) (int32, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/grpc.health.v1.Health/Check",
		bytes.NewReader(encodeHealthCheckRequest(service)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	req.Header.Set("User-Agent", userAgent) // "" sends none rather than Go's
	if deadline, ok := ctx.Deadline(); ok {
		req.Header.Set("Grpc-Timeout", encodeGRPCTimeout(time.Until(deadline))) // the server may give up too
	}
	resp, err := transport.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		code := cmp.Or(httpStatusCodes[resp.StatusCode], codeUnknown)
		return 0, rpcErrorf(code, "unexpected HTTP status code received from server: %d (%s)", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/grpc" && !strings.HasPrefix(ct, "application/grpc+") && !strings.HasPrefix(ct, "application/grpc;") {
		return 0, rpcErrorf(codeUnknown, "transport: received unexpected content-type %q", ct)
	}
	// Reading to the end of the body is what fills in resp.Trailer. The limit leaves room for
	// the 5-byte prefix of a second message, which is an error too.
	const limit = 5 + grpcMaxRecvMsgSize + 5
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return 0, err
	}
	// The status is in the trailers, or in the headers of a call rejected at once ("trailers-only").
	trailer := resp.Header
	maps.Copy(trailer, resp.Trailer)
	v := trailer.Get("Grpc-Status")
	code, err := strconv.ParseUint(v, 10, 32)
	switch {
	case len(body) == limit: // the body was cut short, which decodeHealthCheckResponse reports
	case err != nil:
		return 0, rpcErrorf(codeInternal, "transport: missing or malformed grpc-status %q", v)
	case code != 0:
		msg := trailer.Get("Grpc-Message")
		if m, err := url.PathUnescape(msg); err == nil { // grpc-message is percent-encoded
			msg = m
		}
		return 0, &rpcError{code: code, desc: msg}
	}
	return decodeHealthCheckResponse(body)
}

// decodeHealthCheckResponse reads the single message of a call that ended with status OK, as
// grpc-go's recvMsg and parser do, and returns HealthCheckResponse.status.
func decodeHealthCheckResponse(body []byte) (int32, error) {
	var n uint64 // the message's length, from its prefix
	if len(body) >= 5 {
		n = uint64(binary.BigEndian.Uint32(body[1:5]))
	}
	switch {
	case len(body) == 0:
		return 0, rpcErrorf(codeInternal, "cardinality violation: received no response message from non-server-streaming RPC")
	case n > grpcMaxRecvMsgSize:
		return 0, rpcErrorf(codeResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, grpcMaxRecvMsgSize)
	case uint64(len(body)) != 5+n:
		return 0, rpcErrorf(codeInternal, "grpc: response body of %d bytes is not one message (of %d bytes)", len(body), n)
	case body[0] != 0: // minipod announces no grpc-accept-encoding and has no decompressor
		return 0, rpcErrorf(codeInternal, "grpc: received unsupported payload format %d (compressed messages are not supported)", body[0])
	}
	// HealthCheckResponse{status}: nothing for UNKNOWN (proto3 leaves the default out), else
	// field 1, wire type 0: 0x08 and the status as a varint. That is all protobuf encoders
	// write, as the message has no other field.
	msg := body[5:]
	if len(msg) == 0 {
		return 0, nil
	}
	status, m := binary.Uvarint(msg[1:])
	if msg[0] != 1<<3 || m <= 0 || 1+m != len(msg) {
		return 0, rpcErrorf(codeInternal, "grpc: failed to unmarshal the received message: unexpected encoding % x", msg[:min(len(msg), 16)])
	}
	return int32(status), nil
}

// encodeHealthCheckRequest is the gRPC message (1-byte compression flag, 4-byte length) holding
// grpc.health.v1.HealthCheckRequest{service}: field 1, wire type 2; proto3 omits it when empty.
func encodeHealthCheckRequest(service string) []byte {
	var msg []byte
	if service != "" {
		msg = append(binary.AppendUvarint([]byte{1<<3 | 2}, uint64(len(service))), service...)
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))), msg...)
}

// encodeGRPCTimeout is a grpc-timeout value: milliseconds, rounded up, at most 8 digits.
func encodeGRPCTimeout(d time.Duration) string {
	d = min(max(d, 0), 99999999*time.Millisecond)
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10) + "m"
}
