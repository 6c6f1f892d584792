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
	"syscall"
	"testing"
	"time"
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
		prefixOnly bool // wantOutput ends in an error text of net/http's
	}{
		{"serving", serving(1), Success, "service healthy", false},
		{"not serving", serving(2), Failure, `service unhealthy (responded with "NOT_SERVING")`, false},
		{"service unknown", serving(3), Failure, `service unhealthy (responded with "SERVICE_UNKNOWN")`, false},
		{"unknown (empty message)", serving(0), Failure, `service unhealthy (responded with "UNKNOWN")`, false},
		{"enum value without a name", serving(7), Failure, `service unhealthy (responded with "7")`, false},
		{
			name: "negative enum number (a 10-byte varint)",
			handler: func(w http.ResponseWriter, r *http.Request) {
				msg := []byte{1 << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
				respond(w, grpcFrame(msg), "Grpc-Status", "0")
			},
			wantResult: Failure, wantOutput: `service unhealthy (responded with "-1")`,
		},
		{
			name: "a message with other fields than status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				msg := []byte{1 << 3, 1, 2<<3 | 2, 3, 'a', 'b', 'c'}
				respond(w, grpcFrame(msg), "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = grpc: failed to unmarshal the received message: unexpected encoding 08 01 12 03 61 62 63",
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
			wantOutput: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unexpected HTTP status code received from server: 404 (Not Found)`,
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
			wantOutput: healthError + `Unknown desc = transport: received unexpected content-type ""`,
		},
		{
			name: "error status with a percent-encoded message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respondStatus(w, "5", "unknown%20service%3A%0Ax%E2%9C%93")
			},
			wantResult: Failure,
			wantOutput: healthError + "NotFound desc = unknown service:\nx\u2713",
		},
		{
			name: "grpc-message with an invalid escape is kept as sent",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respondStatus(w, "5", "100% down")
			},
			wantResult: Failure,
			wantOutput: healthError + "NotFound desc = 100% down",
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
			wantOutput: healthError + `Internal desc = transport: missing or malformed grpc-status "ok"`,
		},
		{
			name: "trailers without grpc-status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame(statusMessage(1)), "X-Other", "1")
			},
			wantResult: Failure,
			wantOutput: healthError + `Internal desc = transport: missing or malformed grpc-status ""`,
		},
		{
			name: "no trailers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame(statusMessage(1)))
			},
			wantResult: Failure,
			wantOutput: healthError + `Internal desc = transport: missing or malformed grpc-status ""`,
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
			wantOutput: healthError + "Internal desc = grpc: response body of 14 bytes is not one message (of 2 bytes)",
		},
		{
			name: "truncated message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame(statusMessage(1))[:6], "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = grpc: response body of 6 bytes is not one message (of 2 bytes)",
		},
		{
			name: "invalid protobuf",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, grpcFrame([]byte{1 << 3}), "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = grpc: failed to unmarshal the received message: unexpected encoding 08",
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
			wantOutput: healthError + "Internal desc = grpc: received unsupported payload format 1 (compressed messages are not supported)",
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
			name: "body beyond the size limit",
			handler: func(w http.ResponseWriter, r *http.Request) {
				respond(w, append(grpcFrame(statusMessage(1)), make([]byte, 5<<20)...), "Grpc-Status", "0")
			},
			wantResult: Failure,
			wantOutput: healthError + "Internal desc = grpc: response body of 4194314 bytes is not one message (of 2 bytes)",
		},
		{
			name: "stream reset",
			handler: func(w http.ResponseWriter, r *http.Request) {
				panic(http.ErrAbortHandler) // net/http resets the stream with INTERNAL_ERROR
			},
			wantResult: Failure,
			wantOutput: healthError + "Unavailable desc = stream error: stream ID 1; INTERNAL_ERROR",
			prefixOnly: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := h2cServer(t, tt.handler)
			result, output, err := GRPC(timeoutCtx(t, 2*time.Second), host, port, "", testUserAgent)
			match := output == tt.wantOutput || tt.prefixOnly && strings.HasPrefix(output, tt.wantOutput)
			if result != tt.wantResult || !match || err != nil {
				t.Errorf("GRPC() = %v, %q, %v\nwant %v, %q, nil", result, output, err, tt.wantResult, tt.wantOutput)
			}
		})
	}
}

// TestGRPCRequest checks the request a gRPC server sees, for several service names (the long
// ones need multi-byte lengths and, past 64 KiB, HTTP/2 flow-control updates).
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
			wantHeader(t, s.header, "Accept-Encoding")
			if v := s.header.Get("Grpc-Timeout"); !timeoutValue.MatchString(v) {
				t.Errorf("grpc-timeout = %q", v)
			}
		})
	}
}

// hangingPort returns a 127.0.0.1 port whose connection attempts hang: its listener's accept
// queue (backlog 0) is full and never drained, so Linux drops further SYNs.
func hangingPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	for range 8 {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err != nil {
			return port // this attempt hung: the queue is full
		}
		t.Cleanup(func() { conn.Close() })
	}
	t.Skip("cannot make connection attempts hang: the accept queue does not fill")
	return 0
}

func TestGRPCConnectAndRPCFailures(t *testing.T) {
	slowHost, slowPort := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	// An HTTP/1-only server answers the HTTP/2 preface with an HTTP/1 response.
	http1 := httptest.NewServer(serving(1))
	defer http1.Close()
	http1Host, http1Port := splitHostPort(t, http1.URL)
	refused, hanging := closedPort(t), hangingPort(t)

	tests := []struct {
		name        string
		timeout     time.Duration
		cancelAfter time.Duration // cancel ctx before its deadline
		host        string
		port        int
		wantOutput  string
		prefixOnly  bool // wantOutput ends in an error text of net/http's
		minElapsed  time.Duration
	}{
		{
			name:       "connect timeout",
			timeout:    300 * time.Millisecond,
			host:       "127.0.0.1",
			port:       hanging,
			wantOutput: fmt.Sprintf(`timeout: failed to connect service "127.0.0.1:%d" within 300ms: context deadline exceeded`, hanging),
			minElapsed: 250 * time.Millisecond,
		},
		{
			name:        "cancelled while connecting",
			timeout:     5 * time.Second,
			cancelAfter: 100 * time.Millisecond,
			host:        "127.0.0.1",
			port:        hanging,
			wantOutput:  fmt.Sprintf(`error: failed to connect service at "127.0.0.1:%d": context canceled`, hanging),
			minElapsed:  50 * time.Millisecond,
		},
		{
			name:       "connection refused",
			timeout:    5 * time.Second,
			host:       "127.0.0.1",
			port:       refused,
			wantOutput: fmt.Sprintf(`error: failed to connect service at "127.0.0.1:%d": dial tcp 127.0.0.1:%d: connect: connection refused`, refused, refused),
		},
		{
			name:       "rpc timeout",
			timeout:    300 * time.Millisecond,
			host:       slowHost,
			port:       slowPort,
			wantOutput: "timeout: health rpc did not complete within 300ms",
			minElapsed: 250 * time.Millisecond,
		},
		{
			name:        "cancelled during the call",
			timeout:     5 * time.Second,
			cancelAfter: 200 * time.Millisecond,
			host:        slowHost,
			port:        slowPort,
			wantOutput:  "error: health rpc probe failed: rpc error: code = Canceled desc = context canceled",
			minElapsed:  150 * time.Millisecond,
		},
		{
			name:    "not an HTTP/2 server",
			timeout: 5 * time.Second,
			host:    http1Host,
			port:    http1Port,
			// "http2: failed reading the frame payload: [...] looked like an HTTP/1.1 header",
			// or a write error if the server has hung up already.
			wantOutput: "error: health rpc probe failed: rpc error: code = Unavailable desc = ",
			prefixOnly: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := timeoutCtx(t, tt.timeout)
			if tt.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			start := time.Now()
			result, output, err := GRPC(ctx, tt.host, tt.port, "", testUserAgent)
			elapsed := time.Since(start)
			match := output == tt.wantOutput || tt.prefixOnly && strings.HasPrefix(output, tt.wantOutput)
			if result != Failure || !match || err != nil {
				t.Errorf("GRPC() = %v, %q, %v\nwant failure, %q, nil", result, output, err, tt.wantOutput)
			}
			if elapsed < tt.minElapsed || elapsed > 3*time.Second {
				t.Errorf("GRPC() took %v", elapsed)
			}
		})
	}
}

func TestEncodeGRPCTimeout(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0m"},
		{0, "0m"},
		{time.Nanosecond, "1m"},
		{time.Millisecond, "1m"},
		{time.Millisecond + time.Nanosecond, "2m"},
		{999999 * time.Microsecond, "1000m"},
		{30 * time.Minute, "1800000m"},
		{100000 * time.Hour, "99999999m"},
		{time.Duration(1<<63 - 1), "99999999m"},
	} {
		if got := encodeGRPCTimeout(tt.d); got != tt.want {
			t.Errorf("encodeGRPCTimeout(%v) = %q, want %q", tt.d, got, tt.want)
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

// FuzzDecodeHealthCheckResponse: any response body decodes or fails, never panics, and a
// status encoded as protobuf does decodes to itself.
func FuzzDecodeHealthCheckResponse(f *testing.F) {
	f.Add([]byte{}, int64(1))
	f.Add([]byte{0x08, 0x01}, int64(2))
	f.Add([]byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, int64(-1))
	f.Add([]byte{0x12, 0x05, 'a'}, int64(1<<40))
	f.Add([]byte{0x0b}, int64(0))
	f.Fuzz(func(t *testing.T, msg []byte, status int64) {
		decodeHealthCheckResponse(msg)
		decodeHealthCheckResponse(grpcFrame(msg))
		// protobuf-go writes an enum as the varint of its int32, sign-extended.
		want := int32(status)
		got, err := decodeHealthCheckResponse(grpcFrame(binary.AppendUvarint([]byte{1 << 3}, uint64(int64(want)))))
		if got != want || err != nil {
			t.Errorf("status %d decodes to %d, %v", want, got, err)
		}
	})
}

// TestNoGoroutineLeak: probes leave nothing running behind them, on the client or (since the
// client closes its connections) on the server, whether they succeed or fail.
func TestNoGoroutineLeak(t *testing.T) {
	httpSrv := httptest.NewServer(serving(1))
	defer httpSrv.Close()
	httpsSrv := httptest.NewUnstartedServer(serving(1))
	httpsSrv.EnableHTTP2 = true
	httpsSrv.StartTLS()
	defer httpsSrv.Close()
	grpcHost, grpcPort := h2cServer(t, serving(1))
	_, slowPort := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	_, notFoundPort := h2cServer(t, http.NotFoundHandler())
	_, resetPort := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }))
	refusedPort, hangPort := closedPort(t), hangingPort(t)
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
		// gRPC failures: RPC timeout and cancellation, connection refused, connect timeout and
		// cancellation (the dial outlives the request in net/http), HTTP 404, stream reset, an
		// HTTP/1 server.
		for _, p := range []struct {
			port        int
			cancelAfter time.Duration
		}{{slowPort, 0}, {slowPort, 15 * time.Millisecond}, {refusedPort, 0}, {hangPort, 0}, {hangPort, 15 * time.Millisecond}, {notFoundPort, 0}, {resetPort, 0}, {httpPort, 0}} {
			timeout := 15 * time.Millisecond
			if p.cancelAfter > 0 {
				timeout = 2 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			if p.cancelAfter > 0 {
				time.AfterFunc(p.cancelAfter, cancel)
			}
			r, out, err := GRPC(ctx, grpcHost, p.port, "", testUserAgent)
			cancel()
			if r != Failure {
				t.Fatalf("GRPC(port %d) = %v, %q, %v; want a failure", p.port, r, out, err)
			}
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
