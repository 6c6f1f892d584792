package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/hostlimit"
	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

type getOptions struct {
	namespace     string
	allNamespaces bool
	output        string
	watch         bool
}

func newGetCmd(g *globalFlags) *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get (pods [NAME...] | pod/NAME... | events | configmaps [NAME...] | secrets [NAME...] | volumes [NAME...]) [-n NS | -A] [-o json|yaml|wide|name] [-w]",
		Short: "Show pods, their events, ConfigMaps, Secrets or the named volumes of claims, like kubectl get (-w: then every change)",
		Long: `Show pods in kubectl's table (NAME READY STATUS RESTARTS AGE IP; -o wide adds NODE,
NOMINATED NODE and READINESS GATES), as JSON or YAML (one pod: the Pod; several: a v1 List), or
as pod/NAME. With -w the table is followed by a row each time a pod's status changes, and by one
when a pod is deleted, until interrupted. "get events" lists the pods' events; "get configmaps"
and "get secrets" the stored objects (NAME DATA AGE, secrets with TYPE). "get volumes" (or pvc)
lists the named volumes of persistentVolumeClaims (NAME CAPACITY ACCESS MODES USED BY AGE), as
PersistentVolumeClaims with -o json or yaml.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(errors.New("get: you must specify the type of resource to get (pods, events, configmaps, secrets or volumes)"))
			}
			return nil
		},
		ValidArgsFunction: completeGetArgs(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ra, err := parseResourceArgs("get", args, kindPods, kindEvents, kindConfigMaps, kindSecrets, kindVolumes)
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
			o.namespace = ns
			switch ra.kind {
			case kindEvents:
				return getEvents(cfg, o, ra.names)
			case kindConfigMaps, kindSecrets:
				return getObjects(cfg, o, ra.kind, ra.names)
			case kindVolumes:
				return getVolumes(cfg, o, ra.names)
			}
			return getPods(cfg, o, ra.names)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the objects of every namespace")
	f.StringVarP(&o.output, "output", "o", "", "output format: json, yaml, wide or name")
	f.BoolVarP(&o.watch, "watch", "w", false, "after listing, watch for changes")
	cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml", "wide", "name"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(g))
	return cmd
}

// podPrinter shows pods in one of kubectl's output formats.
type podPrinter struct {
	out      io.Writer
	format   string // "", "wide", "json", "yaml", "name"
	withNS   bool
	node     string
	table    *kubeprint.Table
	header   bool // printed
	printed  int  // objects printed (json and yaml separate theirs)
	now      func() time.Time
	lastSeen map[string]string // what was last printed of each pod, by namespace/name
}

func newPodPrinter(out io.Writer, format string, withNS bool) (*podPrinter, error) {
	switch format {
	case "", "wide", "json", "yaml", "name":
	default:
		return nil, badInput(fmt.Errorf("-o: unsupported output format %q (json, yaml, wide, name)", format))
	}
	return &podPrinter{out: out, format: format, withNS: withNS, node: nodeName(), table: kubeprint.NewTable(out), now: time.Now, lastSeen: map[string]string{}}, nil
}

func (pp *podPrinter) isTable() bool { return pp.format == "" || pp.format == "wide" }

// cells is a pod's row in the table formats.
func (pp *podPrinter) cells(p *api.Pod) []string {
	var c []string
	if pp.withNS {
		c = append(c, p.Metadata.Namespace)
	}
	c = append(c, kubeprint.Pod(p, pp.now()).Cells()...)
	if pp.format == "wide" {
		c = append(c, kubeprint.PodWide(pp.node)...)
	}
	return c
}

func (pp *podPrinter) addHeader() {
	if pp.header {
		return
	}
	pp.header = true
	var h []string
	if pp.withNS {
		h = append(h, "NAMESPACE")
	}
	h = append(h, kubeprint.PodColumns...)
	if pp.format == "wide" {
		h = append(h, kubeprint.PodWideColumns...)
	}
	pp.table.Add(h...)
}

// list prints pods as `kubectl get` does; single is set when one pod was asked for by name, and
// is then printed as itself rather than in a List.
func (pp *podPrinter) list(list []*api.Pod, single bool) error {
	switch pp.format {
	case "json", "yaml":
		var v any = podList(list)
		if single && len(list) == 1 {
			v = asPod(list[0])
		}
		return pp.object(v)
	case "name":
		for _, p := range list {
			pp.remember(p, pp.cells(p))
			fmt.Fprintf(pp.out, "pod/%s\n", p.Metadata.Name)
		}
		return nil
	}
	if len(list) == 0 {
		return nil
	}
	pp.addHeader()
	for _, p := range list {
		c := pp.cells(p)
		pp.table.Add(c...)
		pp.remember(p, c)
	}
	return pp.table.Flush()
}

// remember records what was shown of a pod, its AGE left out (it changes by itself).
func (pp *podPrinter) remember(p *api.Pod, cells []string) bool {
	key := p.Metadata.Namespace + "/" + p.Metadata.Name
	var seen string
	switch pp.format {
	case "json", "yaml":
		b, _ := json.Marshal(p)
		seen = string(b)
	default:
		c := slices.Clone(cells)
		if i := slices.Index(pp.columns(), "AGE"); i >= 0 && i < len(c) {
			c[i] = ""
		}
		b, _ := json.Marshal(c)
		seen = string(b)
	}
	if pp.lastSeen[key] == seen {
		return false
	}
	pp.lastSeen[key] = seen
	return true
}

func (pp *podPrinter) columns() []string {
	var h []string
	if pp.withNS {
		h = append(h, "NAMESPACE")
	}
	h = append(h, kubeprint.PodColumns...)
	if pp.format == "wide" {
		h = append(h, kubeprint.PodWideColumns...)
	}
	return h
}

// update prints a pod's new status if what is shown of it changed; deleted prints it once
// more, as kubectl prints a watch's DELETED event.
func (pp *podPrinter) update(p *api.Pod, deleted bool) error {
	c := pp.cells(p)
	if !pp.remember(p, c) && !deleted {
		return nil
	}
	if deleted {
		delete(pp.lastSeen, p.Metadata.Namespace+"/"+p.Metadata.Name)
	}
	switch pp.format {
	case "json", "yaml":
		return pp.object(asPod(p))
	case "name":
		_, err := fmt.Fprintf(pp.out, "pod/%s\n", p.Metadata.Name)
		return err
	}
	pp.addHeader()
	pp.table.Add(c...)
	return pp.table.Flush()
}

// object prints one JSON or YAML document, kubectl's way: JSON indented by four spaces,
// YAML documents separated by "---" when several follow each other.
func (pp *podPrinter) object(v any) error {
	var b []byte
	var err error
	if pp.format == "json" {
		b, err = json.MarshalIndent(v, "", "    ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(v)
		if pp.printed > 0 {
			b = append([]byte("---\n"), b...)
		}
	}
	if err != nil {
		return err
	}
	pp.printed++
	_, err = pp.out.Write(b)
	return err
}

// asPod returns the pod with its type meta, as the API server serves it.
func asPod(p *api.Pod) *api.Pod {
	q := *p
	if q.APIVersion == "" {
		q.APIVersion = "v1"
	}
	if q.Kind == "" {
		q.Kind = "Pod"
	}
	return &q
}

// kubeList is a v1 List, with kubectl's member order.
type kubeList struct {
	APIVersion string         `json:"apiVersion"`
	Items      []any          `json:"items"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
}

func podList(list []*api.Pod) kubeList {
	l := kubeList{APIVersion: "v1", Kind: "List", Items: []any{}, Metadata: map[string]any{"resourceVersion": ""}}
	for _, p := range list {
		l.Items = append(l.Items, asPod(p))
	}
	return l
}

// noResources is kubectl's message for an empty listing, on stderr.
func noResources(o getOptions) {
	if o.allNamespaces {
		fmt.Fprintln(os.Stderr, "No resources found")
	} else {
		fmt.Fprintf(os.Stderr, "No resources found in %s namespace.\n", o.namespace)
	}
}

func getPods(cfg state.Config, o getOptions, names []string) error {
	if !o.watch {
		oneShotGC()
	}
	if o.allNamespaces && len(names) > 0 {
		return badInput(errors.New("get: a resource cannot be retrieved by name across all namespaces"))
	}
	pp, err := newPodPrinter(os.Stdout, o.output, o.allNamespaces)
	if err != nil {
		return err
	}
	var shown []*api.Pod
	var errs []error
	if len(names) == 0 {
		list := pods.List
		if o.output != "json" && o.output != "yaml" {
			list = pods.ListSummaries // kubectl's columns need no more
		}
		all, err := list(cfg)
		if err != nil {
			return &exitError{exitFailed, fmt.Errorf("get pods: %w", err)}
		}
		for _, p := range all {
			if o.allNamespaces || p.Metadata.Namespace == o.namespace {
				shown = append(shown, p)
			}
		}
	} else {
		for _, n := range names {
			p, err := readPod(cfg, o.namespace, n)
			if err != nil {
				if !isNotFound(err) {
					err = fmt.Errorf("get pod/%s: %w", n, err)
				}
				errs = append(errs, err)
				continue
			}
			shown = append(shown, p)
		}
	}
	switch {
	case o.watch && (o.output == "json" || o.output == "yaml"):
		// Watching, kubectl prints every object on its own, from the first.
		for _, p := range shown {
			if err := pp.update(p, false); err != nil {
				return fmt.Errorf("get pods: %w", err)
			}
		}
	case len(shown) > 0 || !pp.isTable() && len(errs) == 0:
		if err := pp.list(shown, len(names) == 1); err != nil {
			return fmt.Errorf("get pods: %w", err)
		}
	case len(names) == 0 && !o.watch:
		noResources(o)
	}
	if err := reportKubectlErrors(errs...); err != nil || !o.watch {
		return err
	}
	return watchPods(context.Background(), cfg, o, names, pp)
}

// watchPods prints every change of the pods selected, after the listing, until ctx ends.
func watchPods(ctx context.Context, cfg state.Config, o getOptions, names []string, pp *podPrinter) error {
	last := map[podID]*api.Pod{}
	err := watchPodSet(ctx, cfg, podSetHandler{
		filter: selectPods(o, names),
		status: func(id podID, p *api.Pod) error {
			last[id] = p
			return pp.update(p, false)
		},
		gone: func(id podID) error {
			p := last[id]
			delete(last, id)
			if p == nil {
				return nil
			}
			return pp.update(p, true)
		},
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{exitFailed, fmt.Errorf("get pods --watch: %w", err)}
	}
	return nil
}

// selectPods is the filter of a listing: the namespace (or all) and the names, if any.
func selectPods(o getOptions, names []string) func(podID) bool {
	return func(id podID) bool {
		if !o.allNamespaces && id.ns != o.namespace {
			return false
		}
		return len(names) == 0 || slices.Contains(names, id.name)
	}
}

// podID names a pod.
type podID struct{ ns, name string }

func (id podID) String() string { return id.ns + "/" + id.name }

// podSetHandler receives what watchPodSet sees, one call at a time; an error ends the watch.
type podSetHandler struct {
	filter func(podID) bool
	status func(podID, *api.Pod) error
	event  func(podID, api.Event) error
	gone   func(podID) error
}

// watchPodSet follows every pod of the state directory that passes the filter, those that
// exist and those that appear later (inotify on the pods directory), through their monitors'
// watch streams, until ctx ends or a handler fails. Nothing is polled.
func watchPodSet(ctx context.Context, cfg state.Config, h podSetHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	podsDir := cfg.PodsDir()
	// The directory every pod is created in: watched, it must exist.
	if err := os.MkdirAll(podsDir, 0o700); err != nil {
		return err
	}
	dw, err := pods.NewDirWatch(podsDir)
	if err != nil {
		return err
	}
	defer dw.Close()

	// One follower per pod directory: a new pod of the same name is another.
	type follower struct{ dir os.FileInfo }
	known := map[podID]*follower{}
	msgs := make(chan func() error)
	// Reports of a follower whose pod is gone are dropped.
	send := func(id podID, f *follower, fn func() error) {
		select {
		case msgs <- func() error {
			if known[id] != f {
				return nil
			}
			return fn()
		}:
		case <-ctx.Done():
		}
	}
	scan := func() error {
		ents, err := os.ReadDir(podsDir)
		if err != nil {
			return err
		}
		present := map[podID]bool{}
		for _, e := range ents {
			ns, name, ok := state.ParsePodKey(e.Name())
			id := podID{ns, name}
			if !ok || !e.IsDir() || (h.filter != nil && !h.filter(id)) {
				continue
			}
			dir := filepath.Join(podsDir, e.Name())
			fi, err := os.Stat(dir)
			if err != nil {
				continue
			}
			present[id] = true
			if f := known[id]; f != nil && os.SameFile(f.dir, fi) {
				continue
			} else if f != nil && h.gone != nil {
				// Removed and created anew between two looks.
				if err := h.gone(id); err != nil {
					return err
				}
			}
			f := &follower{dir: fi}
			known[id] = f
			var status func(*api.Pod)
			if h.status != nil {
				status = func(p *api.Pod) { send(id, f, func() error { return h.status(id, p) }) }
			}
			var event func(api.Event)
			if h.event != nil {
				event = func(e api.Event) { send(id, f, func() error { return h.event(id, e) }) }
			}
			go func() {
				// One connection per pod: past the open-files limit the watch ends, naming it,
				// rather than leave pods unwatched.
				if _, err := followPod(ctx, dir, status, event); err != nil {
					if le := (*hostlimit.Error)(nil); errors.As(hostlimit.Files("watch pod "+id.String(), err), &le) {
						send(id, f, func() error { return le })
					}
				}
			}()
		}
		for id := range known {
			if !present[id] {
				delete(known, id)
				if h.gone != nil {
					if err := h.gone(id); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := scan(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case fn := <-msgs:
			if err := fn(); err != nil {
				return err
			}
		case <-dw.C:
			if _, err := os.Stat(podsDir); err != nil {
				return fmt.Errorf("watch %s: %w", podsDir, err)
			}
			if err := scan(); err != nil {
				return err
			}
		}
	}
}

// oneShotGC turns the collector off for the rest of a command that lists and exits: decoding
// a thousand statuses in a fresh process otherwise spends about a third of its CPU in
// collections of a heap that is about to be dropped whole (`perf stat` of `get pods` on 1,000
// pods: 125 against 81 ms of CPU). The memory limit still collects should the heap pass it.
// GOGC or GOMEMLIMIT in the environment win.
func oneShotGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(256 << 20)
	}
}
