package probe

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	open := ln.Addr().(*net.TCPAddr).Port
	refused := closedPort(t)

	tests := []struct {
		name       string
		ctx        func(t *testing.T) context.Context
		port       int
		wantResult Result
		wantOutput string
	}{
		{
			name:       "listening",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, time.Second) },
			port:       open,
			wantResult: Success,
		},
		{
			name:       "connection refused",
			ctx:        func(t *testing.T) context.Context { return timeoutCtx(t, time.Second) },
			port:       refused,
			wantResult: Failure,
			wantOutput: fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused", refused),
		},
		{
			name: "cancelled",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			port:       open,
			wantResult: Failure,
			wantOutput: fmt.Sprintf("dial tcp 127.0.0.1:%d: operation was canceled", open),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, output, err := TCP(tt.ctx(t), "127.0.0.1", tt.port)
			if result != tt.wantResult || output != tt.wantOutput || err != nil {
				t.Errorf("TCP() = %v, %q, %v; want %v, %q, nil", result, output, err, tt.wantResult, tt.wantOutput)
			}
		})
	}
}

// TestProbeDialerLinger checks the socket option that keeps probe sockets out of a long
// TIME-WAIT.
func TestProbeDialerLinger(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := probeDialer.DialContext(timeoutCtx(t, time.Second), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var linger *unix.Linger
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		linger, sockErr = unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER)
	}); err != nil {
		t.Fatal(err)
	}
	if sockErr != nil {
		t.Fatal(sockErr)
	}
	if linger.Onoff != 1 || linger.Linger != 1 {
		t.Errorf("SO_LINGER = %+v, want on, 1 s", *linger)
	}
}
