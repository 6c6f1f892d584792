package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

type logsOptions struct {
	namespace, container string
	allContainers        bool
	previous, follow     bool
	timestamps, prefix   bool
	tail                 int
	since                time.Duration
	sinceTime            string
}

func newLogsCmd(g *globalFlags) *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs POD [CONTAINER] [-c CONTAINER | --all-containers] [-p] [-f] [--tail N] [--since DURATION] [--timestamps]",
		Short: "Print a container's output, like kubectl logs (-f: follow it)",
		Long: `Print the output of a container of a pod: the current instance's (across its log's
rotations with -f), or the previous one's (-p). Without -c, the pod's default container is taken
(the kubectl.kubernetes.io/default-container annotation, else the first), and named on stderr
when the pod has several. -f follows until the container stops for good: a container that will
be restarted is followed into its next instance. --timestamps prefixes each line with its time
(RFC 3339 with nanoseconds), --prefix with [pod/NAME/CONTAINER].`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return badInput(fmt.Errorf("logs: takes a pod and optionally a container, got %d arguments (usage: minipod %s)", len(args), cmd.Use))
			}
			return nil
		},
		ValidArgsFunction: completeLogsArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := parsePodArg("logs", args[0])
			if err != nil {
				return err
			}
			if len(args) == 2 {
				if o.container != "" {
					return badInput(fmt.Errorf("logs: container %q given both as an argument and with -c %q", args[1], o.container))
				}
				o.container = args[1]
			}
			since, err := o.cutoff(cmd.Flags().Changed("since"), time.Now())
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
			return reportKubectlErrors(runLogs(cfg, ns, name, o, since))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace")
	f.StringVarP(&o.container, "container", "c", "", "container name (default: the pod's default container)")
	f.BoolVar(&o.allContainers, "all-containers", false, "every container of the pod, init containers first")
	f.BoolVarP(&o.previous, "previous", "p", false, "the previous instance of the container")
	f.BoolVarP(&o.follow, "follow", "f", false, "follow the output until the container stops")
	f.IntVar(&o.tail, "tail", -1, "lines of the current log to show, -1 for all")
	f.DurationVar(&o.since, "since", 0, "only lines newer than this duration, e.g. 5s, 2m, 3h")
	f.StringVar(&o.sinceTime, "since-time", "", "only lines after this time (RFC 3339)")
	f.BoolVar(&o.timestamps, "timestamps", false, "prefix each line with its time (RFC 3339, nanoseconds)")
	f.BoolVar(&o.prefix, "prefix", false, "prefix each line with [pod/NAME/CONTAINER]")
	cmd.RegisterFlagCompletionFunc("container", completeContainerFlag(g))
	cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(g))
	return cmd
}

// cutoff checks the flags that do not need the pod and returns the time before which lines
// are left out (zero: none).
func (o *logsOptions) cutoff(sinceSet bool, now time.Time) (time.Time, error) {
	switch {
	case o.tail < -1:
		return time.Time{}, badInput(fmt.Errorf("--tail: must be greater than or equal to -1, got %d", o.tail))
	case sinceSet && o.since <= 0:
		return time.Time{}, badInput(fmt.Errorf("--since: must be greater than 0, got %s", o.since))
	case sinceSet && o.sinceTime != "":
		return time.Time{}, badInput(errors.New("--since, --since-time: at most one of them may be given"))
	case o.allContainers && o.container != "":
		return time.Time{}, badInput(fmt.Errorf("--all-containers: should not be given with a container name (%s)", o.container))
	}
	if o.sinceTime != "" {
		t, err := time.Parse(time.RFC3339, o.sinceTime)
		if err != nil {
			return time.Time{}, badInput(fmt.Errorf("--since-time: %w", err))
		}
		return t, nil
	}
	if sinceSet {
		return now.Add(-o.since), nil
	}
	return time.Time{}, nil
}

// logOutput writes records of one or more containers, one record at a time.
type logOutput struct {
	mu         sync.Mutex
	w          *bufio.Writer
	timestamps bool
	since      time.Time
	flush      bool // after every record: following
	err        error
}

func (lo *logOutput) write(prefix string, r crilog.Record) error {
	if !lo.since.IsZero() && r.Time.Before(lo.since) {
		return nil
	}
	lo.mu.Lock()
	defer lo.mu.Unlock()
	if lo.err != nil {
		return lo.err
	}
	lo.w.WriteString(prefix)
	if lo.timestamps {
		lo.w.WriteString(r.Time.Format(time.RFC3339Nano))
		lo.w.WriteByte(' ')
	}
	lo.w.Write(r.Content)
	if !r.Partial {
		lo.w.WriteByte('\n')
	}
	if lo.flush {
		lo.err = lo.w.Flush()
	}
	return lo.err
}

func runLogs(cfg state.Config, ns, name string, o logsOptions, since time.Time) error {
	p, err := readPod(cfg, ns, name)
	if err != nil {
		if isNotFound(err) {
			return err
		}
		return fmt.Errorf("logs pod/%s: %w", name, err)
	}
	dir := podDir(cfg, ns, name)
	rec, err := state.ReadRecord(dir)
	if errors.Is(err, os.ErrNotExist) {
		return &notFoundError{name}
	}
	if err != nil {
		return fmt.Errorf("logs pod/%s: %w", name, err)
	}
	var containers []string
	if o.allContainers {
		for _, c := range append(append([]api.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			containers = append(containers, c.Name)
		}
		for _, c := range p.Spec.EphemeralContainers {
			containers = append(containers, c.Name)
		}
	} else {
		c, defaulted, err := findContainer(p, o.container)
		if err != nil {
			return fmt.Errorf("logs pod/%s: %w", name, err)
		}
		if defaulted {
			fmt.Fprintf(os.Stderr, "Defaulted container %q out of: %s\n", c.Name, allContainerNames(p))
		}
		containers = []string{c.Name}
	}
	out := &logOutput{w: bufio.NewWriterSize(os.Stdout, 64<<10), timestamps: o.timestamps, since: since, flush: o.follow}
	defer out.w.Flush()
	prefix := func(c string) string {
		if o.prefix {
			return fmt.Sprintf("[pod/%s/%s] ", name, c)
		}
		return ""
	}
	if !o.follow || o.previous {
		for _, c := range containers {
			if err := printContainerLog(rec, p, c, o, func(r crilog.Record) error { return out.write(prefix(c), r) }); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make([]error, len(containers))
	var wg sync.WaitGroup
	for i, c := range containers {
		wg.Go(func() {
			errs[i] = followContainerLog(ctx, dir, rec, name, c, o.tail, func(r crilog.Record) error { return out.write(prefix(c), r) })
			if errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}

// logAttempt picks the instance of a container whose log `logs` shows: the current (latest)
// one, or the one before it with previous. It fails, as the kubelet does, for a container
// with no instance yet, or no previous one.
func logAttempt(cs *api.ContainerStatus, pod, container string, previous bool) (int32, error) {
	if cs == nil {
		return 0, &badRequestError{fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", container, pod)}
	}
	if previous {
		if cs.RestartCount == 0 {
			return 0, &badRequestError{fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod)}
		}
		return cs.RestartCount - 1, nil
	}
	if cs.RestartCount == 0 && cs.State.Waiting != nil && cs.LastState.Terminated == nil {
		reason := cs.State.Waiting.Reason
		if reason == "" {
			reason = "ContainerCreating"
		}
		return 0, &badRequestError{fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, pod, reason)}
	}
	return cs.RestartCount, nil
}

// printContainerLog prints the log of the instance logAttempt picks, the last --tail records
// of its current file, as the kubelet reads it.
func printContainerLog(rec *state.Record, p *api.Pod, c string, o logsOptions, emit func(crilog.Record) error) error {
	name := p.Metadata.Name
	n, err := logAttempt(containerStatus(p, c), name, c, o.previous)
	if err != nil {
		return err
	}
	path := rec.LogFile(c, n)
	recs, err := crilog.Tail(path, o.tail)
	if errors.Is(err, os.ErrNotExist) && !o.previous && n > 0 {
		// Restarting: the new instance has no log yet; the last one that ran has.
		path = rec.LogFile(c, n-1)
		recs, err = crilog.Tail(path, o.tail)
	}
	if errors.Is(err, os.ErrNotExist) {
		return &badRequestError{fmt.Sprintf("container %q in pod %q has no log (instance %d)", c, name, n)}
	}
	if err != nil {
		return fmt.Errorf("logs pod/%s: container %s: %w", name, c, err)
	}
	for _, r := range recs {
		if err := emit(r); err != nil {
			return fmt.Errorf("logs pod/%s: %w", name, err)
		}
	}
	return nil
}

// podBox holds the latest status of a followed pod and tells waiters when it changes.
type podBox struct {
	mu      sync.Mutex
	pod     *api.Pod
	ended   bool              // the monitor is gone: nothing changes any more
	state   pods.MonitorState // how it ended
	changed chan struct{}
}

func newPodBox() *podBox { return &podBox{changed: make(chan struct{})} }

func (b *podBox) set(fn func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn()
	close(b.changed)
	b.changed = make(chan struct{})
}

// wait waits until cond holds for the latest status (nil before the first) or ctx ends.
func (b *podBox) wait(ctx context.Context, cond func(p *api.Pod, ended bool) bool) (*api.Pod, bool, error) {
	for {
		b.mu.Lock()
		p, ended, ch := b.pod, b.ended, b.changed
		b.mu.Unlock()
		if cond(p, ended) {
			return p, ended, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return p, ended, ctx.Err()
		}
	}
}

// watchInto feeds the pod's watch stream into a box until the monitor is gone.
func watchInto(ctx context.Context, dir string, b *podBox) {
	st, err := followPod(ctx, dir, func(p *api.Pod) { b.set(func() { b.pod = p }) }, nil)
	if err != nil && ctx.Err() == nil {
		st = pods.MonitorStateOf(dir)
	}
	b.set(func() { b.ended, b.state = true, st })
}

// attemptState tells where instance n of a container is, from its status: created (its log
// exists) and over (nothing more will be written to it). After instance n ends, the container
// either waits to restart (back-off), with n as lastState and its restartCount unchanged, or
// is terminated; instance n+1 starting raises restartCount.
func attemptState(cs *api.ContainerStatus, n int32) (created, over bool) {
	switch {
	case cs == nil || cs.RestartCount < n:
		return false, false
	case cs.RestartCount > n:
		return true, true
	case cs.State.Running != nil:
		return true, false
	case cs.State.Terminated != nil:
		return true, true
	case cs.State.Waiting != nil && cs.LastState.Terminated != nil:
		return true, true
	}
	return false, false
}

// willRestart reports whether a container will run again, by the kubelet's rules: not once the
// pod is being deleted or has ended; a terminated container by its restart policy (a sidecar
// always; an init container on failure unless the pod's policy is Never; an ephemeral one
// never; a regular container by the pod's policy, Always by default).
func willRestart(p *api.Pod, name string) bool {
	if p.Metadata.DeletionTimestamp != nil || p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
		return false
	}
	cs := containerStatus(p, name)
	if cs == nil || cs.State.Terminated == nil {
		return true
	}
	policy := p.Spec.RestartPolicy
	if policy == "" {
		policy = api.RestartPolicyAlways
	}
	for _, c := range p.Spec.EphemeralContainers {
		if c.Name == name {
			policy = api.RestartPolicyNever // never restarted
		}
	}
	for i := range p.Spec.InitContainers {
		if c := &p.Spec.InitContainers[i]; c.Name == name {
			switch {
			case c.IsSidecar():
				policy = api.RestartPolicyAlways
			case policy != api.RestartPolicyNever:
				policy = api.RestartPolicyOnFailure
			}
		}
	}
	switch policy {
	case api.RestartPolicyAlways:
		return true
	case api.RestartPolicyOnFailure:
		return cs.State.Terminated.ExitCode != 0
	}
	return false
}

// followContainerLog follows a container's log: the last tail records of its current
// instance, then everything written to it, across rotations, until the instance ends; then the
// next instances as they start, while the container is to be restarted. It stops when the
// container has stopped for good or the pod's monitor is gone (an error if it died).
func followContainerLog(ctx context.Context, dir string, rec *state.Record, name, c string, tail int, emit func(crilog.Record) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := newPodBox()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchInto(ctx, dir, b)
	}()
	defer func() {
		cancel()
		<-watched
	}()
	p, _, err := b.wait(ctx, func(p *api.Pod, ended bool) bool { return p != nil || ended })
	if err != nil {
		return err
	}
	if p == nil {
		return &notFoundError{name}
	}
	n, err := logAttempt(containerStatus(p, c), name, c, false)
	if err != nil {
		return err
	}
	first := true
	for {
		done := make(chan struct{})
		stop := make(chan struct{})
		go func() {
			defer close(done)
			wctx, wcancel := context.WithCancel(ctx)
			defer wcancel()
			go func() {
				select {
				case <-stop:
					wcancel()
				case <-wctx.Done():
				}
			}()
			b.wait(wctx, func(p *api.Pod, ended bool) bool {
				_, over := attemptState(containerStatus(p, c), n)
				return ended || over
			})
		}()
		path := rec.LogFile(c, n)
		if first {
			err = crilog.FollowTail(ctx, path, tail, done, emit)
		} else {
			err = crilog.Follow(ctx, path, 0, done, emit)
		}
		close(stop)
		<-done
		first = false
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("logs pod/%s: container %s: %w", name, c, err)
		}
		// What next: instance n+1 once it starts, unless the container is done.
		var ended bool
		p, ended, err = b.wait(ctx, func(p *api.Pod, ended bool) bool {
			if ended {
				return true
			}
			if created, _ := attemptState(containerStatus(p, c), n+1); created {
				return true
			}
			_, over := attemptState(containerStatus(p, c), n)
			return over && !willRestart(p, c)
		})
		if err != nil {
			return err
		}
		if created, _ := attemptState(containerStatus(p, c), n+1); created {
			n++
			continue
		}
		if ended {
			b.mu.Lock()
			st := b.state
			b.mu.Unlock()
			if st == pods.MonitorDied {
				return fmt.Errorf("logs pod/%s: %w", name, pods.ErrMonitorDied(name))
			}
		}
		return nil
	}
}
