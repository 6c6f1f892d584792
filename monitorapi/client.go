package monitorapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"

	"github.com/minipod/minipod/api"
)

// Client calls a pod's monitor. Each call is a connection of its own.
type Client struct {
	socket string
}

// NewClient returns a client of the monitor of the pod whose state directory is podDir.
func NewClient(podDir string) *Client {
	return &Client{socket: filepath.Join(podDir, SocketFile)}
}

// ErrUnavailable is the kind of error a call gets when no monitor answers on the socket:
// it has not started listening yet, or it has exited.
func unavailable(err error) error {
	return &Error{Kind: Unavailable, Message: fmt.Sprintf("pod monitor not reachable: %v", err)}
}

// conn is one call's connection.
type conn struct {
	net.Conn
	r *bufio.Reader
}

// call opens a connection, sends req and reads the reply. The connection stays open for
// what follows the reply; it is closed when ctx ends.
func (c *Client) call(ctx context.Context, req *Request) (*Reply, *conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, nil, unavailable(err)
	}
	cn := &conn{Conn: nc, r: bufio.NewReader(nc)}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	fail := func(err error) (*Reply, *conn, error) {
		stop()
		nc.Close()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fail(err)
	}
	if _, err := nc.Write(append(b, '\n')); err != nil {
		return fail(unavailable(err))
	}
	line, err := readLine(cn.r)
	if err != nil {
		return fail(unavailable(err))
	}
	var rep Reply
	if err := json.Unmarshal(line, &rep); err != nil {
		return fail(fmt.Errorf("pod monitor reply: %w", err))
	}
	if rep.Error != nil {
		return fail(rep.Error)
	}
	return &rep, cn, nil
}

// readLine reads one line, at most MaxLine long (a status holds a whole pod).
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, part...)
		if len(line) > MaxLine {
			return nil, fmt.Errorf("line longer than %d bytes", MaxLine)
		}
		if !isPrefix {
			return line, nil
		}
	}
}

// MaxLine bounds a reply or watch line: a pod object with its status.
const MaxLine = 16 << 20

// unary makes a call that ends with its reply.
func (c *Client) unary(ctx context.Context, req *Request) (*Reply, error) {
	rep, cn, err := c.call(ctx, req)
	if err != nil {
		return nil, err
	}
	cn.Close()
	return rep, nil
}

// Status returns the pod with its current status.
func (c *Client) Status(ctx context.Context) (*api.Pod, error) {
	rep, err := c.unary(ctx, &Request{Op: OpStatus})
	if err != nil {
		return nil, err
	}
	return rep.Pod, nil
}

// Stop asks the monitor to stop the pod; grace overrides terminationGracePeriodSeconds, and
// remove has the monitor remove the pod (status, logs) once stopped. It returns once the stop
// has begun; the monitor's exit (its lock released) marks the end.
func (c *Client) Stop(ctx context.Context, grace *int64, remove bool) error {
	_, err := c.unary(ctx, &Request{Op: OpStop, GracePeriodSeconds: grace, Remove: remove})
	return err
}

// ReopenLog makes the monitor reopen a container's log file.
func (c *Client) ReopenLog(ctx context.Context, container string) error {
	_, err := c.unary(ctx, &Request{Op: OpReopenLog, Container: container})
	return err
}

// SetMetadata replaces the pod's labels and annotations and returns the pod.
func (c *Client) SetMetadata(ctx context.Context, md Metadata) (*api.Pod, error) {
	rep, err := c.unary(ctx, &Request{Op: OpMetadata, Metadata: &md})
	if err != nil {
		return nil, err
	}
	return rep.Pod, nil
}

// Containers lists the pod's container instances.
func (c *Client) Containers(ctx context.Context) ([]Container, error) {
	rep, err := c.unary(ctx, &Request{Op: OpContainers})
	if err != nil {
		return nil, err
	}
	return rep.Containers, nil
}

// AddEphemeralContainer adds an ephemeral container, a Kubernetes v1 EphemeralContainer as
// JSON, to the running pod, and returns the pod as updated. A container the API server would
// refuse is an *Error of kind Invalid with its causes.
func (c *Client) AddEphemeralContainer(ctx context.Context, ec json.RawMessage) (*api.Pod, error) {
	rep, err := c.unary(ctx, &Request{Op: OpAddEphemeralContainer, EphemeralContainer: ec})
	if err != nil {
		return nil, err
	}
	return rep.Pod, nil
}

// Watch is an open watch stream.
type Watch struct {
	cn *conn
}

// Watch opens a watch stream: the current status and the pod's events so far, then every
// change. It ends (Next returns io.EOF) when the monitor has exited.
func (c *Client) Watch(ctx context.Context) (*Watch, error) {
	_, cn, err := c.call(ctx, &Request{Op: OpWatch})
	if err != nil {
		return nil, err
	}
	return &Watch{cn: cn}, nil
}

// Next returns the next watch event; io.EOF once the monitor is gone.
func (w *Watch) Next() (*WatchEvent, error) {
	line, err := readLine(w.cn.r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil, io.EOF
		}
		return nil, err
	}
	var ev WatchEvent
	if err := json.Unmarshal(line, &ev); err != nil {
		return nil, fmt.Errorf("watch event: %w", err)
	}
	return &ev, nil
}

// Close ends the watch.
func (w *Watch) Close() error { return w.cn.Close() }

// Stdio connects a process run by Exec or Attach to the caller. Nil members are not
// connected; Resize delivers terminal size changes.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Resize         <-chan TerminalSize
}

// Exec runs a process in a container of the pod and returns its exit code. req.Op is set.
func (c *Client) Exec(ctx context.Context, req Request, stdio Stdio) (int32, error) {
	req.Op = OpExec
	return c.stream(ctx, &req, stdio)
}

// Attach connects to a container's main process until it exits, returning its exit code.
func (c *Client) Attach(ctx context.Context, req Request, stdio Stdio) (int32, error) {
	req.Op = OpAttach
	return c.stream(ctx, &req, stdio)
}

func (c *Client) stream(ctx context.Context, req *Request, stdio Stdio) (int32, error) {
	req.Stdin = req.Stdin || stdio.Stdin != nil
	_, cn, err := c.call(ctx, req)
	if err != nil {
		return 0, err
	}
	defer cn.Close()
	var wmu sync.Mutex // frames from the stdin and resize goroutines
	send := func(ch byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return WriteFrame(cn, ch, p)
	}
	done := make(chan struct{})
	defer close(done)
	if stdio.Stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := stdio.Stdin.Read(buf)
				if n > 0 && send(ChannelStdin, buf[:n]) != nil {
					return
				}
				if err != nil {
					send(ChannelClose, []byte{ChannelStdin})
					return
				}
			}
		}()
	}
	if stdio.Resize != nil {
		go func() {
			for {
				select {
				case s := <-stdio.Resize:
					b, _ := json.Marshal(s)
					if send(ChannelResize, b) != nil {
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	var buf []byte
	for {
		ch, p, err := ReadFrame(cn.r, buf)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, unavailable(fmt.Errorf("stream broke: %w", err))
		}
		buf = p[:0]
		switch ch {
		case ChannelStdout:
			if stdio.Stdout != nil {
				stdio.Stdout.Write(p)
			}
		case ChannelStderr:
			if stdio.Stderr != nil {
				stdio.Stderr.Write(p)
			}
		case ChannelStatus:
			var st ExitStatus
			if err := json.Unmarshal(p, &st); err != nil {
				return 0, fmt.Errorf("exit status: %w", err)
			}
			if st.Error != "" {
				return st.ExitCode, &Error{Kind: FailedPrecondition, Message: st.Error}
			}
			return st.ExitCode, nil
		}
	}
}
