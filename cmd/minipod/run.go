package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/console"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

func newRunCmd(g *globalFlags) *cobra.Command {
	var rm, detach bool
	cmd := &cobra.Command{
		Use:   "run FILE|-...",
		Short: "Run a pod in the foreground until it ends (Ctrl-C stops it gracefully)",
		Long: `Run a Kubernetes v1 Pod manifest (YAML or JSON; - reads stdin) in the foreground.
Container output is streamed prefixed with the container name; phase and state changes go to stderr.
A container with stdin or tty is attached to this terminal once it runs.
Exit status: 0 the pod Succeeded, 1 it Failed, 2 bad input, 130 interrupted (after teardown).
With -d, run returns once every container runs (exit 0), or with the failure (exit 1).

Like podman kube play, the files may hold several YAML documents, and several files may be
given: ConfigMaps and Secrets are stored first (created or replaced, as kubectl apply does),
and the named volumes of PersistentVolumeClaims made (kept as they are if they exist), then
the pod runs with them. Several pods run with -d only; with no pod, run only stores.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(fmt.Errorf("run: takes one or more files (usage: minipod %s)", cmd.Use))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			pods, others, err := readObjects(args)
			if err != nil {
				return err
			}
			if len(pods) > 1 && !detach {
				return badInput(fmt.Errorf("run: %d pods: several pods run with -d only, or one per command", len(pods)))
			}
			// kubectl's "configmap/x created" on stdout, unless a pod's output goes there.
			out, prefix := io.Writer(os.Stdout), ""
			if len(pods) > 0 && !detach {
				out, prefix = os.Stderr, "minipod: "
			}
			if err := applyObjects(cfg, others, out, prefix); err != nil {
				return err
			}
			if detach {
				var errs []error
				for _, p := range pods {
					if err := runDetached(cfg, p); err != nil {
						errs = append(errs, err)
					}
				}
				return reportRunErrors(errs)
			}
			if len(pods) == 0 {
				return nil
			}
			return runPod(cfg, pods[0], rm)
		},
	}
	cmd.Flags().BoolVar(&rm, "rm", true, "remove the pod's status and logs when it ends (its resources are always released)")
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "return once every container runs; the pod stays until deleted")
	return cmd
}

// reportRunErrors is the outcome of several detached pods: each failure said, exit 1.
func reportRunErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	for _, err := range errs {
		var ee *exitError
		if errors.As(err, &ee) && ee.err != nil {
			fmt.Fprintln(os.Stderr, "error:", ee.err)
		} else if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
	}
	return &exitError{exitFailed, nil}
}

func runPod(cfg state.Config, pod *api.Pod, rm bool) error {
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, unix.SIGINT, unix.SIGTERM)
	h, err := pods.Create(cfg, pod)
	if rej := (*pods.RejectedError)(nil); errors.As(err, &rej) {
		// Admission refused it: its final status is all there is to show.
		newPrinter(os.Stdout, os.Stderr).status(rej.Pod)
		if rm {
			if err := rej.Handle.Remove(); err != nil {
				fmt.Fprintln(os.Stderr, "minipod: removing pod:", err)
			}
		}
		return &exitError{exitFailed, nil}
	}
	if err != nil {
		return &exitError{exitFailed, err}
	}
	if attachTarget(pod) == nil {
		reexecFollower(h, rm, sigc) // returns only if it could not
	}
	return followRun(cfg, h, pod, rm, sigc)
}

// followRunCmd is the hidden command a foreground run re-executes itself as once its pod is
// created (reexecFollower).
const followRunCmd = "follow-run"

// reexecFollower replaces this process, once the pod's monitor is started, by a fresh one of
// the same program that only follows the pod (newFollowRunCmd): same pid, terminal and exit
// status, and the monitor stays its child. A foreground run mostly idles for as long as its
// pod runs, and what parsing and creating the pod left in its heap (long-lived objects among
// the garbage, which a collection cannot give back) would stay with it: the fresh process
// holds 0.2 to 0.45 MB less (README Performance). It returns, and the caller follows in this
// process, when a signal has arrived already, the monitor has ended already (the new process
// could not wait for it), or exec fails. The monitor takes milliseconds to start, so nothing
// reaps it between the check and the exec.
func reexecFollower(h *pods.Handle, rm bool, sigc chan os.Signal) {
	select {
	case s := <-sigc:
		sigc <- s // for the caller's handler
		return
	case <-h.Done():
		return
	default:
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	args := []string{os.Args[0], followRunCmd, "--rm=" + strconv.FormatBool(rm), h.Dir, strconv.Itoa(h.MonitorPID())}
	unix.Exec(self, args, os.Environ())
}

// newFollowRunCmd is the follower of a foreground run (reexecFollower).
func newFollowRunCmd() *cobra.Command {
	var rm bool
	cmd := &cobra.Command{
		Use:    followRunCmd + " POD-DIR MONITOR-PID",
		Short:  "Follow a pod that run created (run re-executes itself as this)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sigc := make(chan os.Signal, 2)
			signal.Notify(sigc, unix.SIGINT, unix.SIGTERM)
			pid, err := strconv.Atoi(args[1])
			if err != nil || pid <= 0 {
				return badInput(fmt.Errorf("%s: monitor pid: want a positive number, got %q", followRunCmd, args[1]))
			}
			h, err := pods.Resume(args[0], pid)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			return followRun(h.Cfg, h, &h.Pod, rm, sigc)
		},
	}
	cmd.Flags().BoolVar(&rm, "rm", true, "remove the pod's status and logs when it ends")
	return cmd
}

// followRun shows the pod created as h until it ends, stops it on SIGINT or SIGTERM (sigc),
// and returns run's outcome.
func followRun(cfg state.Config, h *pods.Handle, pod *api.Pod, rm bool, sigc chan os.Signal) error {
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
	if c := attachTarget(pod); c != nil {
		p.attachTerminal(h.Dir, c)
	}
	// Pods whose monitor died are cleaned up once this one has started, off its start path.
	var gc sync.WaitGroup
	collectGarbage := func() {
		gc.Go(func() {
			if err := pods.CollectGarbage(cfg); err != nil {
				fmt.Fprintln(os.Stderr, "minipod: cleaning up after dead pods:", err)
			}
		})
	}
	warn := func(err error) { fmt.Fprintln(os.Stderr, "minipod:", err) }
	final, ferr := pods.Follow(context.Background(), h.Dir, pods.Follower{Status: p.status, Event: p.event, Log: p.log, Settled: collectGarbage, Warn: warn})
	<-h.Done()
	gc.Wait()
	if err := h.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "minipod: the pod's monitor failed (%v); see %s\n", err, filepath.Join(h.Dir, "monitor.log"))
	}
	if rm {
		// Unless a delete from elsewhere removed it already.
		if err := h.Remove(); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "minipod: removing pod:", err)
		}
	}
	if final == nil && ferr == nil {
		ferr = errors.New("the pod's monitor ended without a status")
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case interrupted:
		return &exitError{exitInterrupted, nil}
	case final == nil:
		return &exitError{exitFailed, ferr}
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

	// attach, if set, connects a container with stdin or a tty to the terminal once it runs;
	// its output then comes through the attachment instead of the log.
	attachTo  string
	attach    func()
	attaching bool
}

func newPrinter(out, diag io.Writer) *printer {
	return &printer{out: out, diag: diag, states: map[string]string{}}
}

func (p *printer) status(pod *api.Pod) {
	key := pod.Metadata.Namespace + "/" + pod.Metadata.Name
	if p.attach != nil && !p.attaching {
		for _, cs := range append(append([]api.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			if cs.Name == p.attachTo && cs.State.Running != nil {
				p.attaching = true
				go p.attach()
			}
		}
	}
	all := append(append([]api.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range append(all, pod.Status.EphemeralContainerStatuses...) {
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
		} else if c := unscheduled(pod); c != nil {
			msg = ": " + c.Reason + ": " + c.Message
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
	if p.attaching && container == p.attachTo {
		return
	}
	end := "\n"
	if r.Partial {
		end = ""
	}
	fmt.Fprintf(p.out, "[%s] %s%s", container, r.Content, end)
}

// runDetached creates the pod and waits until every container runs, or the pod cannot get
// there: it failed, or a container waits for a reason that needs a change to go away.
func runDetached(cfg state.Config, pod *api.Pod) error {
	h, err := pods.Create(cfg, pod)
	if rej := (*pods.RejectedError)(nil); errors.As(err, &rej) {
		return &exitError{exitFailed, fmt.Errorf("pod %s/%s failed: %s", pod.Metadata.Namespace, pod.Metadata.Name, podFailure(rej.Pod))}
	}
	if err != nil {
		return &exitError{exitFailed, err}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var outcome error
	done := false
	key := pod.Metadata.Namespace + "/" + pod.Metadata.Name
	check := func(p *api.Pod) {
		if done {
			return
		}
		switch {
		case p.Status.Phase == api.PodSucceeded:
			done = true
			fmt.Printf("pod/%s ran to completion\n", p.Metadata.Name)
		case p.Status.Phase == api.PodFailed:
			done = true
			outcome = fmt.Errorf("pod %s failed: %s", key, podFailure(p))
		case allRunning(p):
			done = true
			fmt.Printf("pod/%s running\n", p.Metadata.Name)
		case unscheduled(p) != nil:
			// Held as asked: it stays until its gates go or it is deleted.
			done = true
			c := unscheduled(p)
			fmt.Printf("pod/%s created, not scheduled: %s: %s\n", p.Metadata.Name, c.Reason, c.Message)
		default:
			if why := blocked(p); why != "" {
				done = true
				outcome = fmt.Errorf("pod %s cannot run: %s", key, why)
			}
		}
		if done {
			cancel()
		}
	}
	// A volume that cannot be set up (a ConfigMap or Secret missing) keeps every container
	// waiting until it can: said as a container that cannot be created is.
	event := func(e api.Event) {
		if !done && e.Reason == "FailedMount" {
			done = true
			outcome = fmt.Errorf("pod %s cannot run yet: %s: %s", key, e.Reason, e.Message)
			cancel()
		}
	}
	last, err := pods.Follow(ctx, h.Dir, pods.Follower{Status: check, Event: event, Log: func(string, crilog.Record) {}})
	if !done && last != nil {
		check(last)
	}
	switch {
	case outcome != nil:
		return &exitError{exitFailed, outcome}
	case !done && err != nil && !errors.Is(err, context.Canceled):
		return &exitError{exitFailed, err}
	case !done:
		return &exitError{exitFailed, fmt.Errorf("pod %s ended before all its containers ran", key)}
	}
	return nil
}

// unscheduled returns the pod's PodScheduled condition if it is False (the pod is held by
// scheduling gates), else nil.
func unscheduled(p *api.Pod) *api.PodCondition {
	for i, c := range p.Status.Conditions {
		if c.Type == api.PodScheduled && c.Status == api.ConditionFalse {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// allRunning reports whether every regular container runs and has started.
func allRunning(p *api.Pod) bool {
	if len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil || cs.Started == nil || !*cs.Started {
			return false
		}
	}
	return true
}

// blocked returns why a container cannot start without a change (a bad image, a command
// that does not exist, a crash loop), or "".
func blocked(p *api.Pod) string {
	for _, cs := range append(append([]api.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CrashLoopBackOff",
				"CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return fmt.Sprintf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
			}
		}
		if t := cs.State.Terminated; t != nil && t.Reason == "StartError" {
			return fmt.Sprintf("container %s: %s: %s", cs.Name, t.Reason, t.Message)
		}
	}
	return ""
}

// podFailure says why a pod failed: its reason, or its containers' exits.
func podFailure(p *api.Pod) string {
	if p.Status.Reason != "" {
		return p.Status.Reason + ": " + p.Status.Message
	}
	var parts []string
	for _, cs := range append(append([]api.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			parts = append(parts, fmt.Sprintf("container %s %s", cs.Name, describeState(cs.State)))
		}
	}
	return strings.Join(parts, "; ")
}

// attachTarget is the container a foreground run connects to its terminal: the first with
// stdin or a tty, as `kubectl run -i` attaches to its pod's container.
func attachTarget(pod *api.Pod) *api.Container {
	for _, list := range [][]api.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Stdin || list[i].TTY {
				return &list[i]
			}
		}
	}
	return nil
}

// attachTerminal makes the printer attach this process's stdin and stdout to container c of
// the pod in dir once it runs; with a tty (and a terminal here) in raw mode, following the
// terminal's size.
func (p *printer) attachTerminal(dir string, c *api.Container) {
	p.attachTo = c.Name
	p.attach = func() {
		req := monitorapi.Request{Container: c.Name}
		stdio := monitorapi.Stdio{Stdout: os.Stdout, Stderr: os.Stderr}
		if c.Stdin {
			stdio.Stdin = os.Stdin
		}
		if term, err := console.ConsoleFromFile(os.Stdin); err == nil && c.TTY {
			if err := term.SetRaw(); err == nil {
				defer term.Reset()
			}
			req.TTY = true
			if size, err := term.Size(); err == nil {
				req.Size = &monitorapi.TerminalSize{Width: size.Width, Height: size.Height}
			}
			resize := make(chan monitorapi.TerminalSize, 1)
			winch := make(chan os.Signal, 1)
			signal.Notify(winch, unix.SIGWINCH)
			defer signal.Stop(winch)
			go func() {
				for range winch {
					if size, err := term.Size(); err == nil {
						resize <- monitorapi.TerminalSize{Width: size.Width, Height: size.Height}
					}
				}
			}()
			stdio.Resize = resize
		}
		if _, err := monitorapi.NewClient(dir).Attach(context.Background(), req, stdio); err != nil {
			fmt.Fprintf(p.diag, "minipod: attach to container %s: %v\n", c.Name, err)
		}
	}
}
