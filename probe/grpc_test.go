package probe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cServer serves h over plaintext HTTP/2 with prior knowledge on 127.0.0.1, as a gRPC
// server listens.
func h2cServer(t *testing.T, h http.Handler) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: &protocols, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
}

// readHealthCheckRequest decodes grpc.health.v1.HealthCheckRequest as a server would.
func readHealthCheckRequest(r *http.Request) (string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", err
	}
	if len(body) < 5 || body[0] != 0 || int(binary.BigEndian.Uint32(body[1:5])) != len(body)-5 {
		return "", fmt.Errorf("bad gRPC message framing: % x", body[:min(len(body), 5)])
	}
	msg, service := body[5:], ""
	for len(msg) > 0 {
		tag, n := binary.Uvarint(msg)
		if n <= 0 || tag != 1<<3|2 {
			return "", fmt.Errorf("unexpected tag %d", tag)
		}
		l, m := binary.Uvarint(msg[n:])
		if m <= 0 || uint64(len(msg)-n-m) < l {
			return "", errors.New("bad string length")
		}
		service = string(msg[n+m : n+m+int(l)])
		msg = msg[n+m+int(l):]
	}
	return service, nil
}

// grpcFrame prefixes a message with the gRPC message header.
func grpcFrame(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))), msg...)
}

// statusMessage is HealthCheckResponse{status} as protobuf encodes it.
func statusMessage(status uint64) []byte {
	if status == 0 {
		return nil // proto3 omits the default
	}
	return binary.AppendUvarint([]byte{1 << 3}, status)
}

// respond answers like a gRPC server: headers, the body as given, then trailers.
func respond(w http.ResponseWriter, body []byte, trailers ...string) {
	w.Header().Set("Content-Type", "application/grpc")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	for i := 0; i+1 < len(trailers); i += 2 {
		w.Header().Set(http.TrailerPrefix+trailers[i], trailers[i+1])
	}
}

// respondStatus answers without a message, with the status in the headers
// ("trailers-only"), as a gRPC server rejects a call.
func respondStatus(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Grpc-Status", code)
	if message != "" {
		w.Header().Set("Grpc-Message", message)
	}
	w.WriteHeader(http.StatusOK)
}

func serving(status uint64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		respond(w, grpcFrame(statusMessage(status)), "Grpc-Status", "0")
	}
}

func TestGRPCResponses(t *testing.T) {
	healthError := "error: health rpc probe failed: rpc error: code = "
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantResult Result
		wantOutput string
	}{
		{"serving", serving(1), Success, "service healthy"},
		{"not serving", serving(2), Failure, `service unhealthy (responded with "NOT_SERVING")`},
		{"service unknown", serving(3), Failure, `service unhealthy (responded with "SERVICE_UNKNOWN")`},
		{"unknown (empty message)", serving(0), Failure, `service unhealthy (responded with "UNKNOWN")`},
		{"enum value without a name", serving(7), Failure, `service unhealthy (responded with "7")`},
		{
			name: "unknown fields are skipped, the last status wins",
			handler: func(w http.ResponseWriter, r *http.Request) {
				msg := []byte{1 << 3, 2, 2<<3 | 2, 3, 'a', 'b', 'c', 3<<3 | 5, 0, 0, 0, 0, 1 << 3, 1}
				respond(w, grpcFrame(msg), "Grpc-Status", "0")
			},
			wantResult: Success, wantOutput: "service healthy",
		},
		{
			name: "unimplemented",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respondStatus(w, "12", "unknown service grpc.health.v1.Health")
			},
			wantResult: Failure,
			wantOutput: "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health",
		},
		{
			name:       "plain HTTP/2 server without the route",
			handler:    http.NotFound,
			wantResult: Failure,
			wantOutput: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unexpected HTTP status code received from server: 404 (Not Found); transport: received unexpected content-type "text/plain; charset=utf-8"`,
		},
		{
			name: "unavailable HTTP status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/grpc")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			wantResult: Failure,
			wantOutput: healthError + "Unavailable desc = unexpected HTTP status code received from server: 503 (Service Unavailable)",
		},
		{
			name: "missing content type",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = nil // keep net/http from sniffing one
				w.Header().Set("Grpc-Status", "0")
				w.WriteHeader(http.StatusOK)
			},
			wantResult: Failure,
			wantOutput: healthError + "Unknown desc = malformed header: missing HTTP content-type",
		},
		{
			name: "error status with a percent-encoded message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respondStatus(w, "5", "unknown%20service%3A%0Ax %zz")
			},
			wantResult: Failure,
			wantOutput: healthError + "NotFound desc = unknown service:\nx %zz",
		},
		{
			name: "error status in the trailers wins over the message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame(statusMessage(1)), "Grpc-Status", "14", "Grpc-Message", "draining")
			},
			wantResult: Failure,
			wantOutput: healthError + "Unavailable desc = draining",
		},
		{
			name: "deadline exceeded status from the server",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respondStatus(w, "4", "too slow")
			},
			wantResult: Failure,
			wantOutput: "timeout: health rpc did not complete within 2s",
		},
		{
			name: "unnamed status code",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respondStatus(w, "42", "odd")
			},
			wantResult: Failure,
			wantOutput: healthError + "Code(42) desc = odd",
		},
		{
			name: "malformed grpc-status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respondStatus(w, "ok", "")
			},
			wantResult: Failure,
			wantOutput: healthError + `Internal desc = transport: malformed grpc-status: strconv.ParseInt: parsing "ok": invalid syntax`,
		},
		{
			name: "trailers without grpc-status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame(statusMessage(1)), "X-Other", "1")
			},
			wantResult: Failure,
			wantOutput: healthError + "Unknown desc = ",
		},
		{
			name: "no trailers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame(statusMessage(1)))
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = server closed the stream without sending trailers",
		},
		{
			name: "OK without a message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, nil, "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = cardinality violation: received no response message from non-server-streaming RPC",
		},
		{
			name: "two messages",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, append(grpcFrame(statusMessage(1)), grpcFrame(statusMessage(1))...), "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = cardinality violation: expected <EOF> for non server-streaming RPCs, but received another message",
		},
		{
			name: "truncated message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame(statusMessage(1))[:6], "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = unexpected EOF",
		},
		{
			name: "invalid protobuf",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame([]byte{1 << 3}), "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = grpc: failed to unmarshal the received message: proto: cannot parse invalid wire-format data",
		},
		{
			name: "compressed message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Grpc-Encoding", "gzip")
				body := grpcFrame(statusMessage(1))
				body[0] = 1
				respond(w, body, "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + `Internal desc = grpc: Decompressor is not installed for grpc-encoding "gzip"`,
		},
		{
			name: "oversized message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, binary.BigEndian.AppendUint32([]byte{0}, 5<<20), "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "ResourceExhausted desc = grpc: received message larger than max (5242880 vs. 4194304)",
		},
		{
			name: "stream reset",
			handler: func(w http.ResponseWriter, r *http.Request) {
				panic(http.ErrAbortHandler) // net/http resets the stream with INTERNAL_ERROR
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = stream terminated by RST_STREAM with error code: INTERNAL_ERROR",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := h2cServer(t, tt.handler)
			result, output, err := GRPC(timeoutCtx(t, 2*time.Second), host, port, "", testUserAgent)
			if result != tt.wantResult || output != tt.wantOutput || err != nil {
				t.Errorf("GRPC() = %v, %q, %v\nwant %v, %q, nil", result, output, err, tt.wantResult, tt.wantOutput)
			}
		})
	}
}

// TestGRPCRequest checks the request a gRPC server sees, for several service names (the long
// ones need multi-byte lengths, several DATA frames and, past 64 KiB, flow-control updates).
func TestGRPCRequest(t *testing.T) {
	type seen struct {
		method, path, proto string
		header              http.Header
		service             string
		err                 error
	}
	requests := make(chan seen, 1)
	host, port := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		service, err := readHealthCheckRequest(r)
		requests <- seen{r.Method, r.URL.Path, r.Proto, r.Header.Clone(), service, err}
		respond(w, grpcFrame(statusMessage(1)), "Grpc-Status", "0")
	}))

	timeoutValue := regexp.MustCompile(`^[0-9]{1,8}[HMSmun]$`)
	for _, service := range []string{"", "my.Service", strings.Repeat("s", 300), strings.Repeat("long", 40000)} {
		t.Run(fmt.Sprintf("service of %d bytes", len(service)), func(t *testing.T) {
			result, output, err := GRPC(timeoutCtx(t, 5*time.Second), host, port, service, testUserAgent)
			if result != Success || output != "service healthy" || err != nil {
				t.Fatalf("GRPC() = %v, %q, %v; want success", result, output, err)
			}
			s := <-requests
			if s.err != nil {
				t.Fatalf("server could not decode the request: %v", s.err)
			}
			if s.service != service {
				t.Errorf("server decoded service of %d bytes, want %d", len(s.service), len(service))
			}
			if s.method != http.MethodPost || s.path != "/grpc.health.v1.Health/Check" || s.proto != "HTTP/2.0" {
				t.Errorf("request = %s %s %s", s.method, s.path, s.proto)
			}
			wantHeader(t, s.header, "Content-Type", "application/grpc")
			wantHeader(t, s.header, "Te", "trailers")
			wantHeader(t, s.header, "User-Agent", testUserAgent)
			if v := s.header.Get("Grpc-Timeout"); !timeoutValue.MatchString(v) {
				t.Errorf("grpc-timeout = %q", v)
			}
		})
	}
}

func TestGRPCInvalidUTF8Service(t *testing.T) {
	host, port := h2cServer(t, serving(1))
	result, output, _ := GRPC(timeoutCtx(t, 2*time.Second), host, port, "bad\xff", testUserAgent)
	want := "error: health rpc probe failed: rpc error: code = Internal desc = grpc: error while marshaling: string field contains invalid UTF-8"
	if result != Failure || output != want {
		t.Errorf("GRPC() = %v, %q; want failure, %q", result, output, want)
	}
}

func TestGRPCTimeouts(t *testing.T) {
	slowHost, slowPort := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	// An HTTP/1-only server never answers the HTTP/2 preface with SETTINGS.
	http1 := httptest.NewServer(serving(1))
	defer http1.Close()
	http1Host, http1Port := splitHostPort(t, http1.URL)
	refused := closedPort(t)

	tests := []struct {
		name       string
		ctx        func(t *testing.T) context.Context
		host       string
		port       int
		wantOutput string
		minElapsed time.Duration
	}{
		{
			name:       "rpc timeout",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, 300*time.Millisecond) },
			host:       slowHost,
			port:       slowPort,
			wantOutput: "timeout: health rpc did not complete within 300ms",
			minElapsed: 250 * time.Millisecond,
		},
		{
			// Like grpc-go's blocking dial, a refused connection is retried until the deadline.
			name:       "connection refused",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, 300*time.Millisecond) },
			host:       "127.0.0.1",
			port:       refused,
			wantOutput: fmt.Sprintf(`timeout: failed to connect service "127.0.0.1:%d" within 300ms: context deadline exceeded`, refused),
			minElapsed: 250 * time.Millisecond,
		},
		{
			name:       "not an HTTP/2 server",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, 300*time.Millisecond) },
			host:       http1Host,
			port:       http1Port,
			wantOutput: fmt.Sprintf(`timeout: failed to connect service "127.0.0.1:%d" within 300ms: context deadline exceeded`, http1Port),
			minElapsed: 250 * time.Millisecond,
		},
		{
			name: "cancelled while connecting",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(timeoutCtx(t, 5*time.Second))
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx
			},
			host:       "127.0.0.1",
			port:       refused,
			wantOutput: fmt.Sprintf(`error: failed to connect service at "127.0.0.1:%d": context canceled`, refused),
		},
		{
			name: "cancelled during the call",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(timeoutCtx(t, 5*time.Second))
				time.AfterFunc(200*time.Millisecond, cancel)
				return ctx
			},
			host:       slowHost,
			port:       slowPort,
			wantOutput: "error: health rpc probe failed: rpc error: code = Canceled desc = context canceled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			result, output, err := GRPC(tt.ctx(t), tt.host, tt.port, "", testUserAgent)
			elapsed := time.Since(start)
			if result != Failure || output != tt.wantOutput || err != nil {
				t.Errorf("GRPC() = %v, %q, %v\nwant failure, %q, nil", result, output, err, tt.wantOutput)
			}
			if elapsed < tt.minElapsed || elapsed > 3*time.Second {
				t.Errorf("GRPC() took %v", elapsed)
			}
		})
	}
}

// rawH2Server runs script on each connection after reading the client preface, for answers
// net/http's server never gives. script must not call t.Fatal (it runs in another goroutine).
func rawH2Server(t *testing.T, script func(fr *http2.Framer, headers func(endStream bool, fields ...string) error)) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(conn, preface); err != nil || string(preface) != http2.ClientPreface {
					t.Errorf("bad client preface %q: %v", preface, err)
					return
				}
				fr := http2.NewFramer(conn, conn)
				var buf bytes.Buffer
				enc := hpack.NewEncoder(&buf)
				headers := func(endStream bool, fields ...string) error {
					buf.Reset()
					for i := 0; i+1 < len(fields); i += 2 {
						enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
					}
					return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: endStream})
				}
				script(fr, headers)
			}()
		}
	}()
	return "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
}

// readUntilRequestEnd reads the client's frames up to the end of its request.
func readUntilRequestEnd(fr *http2.Framer) error {
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamEnded() {
			return nil
		}
	}
}

func TestGRPCConnectionLevel(t *testing.T) {
	healthError := "error: health rpc probe failed: rpc error: code = "
	tests := []struct {
		name       string
		script     func(fr *http2.Framer, headers func(bool, ...string) error)
		wantOutput string
	}{
		{
			name: "pings are answered, then the response is read",
			script: func(fr *http2.Framer, headers func(bool, ...string) error) {
				fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20})
				if err := readUntilRequestEnd(fr); err != nil {
					return
				}
				fr.WritePing(false, [8]byte{1, 2, 3})
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == [8]byte{1, 2, 3} {
						break
					}
				}
				headers(false, ":status", "200", "content-type", "application/grpc+proto")
				fr.WriteData(1, false, grpcFrame(statusMessage(2)))
				headers(true, "grpc-status", "0")
				readUntilRequestEnd(fr) // until the client hangs up
			},
			wantOutput: `service unhealthy (responded with "NOT_SERVING")`,
		},
		{
			name: "goaway before the stream",
			script: func(fr *http2.Framer, headers func(bool, ...string) error) {
				fr.WriteSettings()
				readUntilRequestEnd(fr)
				fr.WriteGoAway(0, http2.ErrCodeNo, nil)
				readUntilRequestEnd(fr)
			},
			wantOutput: healthError + "Unavailable desc = the stream is rejected because server is draining the connection",
		},
		{
			name: "connection closed after the request",
			script: func(fr *http2.Framer, headers func(bool, ...string) error) {
				fr.WriteSettings()
				readUntilRequestEnd(fr)
			},
			wantOutput: healthError + "Unavailable desc = error reading from server: EOF",
		},
		{
			name: "response without :status",
			script: func(fr *http2.Framer, headers func(bool, ...string) error) {
				fr.WriteSettings()
				readUntilRequestEnd(fr)
				headers(true, "content-type", "application/grpc", "grpc-status", "0")
				readUntilRequestEnd(fr)
			},
			wantOutput: healthError + "Internal desc = malformed header: missing HTTP status",
		},
		{
			name: "invalid pseudo header",
			script: func(fr *http2.Framer, headers func(bool, ...string) error) {
				fr.WriteSettings()
				readUntilRequestEnd(fr)
				headers(true, ":status", "200", ":path", "/", "content-type", "application/grpc")
				readUntilRequestEnd(fr)
			},
			wantOutput: healthError + "Internal desc = mix of request and response pseudo headers",
		},
		{
			name: "headers in the middle of the stream",
			script: func(fr *http2.Framer, headers func(bool, ...string) error) {
				fr.WriteSettings()
				readUntilRequestEnd(fr)
				headers(false, ":status", "200", "content-type", "application/grpc")
				headers(false, "x-more", "1")
				readUntilRequestEnd(fr)
			},
			wantOutput: healthError + "Internal desc = a HEADERS frame cannot appear in the middle of a stream",
		},
		{
			name: "stream cancelled by the server",
			script: func(fr *http2.Framer, headers func(bool, ...string) error) {
				fr.WriteSettings()
				readUntilRequestEnd(fr)
				fr.WriteRSTStream(1, http2.ErrCodeCancel)
				readUntilRequestEnd(fr)
			},
			wantOutput: healthError + "Canceled desc = stream terminated by RST_STREAM with error code: CANCEL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := rawH2Server(t, tt.script)
			result, output, err := GRPC(timeoutCtx(t, 2*time.Second), host, port, "", testUserAgent)
			if result != Failure || output != tt.wantOutput || err != nil {
				t.Errorf("GRPC() = %v, %q, %v\nwant failure, %q, nil", result, output, err, tt.wantOutput)
			}
		})
	}
}

// TestGRPCFirstFrameNotSettings: a server whose first frame is not SETTINGS never becomes
// ready, so the dial is retried until the deadline.
func TestGRPCFirstFrameNotSettings(t *testing.T) {
	host, port := rawH2Server(t, func(fr *http2.Framer, headers func(bool, ...string) error) {
		fr.WritePing(false, [8]byte{})
		fr.WriteSettings()
		readUntilRequestEnd(fr)
	})
	result, output, _ := GRPC(timeoutCtx(t, 300*time.Millisecond), host, port, "", testUserAgent)
	want := fmt.Sprintf(`timeout: failed to connect service "127.0.0.1:%d" within 300ms: context deadline exceeded`, port)
	if result != Failure || output != want {
		t.Errorf("GRPC() = %v, %q; want failure, %q", result, output, want)
	}
}

func TestEncodeGRPCTimeout(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0n"},
		{0, "0n"},
		{time.Nanosecond, "1n"},
		{99999999 * time.Nanosecond, "99999999n"},
		{100000000 * time.Nanosecond, "100000u"},
		{time.Second + time.Nanosecond, "1000001u"},
		{time.Second, "1000000u"},
		{30 * time.Minute, "1800000m"},
		{100000 * time.Hour, "6000000M"},
		{2000000 * time.Hour, "2000000H"},
	} {
		if got := encodeGRPCTimeout(tt.d); got != tt.want {
			t.Errorf("encodeGRPCTimeout(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestDecodeGRPCMessage(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a%20b", "a b"},
		{"%41%42%43", "ABC"},
		{"100%", "100%"},
		{"%4", "%4"},
		{"%zz%41", "%zzA"},
		{"%E2%9C%93", "\u2713"},
	} {
		if got := decodeGRPCMessage(tt.in); got != tt.want {
			t.Errorf("decodeGRPCMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeHealthCheckRequest(t *testing.T) {
	for _, tt := range []struct {
		service string
		want    []byte
	}{
		{"", []byte{0, 0, 0, 0, 0}},
		{"a", []byte{0, 0, 0, 0, 3, 0x0a, 1, 'a'}},
		{strings.Repeat("x", 128), append([]byte{0, 0, 0, 0, 131, 0x0a, 0x80, 0x01}, strings.Repeat("x", 128)...)},
	} {
		if got := encodeHealthCheckRequest(tt.service); !bytes.Equal(got, tt.want) {
			t.Errorf("encodeHealthCheckRequest(%q) = % x, want % x", tt.service, got, tt.want)
		}
	}
}

func TestGRPCBackoff(t *testing.T) {
	if got := grpcBackoff(0); got != time.Second {
		t.Errorf("grpcBackoff(0) = %v, want 1s", got)
	}
	for retries, base := range map[int]float64{1: 1.6, 2: 2.56, 20: 120} {
		got := grpcBackoff(retries).Seconds()
		if got < base*0.8-1e-9 || got > base*1.2+1e-9 {
			t.Errorf("grpcBackoff(%d) = %vs, want %vs ±20%%", retries, got, base)
		}
	}
}

// FuzzParseServingStatus: any response bytes decode or fail, never panic.
func FuzzParseServingStatus(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01})
	f.Add([]byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{0x12, 0x05, 'a'})
	f.Add([]byte{0x0b})
	f.Fuzz(func(t *testing.T, msg []byte) {
		parseServingStatus(msg)
		decodeHealthCheckResponse(msg, "")
		decodeHealthCheckResponse(grpcFrame(msg), "")
		checkBodySize(msg)
	})
}

// TestNoGoroutineLeak: probes leave nothing running behind them, on the client or (since the
// client closes its connections) on the server.
func TestNoGoroutineLeak(t *testing.T) {
	httpSrv := httptest.NewServer(serving(1))
	defer httpSrv.Close()
	httpsSrv := httptest.NewUnstartedServer(serving(1))
	httpsSrv.EnableHTTP2 = true
	httpsSrv.StartTLS()
	defer httpsSrv.Close()
	grpcHost, grpcPort := h2cServer(t, serving(1))
	httpHost, httpPort := splitHostPort(t, httpSrv.URL)
	httpsHost, httpsPort := splitHostPort(t, httpsSrv.URL)

	probeAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if r, out, err := HTTP(ctx, HTTPRequest{Host: httpHost, Port: httpPort}); r != Success {
			t.Fatalf("HTTP() = %v, %q, %v", r, out, err)
		}
		if r, out, err := HTTP(ctx, HTTPRequest{Scheme: "https", Host: httpsHost, Port: httpsPort}); r != Success {
			t.Fatalf("HTTPS HTTP() = %v, %q, %v", r, out, err)
		}
		if r, out, err := TCP(ctx, httpHost, httpPort); r != Success {
			t.Fatalf("TCP() = %v, %q, %v", r, out, err)
		}
		if r, out, err := GRPC(ctx, grpcHost, grpcPort, "", testUserAgent); r != Success {
			t.Fatalf("GRPC() = %v, %q, %v", r, out, err)
		}
		if _, err := HTTPHook(ctx, HTTPRequest{Host: httpHost, Port: httpPort}); err != nil {
			t.Fatalf("HTTPHook() = %v", err)
		}
	}
	settle := func(limit int) int {
		n := runtime.NumGoroutine()
		for deadline := time.Now().Add(3 * time.Second); n > limit && time.Now().Before(deadline); n = runtime.NumGoroutine() {
			time.Sleep(20 * time.Millisecond)
		}
		return n
	}
	// The baseline is the count once the servers are idle.
	baseline := runtime.NumGoroutine()
	for stable := 0; stable < 5; {
		time.Sleep(20 * time.Millisecond)
		if n := runtime.NumGoroutine(); n < baseline {
			baseline, stable = n, 0
		} else {
			stable++
		}
	}
	for range 20 {
		probeAll()
	}
	if n := settle(baseline); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after probing, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}
