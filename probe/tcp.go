package probe

import (
	"context"
	"net"
	"strconv"
	"syscall"
)

// probeDialer is pkg/probe/dialer_others.go::ProbeDialer: SO_LINGER of 1 s shortens TIME-WAIT
// to one second, so frequent probes do not pile up sockets (kubernetes/kubernetes#89898);
// 1 rather than 0 so that the connection still ends with a FIN, not an RST. A net.Dialer is
// safe for concurrent use, so one serves every probe.
var probeDialer = &net.Dialer{
	Control: func(network, address string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			// Best effort, as in the kubelet: a probe is not failed for a missing socket option.
			_ = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER,
				&syscall.Linger{Onoff: 1, Linger: 1})
		})
	},
}

// TCP is pkg/probe/tcp/tcp.go::DoTCPProbe: Success with empty output if a TCP connection to
// host:port can be opened before ctx ends, otherwise Failure with the dial error as output
// (e.g. "dial tcp 10.1.2.3:80: connect: connection refused", or "... i/o timeout" when ctx's
// deadline passes). The error result is always nil.
func TCP(ctx context.Context, host string, port int) (Result, string, error) {
	conn, err := probeDialer.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return Failure, err.Error(), nil
	}
	// The kubelet only logs a failed close: the connection was made, the probe succeeded.
	_ = conn.Close()
	return Success, "", nil
}
