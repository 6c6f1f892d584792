package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/crilog"
)

// stdio holds the standard streams of an instance's main process: the output is copied to
// the CRI log and to attached clients; the input, for a container with stdin, comes from
// attached clients. A tty container has one pseudo-terminal for all three.
type stdio struct {
	log      *crilog.File
	tty      console.Console // the terminal's master side, for a tty container
	stdin    io.WriteCloser  // the process's input, for a stdin container
	once     bool            // stdinOnce: the input closes when the first attach ends
	copiers  sync.WaitGroup
	children []*os.File // the ends the child inherits, closed here once it started

	mu       sync.Mutex
	subs     map[*attachment]struct{}
	attached bool // an attach has happened (stdinOnce)
}

// attachment is one attached client's output.
type attachment struct {
	stdout, stderr io.Writer
}

// newStdio opens the log and connects proc's streams. consoleSocket, for a tty container,
// receives the terminal once the process has started (see started).
func newStdio(cfg Config, proc *libcontainer.Process) (s *stdio, consoleSocket *os.File, err error) {
	log, err := crilog.OpenFile(cfg.LogPath, cfg.LogMaxSize, cfg.LogMaxFiles)
	if err != nil {
		return nil, nil, err
	}
	s = &stdio{log: log, once: cfg.StdinOnce, subs: map[*attachment]struct{}{}}
	defer func() {
		if err != nil {
			s.closeChildren()
			log.Close()
		}
	}()
	if cfg.TTY {
		parent, child, err := socketpair()
		if err != nil {
			return nil, nil, fmt.Errorf("create console socket: %w", err)
		}
		proc.ConsoleSocket = child
		s.children = append(s.children, child)
		return s, parent, nil
	}
	if cfg.Stdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, fmt.Errorf("create stdin pipe: %w", err)
		}
		proc.Stdin, s.stdin = r, w
		s.children = append(s.children, r)
	}
	for _, stream := range []string{crilog.Stdout, crilog.Stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, fmt.Errorf("create %s pipe: %w", stream, err)
		}
		if stream == crilog.Stdout {
			proc.Stdout = w
		} else {
			proc.Stderr = w
		}
		s.children = append(s.children, w)
		s.copy(stream, r)
	}
	return s, nil, nil
}

func socketpair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "console-parent"), os.NewFile(uintptr(fds[1]), "console-child"), nil
}

// started is called once the process has started (or failed to): the child has its copies
// of the streams, so ours go, and a tty container's terminal is received.
func (s *stdio) started(consoleSocket *os.File) error {
	s.closeChildren()
	if consoleSocket == nil {
		return nil
	}
	defer consoleSocket.Close()
	master, err := recvFile(consoleSocket)
	if err != nil {
		return fmt.Errorf("receive the container's terminal: %w", err)
	}
	c, err := console.ConsoleFromFile(master)
	if err != nil {
		master.Close()
		return fmt.Errorf("receive the container's terminal: %w", err)
	}
	s.tty = c
	s.copy(crilog.Stdout, c)
	return nil
}

func (s *stdio) closeChildren() {
	for _, f := range s.children {
		f.Close()
	}
	s.children = nil
}

// copy drains one output stream into the log, as CRI records, and to attached clients. It
// ends when every writer in the container is gone (EOF; EIO for a terminal).
func (s *stdio) copy(stream string, r io.ReadCloser) {
	s.copiers.Add(1)
	go func() {
		defer s.copiers.Done()
		defer r.Close()
		w := crilog.NewWriter(s.log, stream, time.Now)
		defer w.Close()
		out := func(p []byte) {
			w.Write(p)
			s.fanOut(stream, p)
		}
		if f, ok := r.(*os.File); ok {
			if rc, err := f.SyscallConn(); err == nil {
				for {
					if err := readPooled(rc, out); err != nil {
						return
					}
				}
			}
		}
		buf := make([]byte, outputBufferSize)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				out(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
}

const outputBufferSize = 32 << 10

// outputBuffers hold a container's output only while it is being copied, so the streams of a
// quiet container hold none (two 32 KiB buffers per container for the pod's life otherwise).
var outputBuffers = sync.Pool{New: func() any { b := make([]byte, outputBufferSize); return &b }}

// readPooled waits until the pipe behind rc is readable, reads what is there into a pooled
// buffer and gives it to out; io.EOF once every writer is gone.
func readPooled(rc syscall.RawConn, out func([]byte)) error {
	var readErr error
	err := rc.Read(func(fd uintptr) bool {
		bp := outputBuffers.Get().(*[]byte)
		defer outputBuffers.Put(bp)
		for {
			n, err := unix.Read(int(fd), *bp)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return false // empty: wait for the poller, holding no buffer
			case err != nil:
				readErr = err
			case n == 0:
				readErr = io.EOF
			default:
				out((*bp)[:n])
			}
			return true
		}
	})
	if err != nil {
		return err
	}
	return readErr
}

// fanOut writes output to every attached client. A client that cannot keep up is dropped
// rather than stalling the container (its writer is a connection with a write deadline).
func (s *stdio) fanOut(stream string, p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a := range s.subs {
		w := a.stdout
		if stream == crilog.Stderr && a.stderr != nil {
			w = a.stderr
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(p); err != nil {
			delete(s.subs, a)
		}
	}
}

// wait waits until all output is in the log, then closes it.
func (s *stdio) wait() {
	s.copiers.Wait()
	if s.tty != nil {
		s.tty.Close()
	}
	if s.stdin != nil {
		s.stdin.Close()
	}
	s.log.Close()
}

// ErrNoStdin is returned when input is sent to a container without stdin.
var ErrNoStdin = errors.New("the container has no stdin (set stdin: true)")

// Attach connects an attached client: stdout and stderr (stderr nil: both streams go to
// stdout, as with a terminal) receive the main process's output from now on; the returned
// writer, nil for a container without stdin, is its input. detach ends the attachment; with
// stdinOnce the process's input closes with the first attachment.
func (i *Instance) Attach(stdout, stderr io.Writer) (stdin io.Writer, detach func()) {
	s := i.stdio
	a := &attachment{stdout: stdout, stderr: stderr}
	s.mu.Lock()
	s.subs[a] = struct{}{}
	s.attached = true
	s.mu.Unlock()
	switch {
	case s.tty != nil:
		stdin = s.tty
	case s.stdin != nil:
		stdin = s.stdin
	}
	return stdin, func() {
		s.mu.Lock()
		delete(s.subs, a)
		s.mu.Unlock()
		if s.once && s.stdin != nil {
			s.stdin.Close()
		}
	}
}

// ReopenLog reopens the instance's log file, as the CRI's ReopenContainerLog: after someone
// renamed it away, the output goes to a new file at its path.
func (i *Instance) ReopenLog() error { return i.stdio.log.Reopen() }

// TTY reports whether the instance's main process has a terminal.
func (i *Instance) TTY() bool { return i.stdio.tty != nil }

// Resize sets the size of the main process's terminal.
func (i *Instance) Resize(width, height uint16) error {
	if i.stdio.tty == nil {
		return errors.New("the container has no terminal (set tty: true)")
	}
	return i.stdio.tty.Resize(console.WinSize{Width: width, Height: height})
}

// recvFile receives a file descriptor sent with SCM_RIGHTS, as libcontainer sends a
// container's terminal.
func recvFile(socket *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(socket.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("expected one control message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("expected one file descriptor: %v", err)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
