package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

func newDeleteCmd(g *globalFlags) *cobra.Command {
	var (
		namespace                     string
		grace                         int64
		now, force, wait, all, ignore bool
		allNamespaces                 bool
	)
	cmd := &cobra.Command{
		Use:   "delete (pod NAME... | pod/NAME... | pods --all [-A] | configmap NAME... | secret NAME... | volume NAME... | volumes --all) [-n NS] [--grace-period SECONDS] [--now] [--force] [--wait=false]",
		Short: "Stop pods gracefully and remove them (also those whose monitor died); remove ConfigMaps, Secrets or named volumes",
		Long: `Stop pods gracefully and remove them, like kubectl delete: each container gets SIGTERM (or its
image's stop signal), then SIGKILL when the grace period ends (the pod's
terminationGracePeriodSeconds, or --grace-period). A later delete with a shorter grace period
shortens a stop under way. --now is --grace-period=1; --grace-period=0 is turned into 1 unless
--force is given (then the containers are killed at once). A pod being created is stopped as
soon as its monitor is up. Unless --wait=false, the command returns once everything is released.
A ConfigMap or Secret is removed from the store; pods that use it keep what they have.
"delete volume NAME" deletes a claim's named volume and its content, unless a pod that has not
finished uses it.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(errors.New("delete: you must specify the type of resource to delete (pods, configmaps, secrets or volumes)"))
			}
			return nil
		},
		ValidArgsFunction: completePodArgs(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			ra, err := parseResourceArgs("delete", args, kindPods, kindConfigMaps, kindSecrets, kindVolumes)
			if err != nil {
				return err
			}
			gp, err := deleteGrace(cmd.Flags().Changed("grace-period"), grace, now, force)
			if err != nil {
				return err
			}
			switch {
			case all && len(ra.names) > 0:
				return badInput(errors.New("delete: --all cannot be used with pod names"))
			case !all && len(ra.names) == 0:
				return badInput(errors.New("delete: resource(s) were provided, but no name was specified (or --all)"))
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			ns, err := namespaceFlag(namespace)
			if err != nil {
				return err
			}
			if allNamespaces && ra.kind != kindPods {
				return badInput(errors.New("delete: --all-namespaces (-A) is for pods"))
			}
			switch ra.kind {
			case kindVolumes:
				return deleteVolumes(cfg, ns, ra.names, all, ignore)
			case kindConfigMaps, kindSecrets:
				return deleteObjects(cfg, ns, ra.kind, ra.names, all, ignore)
			}
			if allNamespaces && !all {
				return badInput(errors.New("delete: a resource cannot be retrieved by name across all namespaces"))
			}
			var targets []podID
			for _, n := range ra.names {
				targets = append(targets, podID{ns, n})
			}
			if all {
				// As kubectl: with --all a pod that went meanwhile is no error.
				if !cmd.Flags().Changed("ignore-not-found") {
					ignore = true
				}
				list, err := pods.ListSummaries(cfg)
				if err != nil {
					return &exitError{exitFailed, fmt.Errorf("delete pods --all: %w", err)}
				}
				for _, p := range list {
					if allNamespaces || p.Metadata.Namespace == ns {
						targets = append(targets, podID{p.Metadata.Namespace, p.Metadata.Name})
					}
				}
				if len(targets) == 0 {
					noResources(getOptions{namespace: ns, allNamespaces: allNamespaces})
					return nil
				}
			}
			verb := "deleted"
			if force {
				verb = "force deleted"
			}
			// As kubectl: every pod is asked to stop, each reported as it is (in order), then
			// the command waits for them all. The stops are asked a few at a time: each waits
			// for its monitor's answer, which is slow while hundreds of pods tear down.
			var errs []error
			var asked []podID
			askErrs := make([]error, len(targets))
			asking := make([]chan struct{}, len(targets))
			for i := range asking {
				asking[i] = make(chan struct{})
			}
			go forEachBounded(len(targets), askWorkers, func(i int) {
				askErrs[i] = deletePod(cfg, targets[i].ns, targets[i].name, gp, false)
				close(asking[i])
			})
			for i, t := range targets {
				<-asking[i]
				switch err := askErrs[i]; {
				case errors.Is(err, pods.ErrPodNotFound):
					if !ignore {
						errs = append(errs, &notFoundError{t.name})
					}
				case err != nil:
					errs = append(errs, fmt.Errorf("delete pod/%s: %w", t.name, err))
				default:
					fmt.Printf("pod %q %s\n", t.name, verb)
					asked = append(asked, t)
				}
			}
			if wait {
				var mu sync.Mutex
				// One waiter holds a file descriptor (the pod's lock) and a thread: bounded,
				// below the open-files limit, which is never raised.
				forEachBounded(len(asked), waitWorkers(), func(i int) {
					// The stop is under way: wait for the monitor, which removes the pod,
					// then remove what may be left (after a failed release, or of a pod
					// whose monitor is gone).
					t := asked[i]
					dir := podDir(cfg, t.ns, t.name)
					waitMonitorExit(context.Background(), dir)
					if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
						return
					}
					err := deletePod(cfg, t.ns, t.name, gp, true)
					if err != nil && !errors.Is(err, pods.ErrPodNotFound) {
						mu.Lock()
						errs = append(errs, fmt.Errorf("delete pod/%s: %w", t.name, err))
						mu.Unlock()
					}
				})
			}
			return reportKubectlErrors(errs...)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&namespace, "namespace", "n", "default", "namespace")
	f.Int64Var(&grace, "grace-period", 0, "seconds the containers get to stop before SIGKILL (default: the pod's terminationGracePeriodSeconds); 0 needs --force")
	f.BoolVar(&now, "now", false, "stop at once: --grace-period=1")
	f.BoolVar(&force, "force", false, "with --grace-period=0 (the default with --force), kill the containers at once")
	f.BoolVar(&wait, "wait", true, "wait until the pods are stopped and everything they held is released")
	f.BoolVar(&all, "all", false, "delete every pod of the namespace")
	f.BoolVarP(&allNamespaces, "all-namespaces", "A", false, "with --all, delete the pods of every namespace")
	f.BoolVar(&ignore, "ignore-not-found", false, "a missing pod is not an error (the default with --all)")
	cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(g))
	return cmd
}

// deletePod is pods.Delete, for which a pod removed while it works is gone as asked: the
// pod's monitor removes it once stopped, and another delete, or the `run` that follows it, may
// remove it concurrently.
func deletePod(cfg state.Config, ns, name string, grace *int64, wait bool) error {
	err := pods.Delete(cfg, ns, name, grace, wait)
	if err != nil && !errors.Is(err, pods.ErrPodNotFound) {
		if _, serr := os.Lstat(podDir(cfg, ns, name)); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
	}
	return err
}

// deleteGrace turns the grace flags into the grace period of the stop, as kubectl's delete
// does: nil keeps the pod's terminationGracePeriodSeconds; --now is 1; --force alone is 0; a 0
// without --force becomes 1 (kubectl's guard against an immediate deletion asked by mistake).
// Unlike kubectl, which takes -1 for "the pod's own", a negative value is refused.
func deleteGrace(set bool, grace int64, now, force bool) (*int64, error) {
	if set && grace < 0 {
		return nil, badInput(fmt.Errorf("--grace-period: must not be negative, got %d", grace))
	}
	if now && set {
		return nil, badInput(errors.New("--now and --grace-period cannot be specified together"))
	}
	var g int64
	switch {
	case now:
		g = 1
	case set && grace == 0 && !force:
		g = 1
	case set:
		g = grace
	case force:
		g = 0
	default:
		return nil, nil
	}
	return &g, nil
}

// askWorkers is how many stops a delete asks at once.
const askWorkers = 8

// waitWorkers is how many pods a delete waits for at once: each waiter holds an open file and
// a blocked thread. At most 64, and at most a quarter of the open-files limit (RLIMIT_NOFILE,
// which minipod never raises). Waiters take the pods in order; while one waits for a slow
// pod, those after it finish, so the total is the slowest pod's time, not a sum.
func waitWorkers() int {
	var lim unix.Rlimit
	n := 64
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil && lim.Cur/4 < uint64(n) {
		n = max(1, int(lim.Cur/4))
	}
	return n
}

// forEachBounded calls fn(0) .. fn(n-1) on at most workers goroutines, and returns when all
// have returned.
func forEachBounded(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, max(1, workers)) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
