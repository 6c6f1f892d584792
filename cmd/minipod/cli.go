package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/monitor"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

// Exit codes of `minipod run`, documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1
	exitBadInput    = 2
	exitInterrupted = 130
)

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func badInput(err error) error { return &exitError{exitBadInput, err} }

func execute(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	// Flag and argument errors arrive as exitError; the one command-line error cobra
	// reports on its own is an unknown subcommand.
	if strings.HasPrefix(err.Error(), "unknown command") {
		return exitBadInput
	}
	return exitFailed
}

type globalFlags struct {
	cfg    state.Config
	subnet string
}

func (g *globalFlags) config() (state.Config, error) {
	cfg := g.cfg
	p, err := netip.ParsePrefix(g.subnet)
	if err != nil {
		return cfg, badInput(fmt.Errorf("--subnet: %w", err))
	}
	cfg.Subnet = p.Masked()
	if err := cfg.Validate(); err != nil {
		return cfg, badInput(err)
	}
	return cfg, nil
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{cfg: state.DefaultConfig()}
	root := &cobra.Command{
		Use:           "minipod",
		Short:         "Run Kubernetes Pods on one Linux host",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	d := state.DefaultConfig()
	f.StringVar(&g.cfg.StateDir, "state-dir", d.StateDir, "runtime state: pod records and status files, pinned namespaces")
	f.StringVar(&g.cfg.Root, "root", d.Root, "persistent data: images, container layers, emptyDirs, IP allocations")
	f.StringVar(&g.cfg.LogDir, "log-dir", d.LogDir, "container logs")
	f.StringVar(&g.cfg.Bridge, "bridge", d.Bridge, "host bridge for pod networking")
	f.StringVar(&g.subnet, "subnet", d.Subnet.String(), "pod IP range; the gateway is its first address, on the bridge")
	f.StringVar(&g.cfg.CgroupParent, "cgroup-parent", d.CgroupParent, "cgroup under which every pod gets its own")
	f.DurationVar(&g.cfg.BackoffInitial, "backoff-initial", d.BackoffInitial, "first crash-loop back-off")
	f.DurationVar(&g.cfg.BackoffMax, "backoff-max", d.BackoffMax, "crash-loop back-off cap")
	f.StringVar(&g.cfg.ResolvConf, "resolv-conf", d.ResolvConf, "resolver configuration given to pods (the kubelet's --resolv-conf)")
	f.StringSliceVar(&g.cfg.InsecureRegistries, "insecure-registry", nil, "registry (host[:port]) that may be reached over plain HTTP; localhost and 127.0.0.1 always may")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })

	root.AddCommand(newRunCmd(g), newGetCmd(g), newDeleteCmd(g), newLogsCmd(g), newImageCmd(g), newMonitorCmd())
	return root
}

func readManifest(arg string) (*api.Pod, error) {
	var data []byte
	var err error
	if arg == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(arg)
	}
	if err != nil {
		return nil, badInput(err)
	}
	pod, err := api.Load(data)
	if err != nil {
		return nil, badInput(fmt.Errorf("%s:\n%w", arg, err))
	}
	return pod, nil
}

func newRunCmd(g *globalFlags) *cobra.Command {
	var rm bool
	cmd := &cobra.Command{
		Use:   "run FILE|-",
		Short: "Run a pod in the foreground until it ends (Ctrl-C stops it gracefully)",
		Long: `Run a Kubernetes v1 Pod manifest (YAML or JSON; - reads stdin) in the foreground.
Container output is streamed prefixed with the container name; phase and state changes go to stderr.
Exit status: 0 the pod Succeeded, 1 it Failed, 2 bad input, 130 interrupted (after teardown).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			pod, err := readManifest(args[0])
			if err != nil {
				return err
			}
			return runPod(cfg, pod, rm)
		},
	}
	cmd.Flags().BoolVar(&rm, "rm", true, "remove the pod's status and logs when it ends (its resources are always released)")
	return cmd
}

func runPod(cfg state.Config, pod *api.Pod, rm bool) error {
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, unix.SIGINT, unix.SIGTERM)
	h, err := pods.Create(cfg, pod)
	if err != nil {
		return &exitError{exitFailed, err}
	}
	var interrupted bool
	var mu sync.Mutex
	go func() {
		for range sigc {
			mu.Lock()
			interrupted = true
			mu.Unlock()
			fmt.Fprintln(os.Stderr, "minipod: stopping pod", pod.Metadata.Namespace+"/"+pod.Metadata.Name)
			h.Stop()
		}
	}()
	p := newPrinter(os.Stdout, os.Stderr)
	// Pods whose monitor died are cleaned up once this one has started, off its start path.
	var gc sync.WaitGroup
	collectGarbage := func() {
		gc.Go(func() {
			if err := pods.CollectGarbage(cfg); err != nil {
				fmt.Fprintln(os.Stderr, "minipod: cleaning up after dead pods:", err)
			}
		})
	}
	h.Follow(p.status, p.event, p.log, collectGarbage)
	gc.Wait()
	if err := h.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "minipod: the pod's monitor failed (%v); see %s\n", err, filepath.Join(h.Dir, "monitor.log"))
	}
	final, serr := h.Status()
	if rm {
		if err := h.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, "minipod: removing pod:", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case interrupted:
		return &exitError{exitInterrupted, nil}
	case serr != nil:
		return &exitError{exitFailed, serr}
	case final.Status.Phase == api.PodSucceeded:
		return nil
	case final.Status.Reason == "SandboxFailed":
		return &exitError{exitFailed, errors.New(final.Status.Message)}
	default:
		return &exitError{exitFailed, nil}
	}
}

// printer shows a followed pod: output lines prefixed with the container name, and each
// phase and container state change.
type printer struct {
	out, diag io.Writer
	phase     api.PodPhase
	states    map[string]string
}

func newPrinter(out, diag io.Writer) *printer {
	return &printer{out: out, diag: diag, states: map[string]string{}}
}

func (p *printer) status(pod *api.Pod) {
	key := pod.Metadata.Namespace + "/" + pod.Metadata.Name
	for _, cs := range append(append([]api.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		s := describeState(cs.State)
		if cs.RestartCount > 0 {
			s += fmt.Sprintf(" [restarts %d]", cs.RestartCount)
		}
		if p.states[cs.Name] != s {
			p.states[cs.Name] = s
			fmt.Fprintf(p.diag, "minipod: container %s %s\n", cs.Name, s)
		}
	}
	// After the containers: a phase follows from their states.
	if pod.Status.Phase != p.phase {
		p.phase = pod.Status.Phase
		msg := ""
		if pod.Status.Message != "" {
			msg = ": " + pod.Status.Message
		}
		fmt.Fprintf(p.diag, "minipod: pod %s %s%s\n", key, p.phase, msg)
	}
}

func describeState(s api.ContainerState) string {
	switch {
	case s.Running != nil:
		return "Running"
	case s.Terminated != nil:
		t := s.Terminated
		d := fmt.Sprintf("Terminated (%s, exit code %d", t.Reason, t.ExitCode)
		if t.Message != "" {
			d += ": " + t.Message
		}
		return d + ")"
	case s.Waiting != nil:
		d := "Waiting (" + s.Waiting.Reason
		if s.Waiting.Message != "" {
			d += ": " + s.Waiting.Message
		}
		return d + ")"
	}
	return "Unknown"
}

func (p *printer) event(e api.Event) {
	// The routine steps of a start or stop show as state changes already.
	switch {
	case e.Reason == "Created", e.Reason == "Started",
		e.Reason == "Pulled" && strings.HasSuffix(e.Message, "already present on machine"),
		e.Reason == "Killing" && strings.HasPrefix(e.Message, "Stopping container "):
		return
	}
	if e.Container == "" {
		fmt.Fprintf(p.diag, "minipod: pod %s: %s\n", e.Reason, e.Message)
		return
	}
	fmt.Fprintf(p.diag, "minipod: container %s %s: %s\n", e.Container, e.Reason, e.Message)
}

func (p *printer) log(container string, r crilog.Record) {
	end := "\n"
	if r.Partial {
		end = ""
	}
	fmt.Fprintf(p.out, "[%s] %s%s", container, r.Content, end)
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return badInput(fmt.Errorf("%s: takes %d argument(s), got %d (usage: minipod %s)", cmd.Name(), n, len(args), cmd.Use))
		}
		return nil
	}
}

func newMonitorCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "monitor POD-DIR",
		Short:  "Per-pod monitor (started by minipod itself)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// fd 3 is the pod's lock, taken by the process that started this one. No child
			// may inherit it: a container or exec process holding it would make the pod look
			// alive after the monitor is gone.
			unix.CloseOnExec(3)
			lock := os.NewFile(3, "lock")
			if err := monitor.Run(args[0], lock); err != nil {
				return &exitError{exitFailed, err}
			}
			return nil
		},
	}
}
