package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/probe"
)

// serve runs h like main does, on a free 127.0.0.1 port.
func serve(t *testing.T, h http.Handler) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: &protocols}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
}

func TestHealthServer(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		start      time.Time
		servingFor time.Duration
		service    string
		wantResult probe.Result
		wantOutput string
	}{
		{"serving forever", now.Add(-time.Hour), 0, "", probe.Success, "service healthy"},
		{"still serving", now, time.Hour, "", probe.Success, "service healthy"},
		{"no longer serving", now.Add(-time.Minute), time.Second, "", probe.Failure, `service unhealthy (responded with "NOT_SERVING")`},
		{
			"unknown service", now, 0, "other", probe.Failure,
			"error: health rpc probe failed: rpc error: code = NotFound desc = unknown service",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := serve(t, newHealthServer(tt.start, tt.servingFor))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			result, output, err := probe.GRPC(ctx, host, port, tt.service, "kube-probe/1.34")
			if result != tt.wantResult || output != tt.wantOutput || err != nil {
				t.Errorf("GRPC() = %v, %q, %v; want %v, %q", result, output, err, tt.wantResult, tt.wantOutput)
			}
		})
	}
}

func TestReadCheckRequest(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"\x00\x00\x00\x00\x00", "", false},
		{"\x00\x00\x00\x00\x05\x0a\x03abc", "abc", false},
		{"\x00\x00\x00\x00\x07\x08\x01\x0a\x03abc", "abc", false}, // an unknown varint field first
		{"\x00\x00\x00", "", true},
		{"\x01\x00\x00\x00\x00", "", true},
		{"\x00\x00\x00\x00\x05\x0a\x09abc", "", true},
		{"\x00\xff\xff\xff\xff", "", true},
	}
	for _, tt := range tests {
		got, err := readCheckRequest(strings.NewReader(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("readCheckRequest(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
