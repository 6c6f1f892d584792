package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

func newWaitCmd(g *globalFlags) *cobra.Command {
	var (
		namespace, forCond string
		timeout            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "wait (pod/NAME... | pod NAME...) --for=condition=CONDITION[=VALUE] | --for=delete [--timeout=30s] [-n NS]",
		Short: "Wait for a condition of pods, or their deletion (like kubectl wait)",
		Long: `Wait until every pod named has the condition (Ready, Initialized, ContainersReady,
PodScheduled, ...; its status "true" unless =VALUE says otherwise; compared without regard to
case), or is deleted (--for=delete), printing "pod/NAME condition met" for each. Fails with
"timed out waiting for the condition on pods/NAME" after --timeout (0: look once; negative: a
week). Changes are pushed by the pods' monitors: nothing is polled.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(errors.New("wait: you must name the pods to wait for (pod/NAME)"))
			}
			return nil
		},
		ValidArgsFunction: completePodArgs(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			ra, err := parseResourceArgs("wait", args, kindPods)
			if err != nil {
				return err
			}
			if len(ra.names) == 0 {
				return badInput(errors.New("wait: resource name must be provided (pod/NAME)"))
			}
			cond, err := parseWaitFor(forCond)
			if err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			ns, err := namespaceFlag(namespace)
			if err != nil {
				return err
			}
			if timeout < 0 {
				timeout = 168 * time.Hour
			}
			ctx, cancel := context.WithTimeout(context.Background(), max(timeout, time.Nanosecond))
			defer cancel()
			var mu sync.Mutex
			var wg sync.WaitGroup
			errs := make([]error, len(ra.names))
			for i, n := range ra.names {
				wg.Go(func() {
					err := waitPod(ctx, cfg, ns, n, cond, timeout == 0)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						fmt.Printf("pod/%s condition met\n", n)
					}
					errs[i] = err
				})
			}
			wg.Wait()
			return reportKubectlErrors(errs...)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&namespace, "namespace", "n", "default", "namespace")
	f.StringVar(&forCond, "for", "", "the condition to wait for: delete, or condition=NAME[=VALUE] (VALUE defaults to true)")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait: 0 looks once, negative waits a week")
	cmd.RegisterFlagCompletionFunc("for", cobra.FixedCompletions([]string{"delete", "condition=Ready", "condition=Initialized", "condition=ContainersReady", "condition=PodScheduled"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(g))
	return cmd
}

// waitCondition is what --for asks.
type waitCondition struct {
	delete      bool
	name, value string
}

// parseWaitFor reads --for as kubectl does: "delete" (any case), or "condition=NAME" with an
// optional "=VALUE" (default "true").
func parseWaitFor(s string) (waitCondition, error) {
	if strings.EqualFold(s, "delete") {
		return waitCondition{delete: true}, nil
	}
	if rest, ok := strings.CutPrefix(s, "condition="); ok {
		name, value, hasValue := strings.Cut(rest, "=")
		if !hasValue {
			value = "true"
		}
		if name == "" || value == "" {
			return waitCondition{}, badInput(fmt.Errorf("--for: %q: want condition=NAME or condition=NAME=VALUE", s))
		}
		return waitCondition{name: name, value: value}, nil
	}
	if strings.HasPrefix(s, "jsonpath=") {
		return waitCondition{}, badInput(fmt.Errorf("--for: %q: jsonpath conditions are not supported (delete or condition=NAME[=VALUE])", s))
	}
	return waitCondition{}, badInput(fmt.Errorf("--for: unrecognized condition: %q (delete or condition=NAME[=VALUE])", s))
}

// met reports whether the pod has the condition with the value, both compared as kubectl
// compares them (Unicode case folding). A condition the pod does not report is not met.
func (c waitCondition) met(p *api.Pod) bool {
	if p == nil {
		return false
	}
	for _, pc := range p.Status.Conditions {
		if strings.EqualFold(string(pc.Type), c.name) {
			return strings.EqualFold(string(pc.Status), c.value)
		}
	}
	return false
}

func errTimedOut(name string) error {
	return fmt.Errorf("timed out waiting for the condition on pods/%s", name)
}

// waitPod waits for the condition on one pod until ctx ends; once looks only once.
func waitPod(ctx context.Context, cfg state.Config, ns, name string, c waitCondition, once bool) error {
	if c.delete {
		return waitDeleted(ctx, cfg, ns, name, once)
	}
	p, err := readPod(cfg, ns, name)
	if err != nil {
		if isNotFound(err) {
			return err
		}
		return fmt.Errorf("wait pod/%s: %w", name, err)
	}
	if c.met(p) {
		return nil
	}
	if once {
		return fmt.Errorf("condition not met for pods/%s", name)
	}
	dir := podDir(cfg, ns, name)
	orig, err := os.Lstat(dir)
	if err != nil {
		return &notFoundError{name}
	}
	b := newPodBox()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go watchInto(wctx, dir, b)
	p, _, err = b.wait(ctx, func(p *api.Pod, ended bool) bool { return ended || c.met(p) })
	if err == nil && c.met(p) {
		return nil
	}
	if err == nil {
		// The monitor is gone: the pod will not change any more, but may be deleted.
		err = waitGone(ctx, cfg, dir, orig)
		if err == nil {
			return fmt.Errorf("wait pod/%s: the pod was deleted before its condition %s was %s", name, c.name, c.value)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errTimedOut(name)
	}
	return fmt.Errorf("wait pod/%s: %w", name, err)
}

// waitDeleted waits until the pod is gone: its directory removed, or replaced by another
// pod's of the same name (as kubectl's wait tells deleted objects by their uid).
func waitDeleted(ctx context.Context, cfg state.Config, ns, name string, once bool) error {
	dir := podDir(cfg, ns, name)
	orig, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wait pod/%s: %w", name, err)
	}
	if once {
		return fmt.Errorf("condition not met for pods/%s", name)
	}
	err = waitGone(ctx, cfg, dir, orig)
	if errors.Is(err, context.DeadlineExceeded) {
		return errTimedOut(name)
	}
	if err != nil {
		return fmt.Errorf("wait pod/%s: %w", name, err)
	}
	return nil
}

// waitGone waits, with inotify on the pods directory, until the pod directory dir, found
// as orig, is gone: removed, or replaced by another pod's of the same name.
func waitGone(ctx context.Context, cfg state.Config, dir string, orig os.FileInfo) error {
	dw, err := pods.NewDirWatch(cfg.PodsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil // no pods at all
	}
	if err != nil {
		return err
	}
	defer dw.Close()
	for {
		fi, err := os.Lstat(dir)
		if errors.Is(err, os.ErrNotExist) || err == nil && !os.SameFile(fi, orig) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-dw.C:
		}
	}
}
