package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// ExecConfig is a process to run in a running instance, in its namespaces and cgroup, as its
// user, with its environment and working directory (runc exec). The stdio are files (pipes)
// so that no copying goroutine sits between the process and the caller; with TTY the
// process gets a terminal instead, ExecProcess.Console.
type ExecConfig struct {
	Args           []string
	Stdin          *os.File // nil: /dev/null
	Stdout, Stderr *os.File // nil: /dev/null
	TTY            bool
}

// ExecProcess is a process started by Exec.
type ExecProcess struct {
	proc *libcontainer.Process
	// Console is the master side of the process's terminal (TTY); the caller closes it.
	Console console.Console
}

// Exec starts a process in the instance.
func (i *Instance) Exec(cfg ExecConfig) (*ExecProcess, error) {
	if st := i.State().Status; st != Running {
		return nil, fmt.Errorf("exec in container %s: %w: %s", i.cfg.ID, ErrWrongState, st)
	}
	p := i.process(cfg.Args, i.spec.Env, i.spec.Cwd)
	// Typed nils would reach exec.Cmd as non-nil writers.
	if cfg.Stdin != nil {
		p.Stdin = cfg.Stdin
	}
	if cfg.Stdout != nil {
		p.Stdout = cfg.Stdout
	}
	if cfg.Stderr != nil {
		p.Stderr = cfg.Stderr
	}
	var parent *os.File
	if cfg.TTY {
		var child *os.File
		var err error
		if parent, child, err = socketpair(); err != nil {
			return nil, fmt.Errorf("exec in container %s: create console socket: %w", i.cfg.ID, err)
		}
		defer parent.Close()
		defer child.Close()
		p.ConsoleSocket = child
	}
	if err := i.lc.Run(p); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", i.cfg.ID, err)
	}
	e := &ExecProcess{proc: p}
	if parent != nil {
		master, err := recvFile(parent)
		if err == nil {
			e.Console, err = console.ConsoleFromFile(master)
		}
		if err != nil {
			p.Signal(unix.SIGKILL)
			p.Wait()
			return nil, fmt.Errorf("exec in container %s: receive the terminal: %w", i.cfg.ID, err)
		}
	}
	return e, nil
}

// Wait waits for the process to exit.
func (e *ExecProcess) Wait() *Exit {
	ps, _ := e.proc.Wait()
	return exitOf(ps)
}

// Signal sends sig to the process.
func (e *ExecProcess) Signal(sig unix.Signal) error {
	if err := e.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// ExecSync runs args in the instance until it exits or ctx ends (then it is killed), and
// returns its combined output, cut to maxOutput bytes, as the CRI's ExecSync does for exec
// probes and hooks. The error is ctx's when it timed out.
func (i *Instance) ExecSync(ctx context.Context, args []string, maxOutput int) ([]byte, *Exit, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("exec in container %s: %w", i.cfg.ID, err)
	}
	p, err := i.Exec(ExecConfig{Args: args, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	var out bytes.Buffer
	var copied sync.WaitGroup
	copied.Go(func() {
		io.Copy(&out, io.LimitReader(r, int64(maxOutput)))
		io.Copy(io.Discard, r) // keep the process from blocking on a full pipe
	})
	exited := make(chan *Exit, 1)
	go func() { exited <- p.Wait() }()
	var exit *Exit
	select {
	case exit = <-exited:
	case <-ctx.Done():
		p.Signal(unix.SIGKILL)
		<-exited
		err = ctx.Err()
	}
	// A child of the process may hold the pipe open after the process exited: read what is
	// there, then stop.
	r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	copied.Wait()
	r.Close()
	return out.Bytes(), exit, err
}
