package main

// What the kubectl-fluent commands share: the resource words and names kubectl users type,
// kubectl's error messages, finding a pod and its containers, and following a pod through its
// monitor's watch stream.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

// resourceKind is a type of object the commands know.
type resourceKind string

const (
	kindPods       resourceKind = "pods"
	kindEvents     resourceKind = "events"
	kindConfigMaps resourceKind = "configmaps"
	kindSecrets    resourceKind = "secrets"
	kindVolumes    resourceKind = "volumes" // the named volumes of persistentVolumeClaims
)

// parseKind maps what kubectl accepts for a resource type (singular, plural, short name,
// any case) to a kind.
func parseKind(word string) (resourceKind, bool) {
	switch strings.ToLower(word) {
	case "pod", "pods", "po":
		return kindPods, true
	case "event", "events", "ev":
		return kindEvents, true
	case "configmap", "configmaps", "cm":
		return kindConfigMaps, true
	case "secret", "secrets":
		return kindSecrets, true
	case "volume", "volumes", "vol", "persistentvolumeclaim", "persistentvolumeclaims", "pvc":
		return kindVolumes, true
	}
	return "", false
}

// resourceArgs are the objects a command line names.
type resourceArgs struct {
	kind  resourceKind
	names []string
}

// parseResourceArgs reads kubectl's two forms, "TYPE [NAME...]" and "TYPE/NAME...", accepting
// the kinds given (the first is what an error suggests).
func parseResourceArgs(verb string, args []string, kinds ...resourceKind) (resourceArgs, error) {
	supported := func() string {
		s := make([]string, len(kinds))
		for i, k := range kinds {
			s[i] = string(k)
		}
		return strings.Join(s, ", ")
	}
	check := func(word string) (resourceKind, error) {
		k, ok := parseKind(word)
		if ok {
			for _, want := range kinds {
				if k == want {
					return k, nil
				}
			}
		}
		return "", badInput(fmt.Errorf("%s: unknown resource type %q (supported: %s)", verb, word, supported()))
	}
	if len(args) == 0 {
		return resourceArgs{}, badInput(fmt.Errorf("%s: you must specify the type of resource (supported: %s)", verb, supported()))
	}
	var ra resourceArgs
	if strings.Contains(args[0], "/") {
		for _, a := range args {
			word, name, ok := strings.Cut(a, "/")
			if !ok {
				return ra, badInput(fmt.Errorf("%s: argument %q: arguments in resource/name form must have a single resource and name", verb, a))
			}
			k, err := check(word)
			if err != nil {
				return ra, err
			}
			if ra.kind != "" && k != ra.kind {
				return ra, badInput(fmt.Errorf("%s: argument %q: all arguments must name the same type of resource", verb, a))
			}
			ra.kind = k
			ra.names = append(ra.names, name)
		}
	} else {
		k, err := check(args[0])
		if err != nil {
			return ra, err
		}
		ra.kind = k
		for _, a := range args[1:] {
			if strings.Contains(a, "/") {
				return ra, badInput(fmt.Errorf("%s: argument %q: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'minipod %s %s' instead of 'minipod %s %s %s')",
					verb, a, verb, a, verb, args[0], a))
			}
			ra.names = append(ra.names, a)
		}
	}
	for _, n := range ra.names {
		if err := validPodName(n); err != nil {
			return ra, badInput(fmt.Errorf("%s: argument %q: %w", verb, n, err))
		}
	}
	return ra, nil
}

// parsePodArg reads the one pod a command such as logs or exec takes: NAME or pod/NAME.
func parsePodArg(verb, arg string) (string, error) {
	name := arg
	if word, n, ok := strings.Cut(arg, "/"); ok {
		if k, ok := parseKind(word); !ok || k != kindPods {
			return "", badInput(fmt.Errorf("%s: argument %q: unknown resource type %q (supported: pods)", verb, arg, word))
		}
		name = n
	}
	if err := validPodName(name); err != nil {
		return "", badInput(fmt.Errorf("%s: argument %q: %w", verb, arg, err))
	}
	return name, nil
}

// validPodName checks a pod name as the API server does (a DNS-1123 subdomain), which also
// keeps it from naming anything outside the state directory.
func validPodName(name string) error {
	if name == "" {
		return errors.New("a pod name must not be empty")
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("invalid pod name: %s", strings.Join(errs, "; "))
	}
	return nil
}

// namespaceFlag is the -n flag's value, checked; "" is the default namespace, as in kubectl.
func namespaceFlag(ns string) (string, error) {
	if ns == "" {
		return "default", nil
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", badInput(fmt.Errorf("-n: invalid namespace %q: %s", ns, strings.Join(errs, "; ")))
	}
	return ns, nil
}

// notFoundError is a pod that does not exist, reported as the API server reports it.
type notFoundError struct{ name string }

func (e *notFoundError) Error() string { return fmt.Sprintf("pods %q not found", e.name) }

func isNotFound(err error) bool {
	var nf *notFoundError
	var onf *objectNotFoundError
	return errors.As(err, &nf) || errors.As(err, &onf)
}

// badRequestError is a request about an existing pod that cannot be served as asked, such
// as the logs of a container that has not started: the API server's BadRequest.
type badRequestError struct{ msg string }

func (e *badRequestError) Error() string { return e.msg }

// reportKubectlErrors prints each error the way kubectl does (`Error from server (NotFound): pods "x"
// not found` for a missing pod, `error: ...` otherwise) and returns the exit status: nil if
// there were none, exit 1 otherwise (exit 2 if one was bad input).
func reportKubectlErrors(errs ...error) error {
	code := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ee *exitError
		switch {
		case isNotFound(err):
			fmt.Fprintf(os.Stderr, "Error from server (NotFound): %v\n", err)
		case errors.As(err, new(*badRequestError)):
			fmt.Fprintf(os.Stderr, "Error from server (BadRequest): %v\n", err)
		case errors.As(err, &ee) && ee.err == nil:
		default:
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		c := exitFailed
		if errors.As(err, &ee) {
			c = ee.code
		}
		code = max(code, c)
	}
	if code == 0 {
		return nil
	}
	return &exitError{code, nil}
}

// podDir is the state directory of a pod.
func podDir(cfg state.Config, ns, name string) string { return cfg.PodDir(ns, name) }

// readPod returns a pod's status, as `get` shows it: a pod whose monitor died without tearing
// down is Unknown (the rule of pods.List). A pod directory without a status yet is a pod being
// created, which does not exist yet, as for pods.List.
func readPod(cfg state.Config, ns, name string) (*api.Pod, error) {
	p, err := pods.Get(cfg, ns, name)
	if errors.Is(err, pods.ErrPodNotFound) {
		return nil, &notFoundError{name}
	}
	return p, err
}

// followPod reports the pod's statuses and events as its monitor pushes them, until ctx ends
// or the monitor is gone; then the final status from the pod's files, if any, is reported
// too. It returns how the monitor ended.
func followPod(ctx context.Context, dir string, status func(*api.Pod), event func(api.Event)) (pods.MonitorState, error) {
	for {
		w, st, err := pods.Watch(ctx, dir)
		if err != nil {
			return st, err
		}
		if w == nil {
			if p, err := state.ReadStatus(dir); err == nil && status != nil {
				pods.MarkUnknown(dir, p)
				status(p)
			}
			return st, nil
		}
		stop := context.AfterFunc(ctx, func() { w.Close() })
		for {
			ev, err := w.Next()
			if err != nil {
				break
			}
			switch {
			case ev.Type == "status" && ev.Pod != nil:
				if status != nil {
					status(ev.Pod)
				}
			case ev.Type == "event" && ev.Event != nil:
				if event != nil {
					event(*ev.Event)
				}
			}
		}
		w.Close()
		stop()
		if ctx.Err() != nil {
			return pods.MonitorRunning, ctx.Err()
		}
		// The stream ended: the monitor is exiting or gone, or it dropped a watcher that fell
		// behind. Opening it again tells which (a new stream replays the status and events).
	}
}

// waitMonitorExit waits until the pod's monitor has released its lock, without polling.
func waitMonitorExit(ctx context.Context, dir string) pods.MonitorState {
	f, err := os.Open(filepath.Join(dir, state.LockFile))
	if err != nil {
		return pods.MonitorStateOf(dir)
	}
	done := make(chan struct{})
	go func() {
		// A shared lock, held for no time: it is granted once the monitor's is gone.
		unix.Flock(int(f.Fd()), unix.LOCK_SH)
		f.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// The goroutine stays blocked until the monitor exits or the process does.
	}
	return pods.MonitorStateOf(dir)
}

// Containers.

// defaultContainerAnnotation names the container kubectl picks when none is named.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// findContainer returns the container of p named name (regular, init or ephemeral), or, when name is
// empty, the one kubectl picks: the default-container annotation's, else the first regular
// one. defaulted is set when a pod with several containers had one picked for the user, who
// is then told which (kubectl's "Defaulted container" message).
func findContainer(p *api.Pod, name string) (c *api.Container, defaulted bool, err error) {
	all := append(append([]api.Container{}, p.Spec.Containers...), p.Spec.InitContainers...)
	for _, ec := range p.Spec.EphemeralContainers {
		all = append(all, ec.Container)
	}
	lookup := func(n string) *api.Container {
		for i := range all {
			if all[i].Name == n {
				return &all[i]
			}
		}
		return nil
	}
	if name != "" {
		if c := lookup(name); c != nil {
			return c, false, nil
		}
		return nil, false, fmt.Errorf("container %s is not valid for pod %s (containers: %s)", name, p.Metadata.Name, allContainerNames(p))
	}
	if n := p.Metadata.Annotations[defaultContainerAnnotation]; n != "" {
		if c := lookup(n); c != nil {
			return c, len(all) > 1, nil
		}
	}
	if len(p.Spec.Containers) == 0 {
		return nil, false, fmt.Errorf("pod %s has no containers", p.Metadata.Name)
	}
	return &p.Spec.Containers[0], len(all) > 1, nil
}

// allContainerNames lists a pod's containers as kubectl's "Defaulted container" message
// does: init containers marked "(init)", then the regular ones.
func allContainerNames(p *api.Pod) string {
	var names []string
	for _, c := range p.Spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range p.Spec.EphemeralContainers {
		names = append(names, c.Name+" (ephem)")
	}
	return strings.Join(names, ", ")
}

// containerStatus returns the status of the named container, regular, init or ephemeral.
func containerStatus(p *api.Pod, name string) *api.ContainerStatus {
	for _, list := range [][]api.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// nodeName is the name of this host, the "node" every pod on it runs on.
func nodeName() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}
