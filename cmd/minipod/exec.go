package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/containerd/console"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

// streamOptions are the flags exec and attach share with kubectl.
type streamOptions struct {
	namespace, container string
	stdin, tty, quiet    bool
}

func (o *streamOptions) addFlags(cmd *cobra.Command, g *globalFlags) {
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace")
	f.StringVarP(&o.container, "container", "c", "", "container name (default: the pod's default container)")
	f.BoolVarP(&o.stdin, "stdin", "i", false, "pass stdin to the container")
	f.BoolVarP(&o.tty, "tty", "t", false, "stdin is a terminal: give the process one, in raw mode, with the window's size (needs -i)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only what the process prints")
	cmd.RegisterFlagCompletionFunc("container", completeContainerFlag(g))
	cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(g))
}

func newExecCmd(g *globalFlags) *cobra.Command {
	var o streamOptions
	cmd := &cobra.Command{
		Use:   "exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]",
		Short: "Run a command in a container of a running pod (like kubectl exec)",
		Long: `Run a command in a container of a running pod, in its namespaces, as its user, with its
environment. -i passes stdin; -t (with -i, on a terminal) gives the command a terminal in raw
mode that follows the window's size. The command's exit code becomes minipod's, with
"command terminated with exit code N" on stderr, as kubectl does.`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			switch {
			case len(args) == 0 || dash == 0:
				return badInput(errors.New("exec: a pod name is required (usage: minipod exec POD -- COMMAND)"))
			case dash < 0 && len(args) > 1:
				return badInput(fmt.Errorf("exec: argument %q: exec POD COMMAND is not supported; use exec POD -- COMMAND", args[1]))
			case dash > 1:
				return badInput(fmt.Errorf("exec: argument %q: exec takes one pod before --", args[1]))
			case len(args) == 1:
				return badInput(errors.New("exec: you must specify at least one command for the container (exec POD -- COMMAND)"))
			}
			return nil
		},
		ValidArgsFunction: completePodArgs(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := parsePodArg("exec", args[0])
			if err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			ns, err := namespaceFlag(o.namespace)
			if err != nil {
				return err
			}
			return reportKubectlErrors(runStream(cfg, monitorapi.OpExec, ns, name, o, args[1:]))
		},
	}
	o.addFlags(cmd, g)
	return cmd
}

func newAttachCmd(g *globalFlags) *cobra.Command {
	var o streamOptions
	cmd := &cobra.Command{
		Use:   "attach POD [-c CONTAINER] [-i] [-t]",
		Short: "Attach to the main process of a running container (like kubectl attach)",
		Long: `Attach to the main process of a running container: its output, and with -i its input
(for a container with stdin: true; with tty: true, -t uses the terminal). Ends when the process
exits, with its exit code, or when interrupted.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput(fmt.Errorf("attach: takes one pod, got %d arguments (usage: minipod %s)", len(args), cmd.Use))
			}
			return nil
		},
		ValidArgsFunction: completePodArgs(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := parsePodArg("attach", args[0])
			if err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			ns, err := namespaceFlag(o.namespace)
			if err != nil {
				return err
			}
			return reportKubectlErrors(runStream(cfg, monitorapi.OpAttach, ns, name, o, nil))
		},
	}
	o.addFlags(cmd, g)
	return cmd
}

// runStream runs exec (command) or attach on a container of the pod and returns the
// process's exit code as an exit status.
func runStream(cfg state.Config, op, ns, name string, o streamOptions, command []string) error {
	verb := "exec"
	if op == monitorapi.OpAttach {
		verb = "attach"
	}
	p, err := readPod(cfg, ns, name)
	if err != nil {
		if isNotFound(err) {
			return err
		}
		return fmt.Errorf("%s pod/%s: %w", verb, name, err)
	}
	if p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
		return &badRequestError{fmt.Sprintf("cannot %s into a container in a completed pod; current phase is %s", verb, p.Status.Phase)}
	}
	c, defaulted, err := findContainer(p, o.container)
	if err != nil {
		return fmt.Errorf("%s pod/%s: %w", verb, name, err)
	}
	if defaulted && !o.quiet {
		fmt.Fprintf(os.Stderr, "Defaulted container %q out of: %s\n", c.Name, allContainerNames(p))
	}
	useTTY := o.tty && o.stdin
	if op == monitorapi.OpAttach && o.tty && !c.TTY {
		if !o.quiet {
			fmt.Fprintf(os.Stderr, "Unable to use a TTY - container %s did not allocate one\n", c.Name)
		}
		useTTY = false
	}
	var term *terminal
	if useTTY {
		if term, err = newTerminal(os.Stdin); err != nil {
			if !o.quiet {
				fmt.Fprintln(os.Stderr, "Unable to use a TTY - input is not a terminal or the right kind of file")
			}
			useTTY = false
		}
	}
	req := monitorapi.Request{Container: c.Name, Command: command, TTY: useTTY}
	stdio := monitorapi.Stdio{Stdout: os.Stdout, Stderr: os.Stderr}
	if o.stdin {
		stdio.Stdin = os.Stdin
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if term != nil {
		req.Size = term.size()
		if err := term.setRaw(); err != nil {
			return fmt.Errorf("%s pod/%s: %w", verb, name, err)
		}
		defer term.restore()
		stdio.Resize = term.resizes(ctx)
		// A terminal in raw mode sends Ctrl-C to the process; a signal from elsewhere ends
		// the session, and the terminal is restored on the way out.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
		defer signal.Stop(sigs)
		go func() {
			select {
			case <-sigs:
				cancel()
			case <-ctx.Done():
			}
		}()
		if op == monitorapi.OpAttach && !o.quiet {
			fmt.Fprint(os.Stderr, "If you don't see a command prompt, try pressing enter.\r\n")
		}
	}
	client := monitorapi.NewClient(podDir(cfg, ns, name))
	var code int32
	if op == monitorapi.OpExec {
		code, err = client.Exec(ctx, req, stdio)
	} else {
		code, err = client.Attach(ctx, req, stdio)
	}
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{exitInterrupted, nil}
		}
		return streamError(verb, name, c.Name, podDir(cfg, ns, name), err)
	}
	if code != 0 {
		if term != nil {
			term.restore()
		}
		if !o.quiet {
			fmt.Fprintf(os.Stderr, "command terminated with exit code %d\n", code)
		}
		return &exitError{int(code), nil}
	}
	return nil
}

// streamError explains a failed exec or attach: the container or the pod's monitor.
func streamError(verb, pod, container, dir string, err error) error {
	if monitorapi.IsKind(err, monitorapi.Unavailable) {
		switch pods.MonitorStateOf(dir) {
		case pods.PodGone:
			return fmt.Errorf("%s pod/%s: the pod was deleted (%v)", verb, pod, err)
		case pods.MonitorDied:
			return fmt.Errorf("%s pod/%s: %w", verb, pod, pods.ErrMonitorDied(pod))
		case pods.MonitorEnded:
			return fmt.Errorf("%s pod/%s: the pod has ended (%v)", verb, pod, err)
		case pods.MonitorStarting:
			return fmt.Errorf("%s pod/%s: the pod is being created; its containers are not running yet", verb, pod)
		}
		if strings.Contains(err.Error(), "stream broke") {
			return fmt.Errorf("%s pod/%s: container %s: the connection to the pod's monitor broke: %w", verb, pod, container, err)
		}
	}
	return fmt.Errorf("%s pod/%s: container %s: %w", verb, pod, container, err)
}

// terminal is the local terminal of an interactive exec or attach.
type terminal struct {
	con console.Console
	raw bool
}

func newTerminal(f *os.File) (*terminal, error) {
	con, err := console.ConsoleFromFile(f)
	if err != nil {
		return nil, err
	}
	return &terminal{con: con}, nil
}

func (t *terminal) size() *monitorapi.TerminalSize {
	ws, err := t.con.Size()
	if err != nil || ws.Width == 0 || ws.Height == 0 {
		return nil
	}
	return &monitorapi.TerminalSize{Width: ws.Width, Height: ws.Height}
}

// setRaw puts the terminal in raw mode as kubectl does (moby/term's MakeRaw): console's raw
// mode keeps output processing, which would turn the "\r\n" of the remote terminal into
// "\r\r\n".
func (t *terminal) setRaw() error {
	if err := t.con.SetRaw(); err != nil {
		return fmt.Errorf("set the terminal to raw mode: %w", err)
	}
	t.raw = true
	fd := int(t.con.Fd())
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err == nil {
		tio.Oflag &^= unix.OPOST
		err = unix.IoctlSetTermios(fd, unix.TCSETS, tio)
	}
	if err != nil {
		return fmt.Errorf("set the terminal to raw mode: %w", err)
	}
	return nil
}

func (t *terminal) restore() {
	if t.raw {
		t.con.Reset()
		t.raw = false
	}
}

// resizes delivers the terminal's size each time the window changes (SIGWINCH), until ctx
// ends; a size not taken yet is replaced by the newer one.
func (t *terminal) resizes(ctx context.Context) <-chan monitorapi.TerminalSize {
	out := make(chan monitorapi.TerminalSize, 1)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGWINCH)
	go func() {
		defer signal.Stop(sigs)
		for {
			select {
			case <-sigs:
			case <-ctx.Done():
				return
			}
			s := t.size()
			if s == nil {
				continue
			}
			select {
			case <-out:
			default:
			}
			out <- *s
		}
	}()
	return out
}
