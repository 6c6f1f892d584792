package monitor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/state"
)

// listen opens the monitor's socket in the pod directory (root only: the directory is 0700
// and the socket 0600).
func listen(dir string) (net.Listener, error) {
	path := filepath.Join(dir, monitorapi.SocketFile)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, nil
}

// serve answers calls until the listener is closed.
func (m *monitor) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go m.handle(c)
	}
}

func (m *monitor) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	line, err := readRequestLine(r)
	if err != nil {
		reply(c, &monitorapi.Reply{Error: monitorapi.Errorf(monitorapi.Invalid, "request: %v", err)})
		return
	}
	var req monitorapi.Request
	if err := json.Unmarshal(line, &req); err != nil {
		reply(c, &monitorapi.Reply{Error: monitorapi.Errorf(monitorapi.Invalid, "request: %v", err)})
		return
	}
	switch req.Op {
	case monitorapi.OpStatus:
		m.mu.Lock()
		pod := m.pod
		b, err := json.Marshal(&monitorapi.Reply{Pod: &pod})
		m.mu.Unlock()
		if err == nil {
			c.Write(append(b, '\n'))
		}
	case monitorapi.OpWatch:
		m.watch(c, r)
	case monitorapi.OpStop:
		if g := req.GracePeriodSeconds; g != nil && *g < 0 {
			reply(c, &monitorapi.Reply{Error: monitorapi.Errorf(monitorapi.Invalid, "gracePeriodSeconds: must not be negative")})
			return
		}
		m.stopFor(state.StopRequest{GracePeriodSeconds: req.GracePeriodSeconds, Remove: req.Remove})
		reply(c, &monitorapi.Reply{})
	case monitorapi.OpContainers:
		reply(c, &monitorapi.Reply{Containers: m.instances()})
	case monitorapi.OpMetadata:
		md := req.Metadata
		if md == nil {
			md = &monitorapi.Metadata{}
		}
		pod, err := m.setMetadata(md.Labels, md.Annotations)
		if err != nil {
			reply(c, &monitorapi.Reply{Error: monitorapi.Errorf(monitorapi.Invalid, "%v", err)})
			return
		}
		reply(c, &monitorapi.Reply{Pod: pod})
	case monitorapi.OpAddEphemeralContainer:
		pod, err := m.addEphemeral(req.EphemeralContainer)
		if err != nil {
			replyErr(c, err)
			return
		}
		reply(c, &monitorapi.Reply{Pod: pod})
	case monitorapi.OpReopenLog:
		w, err := m.worker(req.Container)
		if err == nil {
			err = w.reopenLog()
		}
		replyErr(c, err)
	case monitorapi.OpExec, monitorapi.OpAttach:
		w, err := m.worker(req.Container)
		if err != nil {
			replyErr(c, err)
			return
		}
		if req.Op == monitorapi.OpExec {
			w.exec(c, r, &req)
		} else {
			w.attach(c, r, &req)
		}
	default:
		reply(c, &monitorapi.Reply{Error: monitorapi.Errorf(monitorapi.Invalid, "unknown operation %q", req.Op)})
	}
}

func readRequestLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, more, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		if line = append(line, part...); len(line) > monitorapi.MaxRequest {
			return nil, fmt.Errorf("longer than %d bytes", monitorapi.MaxRequest)
		}
		if !more {
			return line, nil
		}
	}
}

func reply(w io.Writer, rep *monitorapi.Reply) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// replyErr replies with err's kind, or success.
func replyErr(w io.Writer, err error) error {
	if err == nil {
		return reply(w, &monitorapi.Reply{})
	}
	var e *monitorapi.Error
	if !errors.As(err, &e) {
		e = monitorapi.Errorf(monitorapi.Internal, "%v", err)
	}
	return reply(w, &monitorapi.Reply{Error: e})
}

// worker finds a container by name; empty is the first regular container, as kubectl picks.
func (m *monitor) worker(name string) (*worker, error) {
	if name == "" && len(m.regulars) > 0 {
		return m.regulars[0], nil
	}
	for _, w := range append(append([]*worker{}, m.regulars...), m.inits...) {
		if w.c.Name == name {
			return w, nil
		}
	}
	if w := m.ephemeralWorker(name); w != nil {
		return w, nil
	}
	return nil, monitorapi.Errorf(monitorapi.NotFound, "container %q not found in pod %s", name, m.pod.Metadata.Name)
}

// running returns the worker's running instance.
func (w *worker) running() (*container.Instance, error) {
	w.m.mu.Lock()
	inst := w.inst
	w.m.mu.Unlock()
	if inst == nil || inst.State().Status != container.Running {
		return nil, monitorapi.Errorf(monitorapi.FailedPrecondition, "container %s is not running", w.c.Name)
	}
	return inst, nil
}

// instances lists the current instance of every container.
func (m *monitor) instances() []monitorapi.Container {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []monitorapi.Container
	for _, w := range m.allWorkersLocked() {
		if w.inst != nil {
			st := w.inst.State()
			out = append(out, monitorapi.Container{ID: st.ID, Name: st.Name, Attempt: st.Attempt, State: string(st.Status), LogPath: st.LogPath})
		}
	}
	return out
}

func (w *worker) reopenLog() error {
	inst, err := w.running()
	if err != nil {
		return err
	}
	return inst.ReopenLog()
}

// exec runs a process in the container and relays its streams over c (see monitorapi).
func (w *worker) exec(c net.Conn, r *bufio.Reader, req *monitorapi.Request) {
	inst, err := w.running()
	if err != nil {
		replyErr(c, err)
		return
	}
	if len(req.Command) == 0 {
		replyErr(c, monitorapi.Errorf(monitorapi.Invalid, "exec: no command"))
		return
	}
	cfg := container.ExecConfig{Args: req.Command, TTY: req.TTY}
	var toClose []*os.File
	closeAll := func() {
		for _, f := range toClose {
			f.Close()
		}
	}
	pipe := func() (*os.File, *os.File) {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil
		}
		toClose = append(toClose, pr, pw)
		return pr, pw
	}
	var stdinW, stdoutR, stderrR *os.File
	if req.Stdin && !req.TTY {
		cfg.Stdin, stdinW = pipe()
	}
	if !req.TTY {
		stdoutR, cfg.Stdout = pipe()
		stderrR, cfg.Stderr = pipe()
	}
	p, err := inst.Exec(cfg)
	// The process has its copies of the child ends.
	for _, f := range []*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr} {
		if f != nil {
			f.Close()
		}
	}
	if err != nil {
		closeAll()
		replyErr(c, monitorapi.Errorf(monitorapi.FailedPrecondition, "%v", err))
		return
	}
	defer closeAll()
	var in input
	outputs := map[byte]io.Reader{}
	if stdinW != nil {
		in = input{w: stdinW, close: func() { stdinW.Close() }}
	}
	if stdoutR != nil {
		outputs[monitorapi.ChannelStdout], outputs[monitorapi.ChannelStderr] = stdoutR, stderrR
	}
	if p.Console != nil {
		defer p.Console.Close()
		if req.Stdin {
			in.w = p.Console
		}
		outputs[monitorapi.ChannelStdout] = p.Console
		in.resize = func(s monitorapi.TerminalSize) { p.Console.Resize(console.WinSize{Width: s.Width, Height: s.Height}) }
		if req.Size != nil {
			in.resize(*req.Size)
		}
	}
	if err := reply(c, &monitorapi.Reply{}); err != nil {
		p.Signal(unix.SIGKILL)
		p.Wait()
		return
	}
	st := relay(c, r, in, outputs, p.Wait, func() { p.Signal(unix.SIGKILL) })
	monitorapi.WriteJSONFrame(c, monitorapi.ChannelStatus, st)
}

// attach connects c to the container's main process until it exits or the client leaves.
func (w *worker) attach(c net.Conn, r *bufio.Reader, req *monitorapi.Request) {
	inst, err := w.running()
	if err != nil {
		replyErr(c, err)
		return
	}
	if req.TTY && !inst.TTY() {
		replyErr(c, monitorapi.Errorf(monitorapi.Invalid, "container %s has no terminal (tty: true)", w.c.Name))
		return
	}
	if err := reply(c, &monitorapi.Reply{}); err != nil {
		return
	}
	out := &frameWriter{c: c, channel: monitorapi.ChannelStdout}
	errw := &frameWriter{c: c, channel: monitorapi.ChannelStderr}
	var stderr io.Writer = errw
	if inst.TTY() {
		stderr = nil
	}
	stdin, detach := inst.Attach(out, stderr)
	defer detach()
	var in input
	if req.Stdin {
		// The container's input stays open when a client leaves (stdinOnce aside).
		in.w = stdin
	}
	if inst.TTY() {
		in.resize = func(s monitorapi.TerminalSize) { inst.Resize(s.Width, s.Height) }
		if req.Size != nil {
			in.resize(*req.Size)
		}
	}
	// Input from the client until the process exits or the client hangs up.
	clientGone := make(chan struct{})
	go func() {
		defer close(clientGone)
		readInput(r, in)
	}()
	select {
	case <-inst.Exited():
		st := inst.State()
		var code int32
		if st.Exit != nil {
			code = st.Exit.Code
		}
		out.mu.Lock()
		// The last output write's deadline may have passed long ago: the status gets its own.
		c.SetWriteDeadline(time.Now().Add(time.Second))
		monitorapi.WriteJSONFrame(c, monitorapi.ChannelStatus, monitorapi.ExitStatus{ExitCode: code})
		out.mu.Unlock()
	case <-clientGone:
	}
}

// frameWriter writes output to a connection as frames of one channel; a client that does
// not read for a second is dropped.
type frameWriter struct {
	c       net.Conn
	channel byte
	mu      sync.Mutex
}

func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.c.SetWriteDeadline(time.Now().Add(time.Second))
	if err := monitorapi.WriteFrame(f.c, f.channel, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// relay copies an exec'd process's outputs to the client and the client's input to the
// process until the process exits and its output is drained; kill ends the process when the
// client hangs up first.
func relay(c net.Conn, r *bufio.Reader, in input, outputs map[byte]io.Reader, wait func() *container.Exit, kill func()) monitorapi.ExitStatus {
	var wmu sync.Mutex
	var copied sync.WaitGroup
	for ch, src := range outputs {
		copied.Go(func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				if n > 0 {
					wmu.Lock()
					werr := monitorapi.WriteFrame(c, ch, buf[:n])
					wmu.Unlock()
					if werr != nil {
						kill()
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
	clientGone := make(chan struct{})
	go func() {
		readInput(r, in)
		close(clientGone)
	}()
	exited := make(chan *container.Exit, 1)
	go func() { exited <- wait() }()
	var exit *container.Exit
	select {
	case exit = <-exited:
	case <-clientGone:
		kill()
		exit = <-exited
	}
	// Output a child of the process still holds open is not waited for long.
	drained := make(chan struct{})
	go func() { copied.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(100 * time.Millisecond):
		for _, src := range outputs {
			if f, ok := src.(interface{ SetReadDeadline(time.Time) error }); ok {
				f.SetReadDeadline(time.Now())
			}
		}
		<-drained
	}
	wmu.Lock()
	defer wmu.Unlock()
	return monitorapi.ExitStatus{ExitCode: exit.Code}
}

// input is where a client's frames go: its data to w (nil: dropped), close of stdin to
// close, terminal sizes to resize.
type input struct {
	w      io.Writer
	close  func()
	resize func(monitorapi.TerminalSize)
}

// readInput reads the client's frames until the client hangs up or the connection breaks;
// then, as after an explicit close, the process's input is closed.
func readInput(r *bufio.Reader, in input) {
	closed := false
	closeInput := func() {
		if !closed && in.close != nil {
			closed = true
			in.close()
		}
	}
	defer closeInput()
	var buf []byte
	for {
		ch, p, err := monitorapi.ReadFrame(r, buf)
		if err != nil {
			return
		}
		buf = p[:0]
		switch ch {
		case monitorapi.ChannelStdin:
			if in.w != nil {
				in.w.Write(p)
			}
		case monitorapi.ChannelResize:
			var s monitorapi.TerminalSize
			if in.resize != nil && json.Unmarshal(p, &s) == nil {
				in.resize(s)
			}
		case monitorapi.ChannelClose:
			if len(p) == 1 && p[0] == monitorapi.ChannelStdin {
				closeInput()
			}
		}
	}
}
