package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// The kubelet's gRPC probe (pkg/probe/grpc/grpc.go) is grpc-go's blocking dial plus one
// grpc.health.v1.Health/Check call. minipod speaks the few frames of that exchange itself over
// plaintext HTTP/2 (prior knowledge) instead of linking grpc-go into every pod's monitor; where
// the kubelet's output quotes a grpc-go status, the status is derived as grpc-go derives it
// (google.golang.org/grpc/internal/transport/http2_client.go, rpc_util.go, stream.go).

const (
	grpcHealthCheckPath = "/grpc.health.v1.Health/Check"
	// grpcMaxRecvMsgSize is grpc-go's defaultClientMaxReceiveMessageSize.
	grpcMaxRecvMsgSize = 4 << 20
	// http2MaxFrameLen is the frame size both sides start with (and the only one minipod
	// accepts: it never announces a larger SETTINGS_MAX_FRAME_SIZE), as grpc-go.
	http2MaxFrameLen = 16384
	// http2InitialWindow is the HTTP/2 default flow-control window of streams and connections.
	http2InitialWindow = 65535
	// grpcMaxHeaderListSize bounds the response headers kept in memory: a health check's are tiny.
	grpcMaxHeaderListSize = 64 << 10
)

// grpc.health.v1.HealthCheckResponse.ServingStatus.
const servingStatusServing = 1

// servingStatusName is protobuf-go's String for the enum: unknown numbers print as digits.
func servingStatusName(s int32) string {
	switch s {
	case 0:
		return "UNKNOWN"
	case 1:
		return "SERVING"
	case 2:
		return "NOT_SERVING"
	case 3:
		return "SERVICE_UNKNOWN"
	}
	return strconv.Itoa(int(s))
}

// grpcCode is a gRPC status code (google.golang.org/grpc/codes).
type grpcCode uint32

const (
	codeOK                grpcCode = 0
	codeCanceled          grpcCode = 1
	codeUnknown           grpcCode = 2
	codeDeadlineExceeded  grpcCode = 4
	codeResourceExhausted grpcCode = 8
	codePermissionDenied  grpcCode = 7
	codeUnimplemented     grpcCode = 12
	codeInternal          grpcCode = 13
	codeUnavailable       grpcCode = 14
	codeUnauthenticated   grpcCode = 16
)

var grpcCodeNames = [...]string{
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
	"OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
}

func (c grpcCode) String() string {
	if int(c) < len(grpcCodeNames) {
		return grpcCodeNames[c]
	}
	return "Code(" + strconv.FormatInt(int64(c), 10) + ")"
}

// rpcError is a non-OK gRPC status; its text is grpc-go's status error text, which the kubelet
// embeds in "error: health rpc probe failed: %+v".
type rpcError struct {
	code grpcCode
	desc string
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("rpc error: code = %s desc = %s", e.code, e.desc)
}

func rpcErrorf(code grpcCode, format string, args ...any) *rpcError {
	return &rpcError{code: code, desc: fmt.Sprintf(format, args...)}
}

// ctxRPCError is grpc-go's status for an RPC ended by its context (status.FromContextError).
func ctxRPCError(err error) *rpcError {
	if errors.Is(err, context.DeadlineExceeded) {
		return &rpcError{code: codeDeadlineExceeded, desc: err.Error()}
	}
	return &rpcError{code: codeCanceled, desc: err.Error()}
}

// httpStatusCodes is grpc-go's HTTPStatusConvTab: a non-gRPC HTTP answer becomes this code
// (Unknown for statuses not listed). A plain HTTP/2 server without the health route answers 404,
// which is how such a server "does not implement the grpc health protocol".
var httpStatusCodes = map[int]grpcCode{
	http.StatusBadRequest:         codeInternal,
	http.StatusUnauthorized:       codeUnauthenticated,
	http.StatusForbidden:          codePermissionDenied,
	http.StatusNotFound:           codeUnimplemented,
	http.StatusTooManyRequests:    codeUnavailable,
	http.StatusBadGateway:         codeUnavailable,
	http.StatusServiceUnavailable: codeUnavailable,
	http.StatusGatewayTimeout:     codeUnavailable,
}

// h2ErrCodes is grpc-go's http2ErrConvTab, for a stream reset by the server.
var h2ErrCodes = map[http2.ErrCode]grpcCode{
	http2.ErrCodeNo:                 codeInternal,
	http2.ErrCodeProtocol:           codeInternal,
	http2.ErrCodeInternal:           codeInternal,
	http2.ErrCodeFlowControl:        codeResourceExhausted,
	http2.ErrCodeSettingsTimeout:    codeInternal,
	http2.ErrCodeStreamClosed:       codeInternal,
	http2.ErrCodeFrameSize:          codeInternal,
	http2.ErrCodeRefusedStream:      codeUnavailable,
	http2.ErrCodeCancel:             codeCanceled,
	http2.ErrCodeCompression:        codeInternal,
	http2.ErrCodeConnect:            codeInternal,
	http2.ErrCodeEnhanceYourCalm:    codeResourceExhausted,
	http2.ErrCodeInadequateSecurity: codePermissionDenied,
	http2.ErrCodeHTTP11Required:     codeInternal,
}

func h2ErrCode(c http2.ErrCode) grpcCode {
	if code, ok := h2ErrCodes[c]; ok {
		return code
	}
	return codeUnknown
}

// GRPC runs a grpc probe (pkg/probe/grpc/grpc.go::Probe): a grpc.health.v1.Health/Check call
// for service over plaintext HTTP/2 to host:port, sending userAgent ("kube-probe/<maj>.<min>";
// grpc-go appends " grpc-go/<version>" to it, minipod sends it as given).
//
// ctx must carry the probe's timeoutSeconds as its deadline: like grpc-go's blocking dial, a
// connection that cannot be made (refused, not HTTP/2) is retried with back-off until ctx ends,
// and the timeout quoted in the output is the time left in ctx when GRPC starts.
//
// Only a SERVING answer is a Success ("service healthy"); everything else is a Failure, with the
// kubelet's output:
//
//   - `timeout: failed to connect service "<addr>" within <timeout>: context deadline exceeded`
//   - `error: failed to connect service at "<addr>": context canceled` (ctx cancelled first)
//   - `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): <desc>`
//   - `timeout: health rpc did not complete within <timeout>`
//   - `error: health rpc probe failed: rpc error: code = <code> desc = <desc>`
//   - `service unhealthy (responded with "NOT_SERVING")` (or UNKNOWN, SERVICE_UNKNOWN, a number)
//
// The error result is always nil.
func GRPC(ctx context.Context, host string, port int, service string, userAgent string) (Result, string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	timeout := probeTimeout(ctx)

	conn, err := dialGRPC(ctx, addr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return Failure, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err), nil
		}
		return Failure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	}
	defer conn.close()

	status, rpcErr := conn.healthCheck(addr, service, userAgent)
	if rpcErr != nil {
		switch rpcErr.code {
		case codeUnimplemented:
			return Failure, fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", rpcErr.desc), nil
		case codeDeadlineExceeded:
			return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %+v", rpcErr), nil
	}
	if status != servingStatusServing {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", servingStatusName(status)), nil
	}
	return Success, "service healthy", nil
}

// probeTimeout is the time left in ctx, which the kubelet's messages print as its configured
// timeout ("1s"). Rounding to 10 ms hides the microseconds spent between the caller's
// context.WithTimeout and this call, which would otherwise print as "999.98ms".
func probeTimeout(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return time.Until(deadline).Round(10 * time.Millisecond)
}

// ctxDone is ctx's error, or DeadlineExceeded once the deadline has passed even if the
// context's timer has not fired yet (a connection deadline at the same instant may have).
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// encodeHealthCheckRequest is the gRPC message (1-byte compression flag, 4-byte length) holding
// grpc.health.v1.HealthCheckRequest{service}: field 1, wire type 2; proto3 omits it when empty.
func encodeHealthCheckRequest(service string) []byte {
	msgLen := 0
	if service != "" {
		msgLen = 1 + varintLen(uint64(len(service))) + len(service)
	}
	b := make([]byte, 5, 5+msgLen)
	binary.BigEndian.PutUint32(b[1:5], uint32(msgLen))
	if service != "" {
		b = append(b, 1<<3|2)
		b = binary.AppendUvarint(b, uint64(len(service)))
		b = append(b, service...)
	}
	return b
}

func varintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// encodeGRPCTimeout is grpc-go's encodeTimeout: the shortest unit whose value, rounded up,
// has at most 8 digits.
func encodeGRPCTimeout(t time.Duration) string {
	const maxValue = 100000000 - 1
	if t <= 0 {
		return "0n"
	}
	units := [...]struct {
		d    time.Duration
		name string
	}{
		{time.Nanosecond, "n"}, {time.Microsecond, "u"}, {time.Millisecond, "m"},
		{time.Second, "S"}, {time.Minute, "M"},
	}
	for _, u := range units {
		if v := divCeil(t, u.d); v <= maxValue {
			return strconv.FormatInt(v, 10) + u.name
		}
	}
	return strconv.FormatInt(divCeil(t, time.Hour), 10) + "H"
}

func divCeil(d, unit time.Duration) int64 {
	if d%unit > 0 {
		return int64(d/unit + 1)
	}
	return int64(d / unit)
}

// responseStatus is grpc-go's operateHeaders for a HEADERS block of the response: nil for
// well-formed response headers (the stream goes on), otherwise the call's final status, from
// the trailers or from a response that is not gRPC. It also returns grpc-encoding.
func responseStatus(f *http2.MetaHeadersFrame, initial bool) (*rpcError, string) {
	endStream := f.StreamEnded()
	if !initial && !endStream {
		return rpcErrorf(codeInternal, "a HEADERS frame cannot appear in the middle of a stream"), ""
	}
	if f.Truncated {
		return rpcErrorf(codeInternal, "peer header list size exceeded limit"), ""
	}

	var (
		isGRPC         = !initial
		contentTypeErr = "malformed header: missing HTTP content-type"
		httpStatusErr  string
		httpStatus     int
		haveHTTPStatus bool
		grpcMessage    string
		recvCompress   string
		rawStatusCode  = codeUnknown
	)
	if initial {
		httpStatusErr = "malformed header: missing HTTP status"
	}
	for _, hf := range f.Fields {
		switch hf.Name {
		case "content-type":
			if !validGRPCContentType(hf.Value) {
				contentTypeErr = fmt.Sprintf("transport: received unexpected content-type %q", hf.Value)
				break
			}
			contentTypeErr = ""
			isGRPC = true
		case "grpc-encoding":
			recvCompress = hf.Value
		case "grpc-status":
			code, err := strconv.ParseInt(hf.Value, 10, 32)
			if err != nil {
				return rpcErrorf(codeInternal, "transport: malformed grpc-status: %v", err), ""
			}
			rawStatusCode = grpcCode(uint32(code))
		case "grpc-message":
			grpcMessage = decodeGRPCMessage(hf.Value)
		case ":status":
			if hf.Value == "200" {
				httpStatusErr = ""
				httpStatus, haveHTTPStatus = 200, true
				break
			}
			code, err := strconv.ParseInt(hf.Value, 10, 32)
			if err != nil {
				return rpcErrorf(codeInternal, "transport: malformed http-status: %v", err), ""
			}
			httpStatus, haveHTTPStatus = int(code), true
			httpStatusErr = fmt.Sprintf("unexpected HTTP status code received from server: %d (%s)",
				httpStatus, http.StatusText(httpStatus))
		}
	}

	if !isGRPC || httpStatusErr != "" {
		code := codeInternal // no HTTP status at all
		if haveHTTPStatus {
			var ok bool
			if code, ok = httpStatusCodes[httpStatus]; !ok {
				code = codeUnknown
			}
		}
		var errs []string
		if httpStatusErr != "" {
			errs = append(errs, httpStatusErr)
		}
		if contentTypeErr != "" {
			errs = append(errs, contentTypeErr)
		}
		return &rpcError{code: code, desc: strings.Join(errs, "; ")}, ""
	}
	if !endStream {
		return nil, recvCompress
	}
	return &rpcError{code: rawStatusCode, desc: grpcMessage}, recvCompress
}

// validGRPCContentType is grpc-go's grpcutil.ContentSubtype check: application/grpc, optionally
// followed by "+codec" or ";parameters".
func validGRPCContentType(ct string) bool {
	const base = "application/grpc"
	if ct == base {
		return true
	}
	if !strings.HasPrefix(ct, base) {
		return false
	}
	switch ct[len(base)] {
	case '+', ';':
		return true
	}
	return false
}

// decodeGRPCMessage undoes grpc-message's percent-encoding (grpc-go's decodeGrpcMessage): a '%'
// not followed by two hex digits stays as it is.
func decodeGRPCMessage(msg string) string {
	if !strings.Contains(msg, "%") {
		return msg
	}
	var sb strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '%' && i+2 < len(msg) {
			if v, err := strconv.ParseUint(msg[i+1:i+3], 16, 8); err == nil {
				sb.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// checkBodySize stops reading a response that cannot be a single acceptable message: one
// declared larger than grpc-go accepts, or a second message after the first.
func checkBodySize(body []byte) *rpcError {
	if len(body) < 5 {
		return nil
	}
	n := binary.BigEndian.Uint32(body[1:5])
	if n > grpcMaxRecvMsgSize {
		return rpcErrorf(codeResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, grpcMaxRecvMsgSize)
	}
	if uint64(len(body)) >= 5+uint64(n)+5 {
		return rpcErrorf(codeInternal, "cardinality violation: expected <EOF> for non server-streaming RPCs, but received another message")
	}
	return nil
}

// decodeHealthCheckResponse reads the single message of a call that ended with status OK, as
// grpc-go's recvMsg and parser do, and returns HealthCheckResponse.status.
func decodeHealthCheckResponse(body []byte, recvCompress string) (int32, *rpcError) {
	if len(body) == 0 {
		return 0, rpcErrorf(codeInternal, "cardinality violation: received no response message from non-server-streaming RPC")
	}
	if len(body) < 5 {
		return 0, rpcErrorf(codeInternal, "%v", io.ErrUnexpectedEOF)
	}
	if rpcErr := checkBodySize(body); rpcErr != nil {
		return 0, rpcErr
	}
	n := binary.BigEndian.Uint32(body[1:5])
	switch body[0] {
	case 0:
	case 1:
		// minipod announces no grpc-accept-encoding and has no decompressor.
		if recvCompress == "" || recvCompress == "identity" {
			return 0, rpcErrorf(codeInternal, "grpc: compressed flag set with identity or empty encoding")
		}
		return 0, rpcErrorf(codeInternal, "grpc: Decompressor is not installed for grpc-encoding %q", recvCompress)
	default:
		return 0, rpcErrorf(codeInternal, "grpc: received unexpected payload format %d", body[0])
	}
	if uint64(len(body)) < 5+uint64(n) {
		return 0, rpcErrorf(codeInternal, "%v", io.ErrUnexpectedEOF)
	}
	if uint64(len(body)) > 5+uint64(n) {
		// A partial second message: grpc-go's next read hits the end of the stream inside it.
		return 0, rpcErrorf(codeInternal, "%v", io.ErrUnexpectedEOF)
	}
	status, err := parseServingStatus(body[5:])
	if err != nil {
		return 0, rpcErrorf(codeInternal, "grpc: failed to unmarshal the received message: %v", err)
	}
	return status, nil
}

var errInvalidWireFormat = errors.New("proto: cannot parse invalid wire-format data")

// parseServingStatus decodes grpc.health.v1.HealthCheckResponse: field 1 (varint enum status),
// the last occurrence winning; other fields, and field 1 with another wire type, are skipped
// as unknown fields, as protobuf-go does.
func parseServingStatus(msg []byte) (int32, error) {
	var status int32
	for len(msg) > 0 {
		tag, n := binary.Uvarint(msg)
		if n <= 0 {
			return 0, errInvalidWireFormat
		}
		msg = msg[n:]
		field, wireType := tag>>3, tag&7
		if field == 0 || field > 1<<29-1 {
			return 0, errInvalidWireFormat
		}
		switch wireType {
		case 0: // varint
			v, n := binary.Uvarint(msg)
			if n <= 0 {
				return 0, errInvalidWireFormat
			}
			msg = msg[n:]
			if field == 1 {
				status = int32(v)
			}
		case 1: // fixed64
			if len(msg) < 8 {
				return 0, errInvalidWireFormat
			}
			msg = msg[8:]
		case 2: // length-delimited
			l, n := binary.Uvarint(msg)
			if n <= 0 || l > uint64(len(msg)-n) {
				return 0, errInvalidWireFormat
			}
			msg = msg[n+int(l):]
		case 5: // fixed32
			if len(msg) < 4 {
				return 0, errInvalidWireFormat
			}
			msg = msg[4:]
		default: // groups (3, 4) never appear in this message; 6 and 7 are invalid
			return 0, errInvalidWireFormat
		}
	}
	return status, nil
}
