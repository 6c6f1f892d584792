package main

// The objects pods use, ConfigMaps, Secrets and PersistentVolumeClaims: read with the pods of
// `run` and stored or made first; ConfigMaps and Secrets shown by `get` and removed by
// `delete` as kubectl shows and removes them (claims: volume.go).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/objects"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/volume"
)

// objectKinds maps the resource words of stored objects to their kinds.
var objectKinds = map[resourceKind]string{kindConfigMaps: "ConfigMap", kindSecrets: "Secret"}

// objectNotFoundError is a stored object that does not exist, as the API server reports it
// (configmaps "x" not found).
type objectNotFoundError struct {
	kind resourceKind
	name string
}

func (e *objectNotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.kind, e.name) }

// readObjects reads every manifest of `run` (files, or "-" for stdin once), each of one or
// more documents, and returns their pods and their other objects, validated. Nothing is
// created here.
func readObjects(args []string) ([]*api.Pod, []api.Object, error) {
	var pods []*api.Pod
	var others []api.Object
	if n := len(slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a != "-" })); n > 1 {
		return nil, nil, badInput(errors.New("run: - (standard input) may be given once"))
	}
	for _, arg := range args {
		var r io.Reader = os.Stdin
		name := "standard input"
		if arg != "-" {
			f, err := os.Open(arg)
			if err != nil {
				return nil, nil, badInput(err)
			}
			defer f.Close()
			r, name = f, arg
		}
		data, err := api.ReadInput(r, name)
		if err != nil {
			return nil, nil, badInput(err)
		}
		objs, err := api.LoadObjects(data)
		if err != nil {
			return nil, nil, badInput(fmt.Errorf("%s:\n%w", arg, err))
		}
		for _, o := range objs {
			if p, ok := o.(*api.Pod); ok {
				pods = append(pods, p)
			} else {
				others = append(others, o)
			}
		}
	}
	for _, p := range pods {
		// What one host accepts but does not do as a cluster would, said once.
		for _, w := range api.Warnings(p) {
			fmt.Fprintln(os.Stderr, "minipod: warning:", w)
		}
	}
	return pods, others, nil
}

// applyObjects stores objects as `kubectl apply` does and says what it did to out, kubectl's
// way (configmap/x created, configured or unchanged): ConfigMaps and Secrets in the object
// store, then the named volumes of PersistentVolumeClaims, which `podman kube play` makes and
// keeps as they are when they exist (persistentvolumeclaim/x unchanged). An update the API
// server would refuse is bad input; nothing is then stored.
func applyObjects(cfg state.Config, objs []api.Object, out io.Writer, prefix string) error {
	var stored []api.Object
	var claims []*api.PersistentVolumeClaim
	for _, o := range objs {
		if c, ok := o.(*api.PersistentVolumeClaim); ok {
			claims = append(claims, c)
		} else {
			stored = append(stored, o)
		}
	}
	if len(stored) > 0 {
		results, err := objects.Open(cfg.ObjectsDir()).Apply(stored, time.Now())
		var ie *api.InvalidError
		if errors.As(err, &ie) {
			return badInput(fmt.Errorf("refused by the rules of updates:\n%w", err))
		}
		if err != nil {
			return &exitError{exitFailed, err}
		}
		for _, r := range results {
			fmt.Fprintf(out, "%s%s/%s %s\n", prefix, strings.ToLower(r.Object.GetKind()), r.Object.GetMeta().Name, r.Action)
		}
	}
	store := volume.Claims{Dir: cfg.VolumesDir()}
	for _, c := range claims {
		created, err := store.Create(c)
		if err != nil {
			return &exitError{exitFailed, err}
		}
		action := "unchanged"
		if created {
			action = "created"
		}
		fmt.Fprintf(out, "%spersistentvolumeclaim/%s %s\n", prefix, c.Metadata.Name, action)
	}
	return nil
}

// getObjects is `get configmaps|secrets`: kubectl's table (NAME DATA AGE, secrets with TYPE),
// or the objects as JSON, YAML (a List unless one was named) or kind/name.
func getObjects(cfg state.Config, o getOptions, kind resourceKind, names []string) error {
	if o.watch {
		return badInput(fmt.Errorf("get %s: --watch is supported for pods only", kind))
	}
	if o.allNamespaces && len(names) > 0 {
		return badInput(errors.New("get: a resource cannot be retrieved by name across all namespaces"))
	}
	pp, err := newPodPrinter(os.Stdout, o.output, o.allNamespaces)
	if err != nil {
		return err
	}
	store := objects.Open(cfg.ObjectsDir())
	k := objectKinds[kind]
	var shown []api.Object
	var errs []error
	if len(names) == 0 {
		ns := o.namespace
		if o.allNamespaces {
			ns = ""
		}
		if shown, err = store.List(k, ns); err != nil {
			return &exitError{exitFailed, fmt.Errorf("get %s: %w", kind, err)}
		}
	} else {
		for _, n := range names {
			obj, err := store.Get(k, o.namespace, n)
			var nf *api.NotFoundError
			switch {
			case errors.As(err, &nf):
				errs = append(errs, &objectNotFoundError{kind, n})
			case err != nil:
				errs = append(errs, fmt.Errorf("get %s/%s: %w", kind, n, err))
			default:
				shown = append(shown, obj)
			}
		}
	}
	switch o.output {
	case "json", "yaml":
		if len(shown) > 0 || len(errs) == 0 {
			var v any
			if len(names) == 1 && len(shown) == 1 {
				v = shown[0]
			} else {
				l := kubeList{APIVersion: "v1", Kind: "List", Items: []any{}, Metadata: map[string]any{"resourceVersion": ""}}
				for _, obj := range shown {
					l.Items = append(l.Items, obj)
				}
				v = l
			}
			if err := pp.object(v); err != nil {
				return fmt.Errorf("get %s: %w", kind, err)
			}
		}
	case "name":
		for _, obj := range shown {
			fmt.Fprintf(os.Stdout, "%s/%s\n", strings.ToLower(obj.GetKind()), obj.GetMeta().Name)
		}
	default:
		if len(shown) == 0 && len(names) == 0 {
			noResources(o)
		}
		if len(shown) > 0 {
			t := kubeprint.NewTable(os.Stdout)
			t.Add(objectColumns(kind, o.allNamespaces)...)
			now := time.Now()
			for _, obj := range shown {
				t.Add(objectCells(obj, o.allNamespaces, now)...)
			}
			if err := t.Flush(); err != nil {
				return err
			}
		}
	}
	return reportKubectlErrors(errs...)
}

// objectColumns are kubectl's columns for ConfigMaps (NAME DATA AGE) and Secrets (NAME TYPE
// DATA AGE), after NAMESPACE across all namespaces.
func objectColumns(kind resourceKind, withNS bool) []string {
	var h []string
	if withNS {
		h = append(h, "NAMESPACE")
	}
	if kind == kindSecrets {
		return append(h, "NAME", "TYPE", "DATA", "AGE")
	}
	return append(h, "NAME", "DATA", "AGE")
}

// objectCells is an object's row: DATA counts data and binaryData keys (printConfigMap,
// printSecret).
func objectCells(obj api.Object, withNS bool, now time.Time) []string {
	var c []string
	m := obj.GetMeta()
	if withNS {
		c = append(c, m.Namespace)
	}
	c = append(c, m.Name)
	age := "<unknown>"
	if m.CreationTimestamp != nil {
		age = kubeprint.Since(m.CreationTimestamp.Time, now)
	}
	switch o := obj.(type) {
	case *api.Secret:
		c = append(c, string(o.Type), strconv.Itoa(len(o.Data)))
	case *api.ConfigMap:
		c = append(c, strconv.Itoa(len(o.Data)+len(o.BinaryData)))
	}
	return append(c, age)
}

// deleteObjects is `delete configmap|secret NAME... | --all`: kubectl's configmap "x" deleted.
func deleteObjects(cfg state.Config, ns string, kind resourceKind, names []string, all, ignoreNotFound bool) error {
	store := objects.Open(cfg.ObjectsDir())
	k := objectKinds[kind]
	if all {
		list, err := store.List(k, ns)
		if err != nil {
			return &exitError{exitFailed, fmt.Errorf("delete %s --all: %w", kind, err)}
		}
		for _, o := range list {
			names = append(names, o.GetMeta().Name)
		}
		if len(names) == 0 {
			fmt.Fprintf(os.Stderr, "No resources found in %s namespace.\n", ns)
			return nil
		}
	}
	singular := strings.ToLower(k)
	var errs []error
	for _, n := range names {
		err := store.Delete(k, ns, n)
		var nf *api.NotFoundError
		switch {
		case errors.As(err, &nf):
			if !ignoreNotFound {
				errs = append(errs, &objectNotFoundError{kind, n})
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("delete %s/%s: %w", singular, n, err))
		default:
			fmt.Printf("%s %q deleted\n", singular, n)
		}
	}
	return reportKubectlErrors(errs...)
}
