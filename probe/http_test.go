package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testUserAgent = "kube-probe/1.34"

// splitHostPort gives the host and port of an httptest server URL.
func splitHostPort(t *testing.T, rawURL string) (string, int) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), port
}

// timeoutCtx is a probe context with timeoutSeconds d.
func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// closedPort returns a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestHTTPStatusCodes(t *testing.T) {
	tests := []struct {
		code       int
		body       string
		location   string
		wantResult Result
		wantOutput string
	}{
		{200, "ok", "", Success, "ok"},
		{201, "created", "", Success, "created"},
		{204, "", "", Success, ""},
		{299, "edge", "", Success, "edge"},
		{300, "choices", "", Warning, "Probe terminated redirects, Response body: choices"},
		{302, "moved", "http://localhost:1/elsewhere", Warning, "Probe terminated redirects, Response body: moved"},
		{304, "", "", Warning, "Probe terminated redirects, Response body: "},
		{399, "x", "", Warning, "Probe terminated redirects, Response body: x"},
		{400, "bad", "", Failure, "HTTP probe failed with statuscode: 400"},
		{404, "", "", Failure, "HTTP probe failed with statuscode: 404"},
		{500, "secret detail", "", Failure, "HTTP probe failed with statuscode: 500"},
		{503, "", "", Failure, "HTTP probe failed with statuscode: 503"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				w.WriteHeader(tt.code)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			host, port := splitHostPort(t, srv.URL)

			result, output, err := HTTP(timeoutCtx(t, 5*time.Second), HTTPRequest{Host: host, Port: port, Path: "/healthz", UserAgent: testUserAgent})
			if err != nil {
				t.Fatalf("HTTP() error = %v", err)
			}
			if result != tt.wantResult || output != tt.wantOutput {
				t.Errorf("HTTP() = %v, %q; want %v, %q", result, output, tt.wantResult, tt.wantOutput)
			}
		})
	}
}

func TestHTTPRedirects(t *testing.T) {
	// Another server on the same hostname (127.0.0.1) but another port: still the same host.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "other port")
	}))
	defer other.Close()

	var elsewhereHits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case "/b":
			io.WriteString(w, "landed on b")
		case "/port":
			http.Redirect(w, r, other.URL+"/", http.StatusMovedPermanently)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
		case "/elsewhere":
			w.Header().Set("Location", "http://localhost:1/never")
			w.WriteHeader(http.StatusFound)
			io.WriteString(w, "go away")
		default:
			mu.Lock()
			elsewhereHits++
			mu.Unlock()
		}
	}))
	defer srv.Close()
	host, port := splitHostPort(t, srv.URL)

	tests := []struct {
		path       string
		wantResult Result
		wantOutput string
	}{
		{"/a", Success, "landed on b"},
		{"/port", Success, "other port"},
		{"/elsewhere", Warning, "Probe terminated redirects, Response body: go away"},
		// Go's client quotes the Location of the redirect it refused.
		{"/loop", Failure, `Get "/loop": stopped after 10 redirects`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			result, output, err := HTTP(timeoutCtx(t, 5*time.Second), HTTPRequest{Host: host, Port: port, Path: tt.path})
			if err != nil {
				t.Fatalf("HTTP() error = %v", err)
			}
			if result != tt.wantResult || output != tt.wantOutput {
				t.Errorf("HTTP() = %v, %q; want %v, %q", result, output, tt.wantResult, tt.wantOutput)
			}
		})
	}
	if elsewhereHits != 0 {
		t.Errorf("server got %d unexpected requests", elsewhereHits)
	}
}

func TestHTTPRequestHeaders(t *testing.T) {
	type seen struct {
		header http.Header
		host   string
		close  bool
		uri    string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{header: r.Header.Clone(), host: r.Host, close: r.Close, uri: r.RequestURI}
	}))
	defer srv.Close()
	host, port := splitHostPort(t, srv.URL)

	tests := []struct {
		name      string
		path      string
		headers   []Header
		userAgent string
		check     func(t *testing.T, s seen)
	}{
		{
			name: "defaults", userAgent: testUserAgent,
			check: func(t *testing.T, s seen) {
				wantHeader(t, s.header, "User-Agent", testUserAgent)
				wantHeader(t, s.header, "Accept", "*/*")
				wantHeader(t, s.header, "Accept-Encoding") // compression disabled
				if !s.close {
					t.Error("keep-alive was not disabled (no Connection: close)")
				}
				if s.uri != "/" {
					t.Errorf("request URI = %q, want /", s.uri)
				}
				if s.host != fmt.Sprintf("127.0.0.1:%d", port) {
					t.Errorf("Host = %q", s.host)
				}
			},
		},
		{
			name: "custom headers in order, overriding the defaults", userAgent: testUserAgent,
			path: "/healthz?verbose=1",
			headers: []Header{
				{"X-Custom", "a"}, {"x-custom", "b"}, {"user-agent", "custom/1"},
				{"Accept", "application/json"}, {"Host", "example.com"},
			},
			check: func(t *testing.T, s seen) {
				wantHeader(t, s.header, "X-Custom", "a", "b")
				wantHeader(t, s.header, "User-Agent", "custom/1")
				wantHeader(t, s.header, "Accept", "application/json")
				if s.host != "example.com" {
					t.Errorf("Host = %q, want example.com", s.host)
				}
				if s.uri != "/healthz?verbose=1" {
					t.Errorf("request URI = %q, want /healthz?verbose=1", s.uri)
				}
			},
		},
		{
			name: "an empty Accept removes it", userAgent: testUserAgent,
			headers: []Header{{"Accept", ""}},
			check: func(t *testing.T, s seen) {
				wantHeader(t, s.header, "Accept")
			},
		},
		{
			name: "no user agent leaves Go's", path: "relative",
			check: func(t *testing.T, s seen) {
				wantHeader(t, s.header, "User-Agent", "Go-http-client/1.1")
				if s.uri != "/relative" {
					t.Errorf("request URI = %q, want /relative", s.uri)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, output, err := HTTP(timeoutCtx(t, 5*time.Second), HTTPRequest{
				Host: host, Port: port, Path: tt.path, Headers: tt.headers, UserAgent: tt.userAgent,
			})
			if result != Success || err != nil {
				t.Fatalf("HTTP() = %v, %q, %v; want success", result, output, err)
			}
			tt.check(t, <-got)
		})
	}
}

// wantHeader checks all values of a header; no values means absent.
func wantHeader(t *testing.T, h http.Header, name string, values ...string) {
	t.Helper()
	got := h.Values(name)
	if strings.Join(got, "\x00") != strings.Join(values, "\x00") || len(got) != len(values) {
		t.Errorf("header %s = %q, want %q", name, got, values)
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	tests := []struct {
		size, code int
		wantLen    int
	}{
		{100, 200, 100},
		{maxRespBodyLength, 200, maxRespBodyLength},
		{maxRespBodyLength + 1, 200, maxRespBodyLength},
		{5 * maxRespBodyLength, 200, maxRespBodyLength},
		{5 * maxRespBodyLength, 301, len("Probe terminated redirects, Response body: ") + maxRespBodyLength},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%d", tt.code, tt.size), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.code)
				io.WriteString(w, strings.Repeat("x", tt.size))
			}))
			defer srv.Close()
			host, port := splitHostPort(t, srv.URL)

			_, output, err := HTTP(timeoutCtx(t, 5*time.Second), HTTPRequest{Host: host, Port: port})
			if err != nil {
				t.Fatalf("HTTP() error = %v", err)
			}
			if len(output) != tt.wantLen {
				t.Errorf("len(output) = %d, want %d", len(output), tt.wantLen)
			}
		})
	}
}

func TestHTTPTransportFailures(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	slowHost, slowPort := splitHostPort(t, slow.URL)

	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	plainHost, plainPort := splitHostPort(t, plain.URL)

	refused := closedPort(t)

	tests := []struct {
		name       string
		ctx        func(t *testing.T) context.Context
		req        HTTPRequest
		wantOutput string
	}{
		{
			name:       "timeout",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, 200*time.Millisecond) },
			req:        HTTPRequest{Host: slowHost, Port: slowPort},
			wantOutput: fmt.Sprintf(`Get "http://127.0.0.1:%d/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, slowPort),
		},
		{
			name: "cancelled",
			ctx: func(t *testing.T) context.Context {
				ctx := timeoutCtx(t, 5*time.Second)
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx
			},
			req:        HTTPRequest{Host: slowHost, Port: slowPort},
			wantOutput: fmt.Sprintf(`Get "http://127.0.0.1:%d/": context canceled`, slowPort),
		},
		{
			name:       "connection refused",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, 5*time.Second) },
			req:        HTTPRequest{Host: "127.0.0.1", Port: refused, Path: "/healthz"},
			wantOutput: fmt.Sprintf(`Get "http://127.0.0.1:%d/healthz": dial tcp 127.0.0.1:%d: connect: connection refused`, refused, refused),
		},
		{
			name:       "https to a plain HTTP server",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, 5*time.Second) },
			req:        HTTPRequest{Scheme: "HTTPS", Host: plainHost, Port: plainPort},
			wantOutput: fmt.Sprintf(`Get "https://127.0.0.1:%d/": http: server gave HTTP response to HTTPS client`, plainPort),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			result, output, err := HTTP(tt.ctx(t), tt.req)
			if err != nil {
				t.Fatalf("HTTP() error = %v", err)
			}
			if result != Failure || output != tt.wantOutput {
				t.Errorf("HTTP() = %v, %q; want failure, %q", result, output, tt.wantOutput)
			}
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("HTTP() took %v", elapsed)
			}
		})
	}
}

func TestHTTPS(t *testing.T) {
	protos := make(chan int, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos <- r.ProtoMajor
		io.WriteString(w, "secure")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS() // a self-signed certificate: probes do not verify
	defer srv.Close()
	host, port := splitHostPort(t, srv.URL)

	result, output, err := HTTP(timeoutCtx(t, 5*time.Second), HTTPRequest{Scheme: "HTTPS", Host: host, Port: port})
	if result != Success || output != "secure" || err != nil {
		t.Fatalf("HTTP() = %v, %q, %v; want success, secure", result, output, err)
	}
	// Like the kubelet's transport (SetTransportDefaults), HTTP/2 is offered over TLS.
	if proto := <-protos; proto != 2 {
		t.Errorf("request used HTTP/%d, want HTTP/2", proto)
	}
}

func TestHTTPBodyReadError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
		buf.Flush()
	}))
	defer srv.Close()
	host, port := splitHostPort(t, srv.URL)

	result, output, err := HTTP(timeoutCtx(t, 5*time.Second), HTTPRequest{Host: host, Port: port})
	if result != Failure || output != "" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("HTTP() = %v, %q, %v; want failure, \"\", unexpected EOF", result, output, err)
	}
}

func TestHTTPBadRequest(t *testing.T) {
	result, output, err := HTTP(timeoutCtx(t, time.Second), HTTPRequest{Host: "bad host", Port: 80})
	if result != Unknown || output != "" || err == nil {
		t.Errorf("HTTP() = %v, %q, %v; want unknown with an error", result, output, err)
	}
}

func TestHTTPHook(t *testing.T) {
	type seen struct {
		header http.Header
		path   string
	}
	requests := make(chan seen, 10)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests <- seen{header: r.Header.Clone(), path: r.URL.Path}
		w.WriteHeader(http.StatusInternalServerError) // a hook does not look at the status
		io.WriteString(w, strings.Repeat("x", 3*maxRespBodyLength))
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()
	host, port := splitHostPort(t, srv.URL)

	t.Run("status is ignored", func(t *testing.T) {
		fellBack, err := HTTPHook(timeoutCtx(t, 5*time.Second), HTTPRequest{
			Host: host, Port: port, Path: "/hook", UserAgent: "kube-lifecycle/1.34",
		})
		if fellBack || err != nil {
			t.Fatalf("HTTPHook() = %v, %v; want false, nil", fellBack, err)
		}
		s := <-requests
		wantHeader(t, s.header, "User-Agent", "kube-lifecycle/1.34")
		wantHeader(t, s.header, "Accept", "*/*")
		if s.path != "/hook" {
			t.Errorf("path = %q, want /hook", s.path)
		}
	})

	t.Run("https falls back to http without Authorization", func(t *testing.T) {
		fellBack, err := HTTPHook(timeoutCtx(t, 5*time.Second), HTTPRequest{
			Scheme: "https", Host: host, Port: port, Path: "/hook",
			Headers: []Header{{"Authorization", "Bearer secret"}, {"X-Custom", "kept"}},
		})
		if !fellBack || err != nil {
			t.Fatalf("HTTPHook() = %v, %v; want true, nil", fellBack, err)
		}
		s := <-requests
		wantHeader(t, s.header, "Authorization")
		wantHeader(t, s.header, "X-Custom", "kept")
		if len(requests) != 0 {
			t.Errorf("%d more requests reached the handler", len(requests))
		}
	})

	t.Run("connection refused fails", func(t *testing.T) {
		refused := closedPort(t)
		fellBack, err := HTTPHook(timeoutCtx(t, 5*time.Second), HTTPRequest{Host: "127.0.0.1", Port: refused, Path: "/hook"})
		want := fmt.Sprintf(`Get "http://127.0.0.1:%d/hook": dial tcp 127.0.0.1:%d: connect: connection refused`, refused, refused)
		if fellBack || err == nil || err.Error() != want {
			t.Errorf("HTTPHook() = %v, %v; want false, %s", fellBack, err, want)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := HTTPHook(ctx, HTTPRequest{Host: host, Port: port}); !errors.Is(err, context.Canceled) {
			t.Errorf("HTTPHook() error = %v, want context canceled", err)
		}
	})
}

// TestReadAtMost covers the truncation rule with readers that return short reads.
func TestReadAtMost(t *testing.T) {
	buf := make([]byte, 8)
	for _, tt := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "", false},
		{"abc", "abc", false},
		{"12345678", "12345678", false},
		{"123456789", "12345678", false},
	} {
		n, err := readAtMost(bufio.NewReaderSize(iotestOneByte{strings.NewReader(tt.in)}, 16), buf)
		if got := string(buf[:n]); got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("readAtMost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := readAtMost(io.MultiReader(strings.NewReader("ab"), errReader{}), buf); err == nil {
		t.Error("readAtMost() hid a read error")
	}
}

type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// A plain-HTTP probe redirected to https on the same host follows it over TLS (plainHTTP hands
// https to the shared transport), and a read after Close fails as net/http's bodies do.
func TestHTTPRedirectToHTTPS(t *testing.T) {
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure")
	}))
	defer secure.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, secure.URL+"/", http.StatusFound)
	}))
	defer plain.Close()
	host, port := splitHostPort(t, plain.URL)

	result, output, err := HTTP(timeoutCtx(t, 5*time.Second), HTTPRequest{Host: host, Port: port})
	if result != Success || output != "secure" || err != nil {
		t.Fatalf("HTTP() = %v, %q, %v; want success, secure", result, output, err)
	}

	req, err := http.NewRequest(http.MethodGet, plain.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := plainHTTP{}.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if _, err := res.Body.Read(make([]byte, 1)); !errors.Is(err, errReadOnClosedBody) {
		t.Errorf("Read after Close = %v, want %v", err, errReadOnClosedBody)
	}
	if err := res.Body.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
