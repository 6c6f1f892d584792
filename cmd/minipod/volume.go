package main

// The named volumes of persistentVolumeClaims, shown as the PersistentVolumeClaims they stand
// for: `get volumes` and `delete volume`.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/volume"
)

// volumeColumns are kubectl's for PersistentVolumeClaims that make sense on one host
// (CAPACITY and ACCESS MODES as declared), with the pods using each volume, as `kubectl
// describe pvc` shows them under "Used By".
var volumeColumns = []string{"NAME", "CAPACITY", "ACCESS MODES", "USED BY", "AGE"}

// volumePathAnnotation carries a volume's directory on the host in -o json and yaml, where
// `podman volume inspect` shows its Mountpoint.
const volumePathAnnotation = "minipod.io/path"

// volumeNotFoundError is a volume that does not exist, reported as the API server reports a
// missing claim; it unwraps to a notFoundError, so it is reported as NotFound.
type volumeNotFoundError struct{ name string }

func (e *volumeNotFoundError) Error() string {
	return fmt.Sprintf("persistentvolumeclaims %q not found", e.name)
}

func (e *volumeNotFoundError) Unwrap() error { return &notFoundError{e.name} }

func getVolumes(cfg state.Config, o getOptions, names []string) error {
	switch {
	case o.watch:
		return badInput(errors.New("get volumes: -w is not supported for volumes"))
	case o.allNamespaces && len(names) > 0:
		return badInput(errors.New("get: a resource cannot be retrieved by name across all namespaces"))
	}
	switch o.output {
	case "", "json", "yaml", "name":
	default:
		return badInput(fmt.Errorf("-o: unsupported output format %q for volumes (json, yaml, name)", o.output))
	}
	claims := volume.Claims{Dir: cfg.VolumesDir()}
	var shown []*volume.Claim
	var errs []error
	if len(names) == 0 {
		all, err := claims.List()
		if err != nil {
			return &exitError{exitFailed, fmt.Errorf("get volumes: %w", err)}
		}
		for _, c := range all {
			if o.allNamespaces || c.Metadata.Namespace == o.namespace {
				shown = append(shown, c)
			}
		}
	} else {
		for _, n := range names {
			c, err := claims.Get(o.namespace, n)
			switch {
			case errors.Is(err, volume.ErrClaimNotFound):
				errs = append(errs, &volumeNotFoundError{n})
			case err != nil:
				errs = append(errs, fmt.Errorf("get volume/%s: %w", n, err))
			default:
				shown = append(shown, c)
			}
		}
	}
	if len(shown) == 0 && len(errs) == 0 {
		if o.output == "json" || o.output == "yaml" {
			pp := &podPrinter{out: os.Stdout, format: o.output}
			return pp.object(volumeList(nil))
		}
		noResources(o)
		return nil
	}
	if len(shown) > 0 {
		if err := printVolumes(cfg, o, shown, len(names) == 1); err != nil {
			return err
		}
	}
	return reportKubectlErrors(errs...)
}

func printVolumes(cfg state.Config, o getOptions, list []*volume.Claim, single bool) error {
	switch o.output {
	case "json", "yaml":
		pp := &podPrinter{out: os.Stdout, format: o.output}
		if single && len(list) == 1 {
			return pp.object(asClaim(list[0]))
		}
		return pp.object(volumeList(list))
	case "name":
		for _, c := range list {
			fmt.Printf("persistentvolumeclaim/%s\n", c.Metadata.Name)
		}
		return nil
	}
	users, err := pods.VolumeUsers(cfg)
	if err != nil {
		return &exitError{exitFailed, fmt.Errorf("get volumes: %w", err)}
	}
	t := kubeprint.NewTable(os.Stdout)
	h := volumeColumns
	if o.allNamespaces {
		h = append([]string{"NAMESPACE"}, h...)
	}
	t.Add(h...)
	now := time.Now()
	for _, c := range list {
		var row []string
		if o.allNamespaces {
			row = append(row, c.Metadata.Namespace)
		}
		t.Add(append(row, volumeCells(c, users[c.Metadata.Namespace+"/"+c.Metadata.Name], now)...)...)
	}
	return t.Flush()
}

// volumeCells is a volume's row: its name, what its claim declared, the pods using it and
// its age.
func volumeCells(c *volume.Claim, users []string, now time.Time) []string {
	capacity := ""
	if q, ok := c.Status.Capacity[api.ResourceStorage]; ok {
		capacity = q.String()
	}
	usedBy := "<none>"
	if len(users) > 0 {
		usedBy = strings.Join(users, ",")
	}
	var created time.Time
	if t := c.Metadata.CreationTimestamp; t != nil {
		created = t.Time
	}
	return []string{c.Metadata.Name, capacity, accessModes(c.Status.AccessModes), usedBy, kubeprint.Since(created, now)}
}

// accessModes is kubectl's GetAccessModesAsString: the short names, in a fixed order.
func accessModes(modes []api.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range []struct {
		mode  api.PersistentVolumeAccessMode
		short string
	}{{api.ReadWriteOnce, "RWO"}, {api.ReadOnlyMany, "ROX"}, {api.ReadWriteMany, "RWX"}, {api.ReadWriteOncePod, "RWOP"}} {
		for _, have := range modes {
			if have == m.mode {
				out = append(out, m.short)
				break
			}
		}
	}
	return strings.Join(out, ",")
}

// asClaim is a volume as the API server would serve its claim, with its host directory.
func asClaim(c *volume.Claim) *api.PersistentVolumeClaim {
	pvc := c.PersistentVolumeClaim
	ann := map[string]string{}
	for k, v := range pvc.Metadata.Annotations {
		ann[k] = v
	}
	ann[volumePathAnnotation] = c.Path
	pvc.Metadata.Annotations = ann
	return &pvc
}

func volumeList(list []*volume.Claim) kubeList {
	l := kubeList{APIVersion: "v1", Kind: "List", Items: []any{}, Metadata: map[string]any{"resourceVersion": ""}}
	for _, c := range list {
		l.Items = append(l.Items, asClaim(c))
	}
	return l
}

// deleteVolumes deletes named volumes with their content, refusing one that a pod not
// finished uses (naming the pod), as `podman volume rm` does; --all deletes those of the
// namespace that no pod uses and reports the others.
func deleteVolumes(cfg state.Config, ns string, names []string, all, ignoreNotFound bool) error {
	if all {
		list, err := volume.Claims{Dir: cfg.VolumesDir()}.List()
		if err != nil {
			return &exitError{exitFailed, fmt.Errorf("delete volumes --all: %w", err)}
		}
		for _, c := range list {
			if c.Metadata.Namespace == ns {
				names = append(names, c.Metadata.Name)
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(os.Stderr, "No resources found in %s namespace.\n", ns)
			return nil
		}
	}
	var errs []error
	for _, n := range names {
		err := pods.DeleteVolume(cfg, ns, n)
		switch {
		case errors.Is(err, volume.ErrClaimNotFound):
			if !ignoreNotFound {
				errs = append(errs, &volumeNotFoundError{n})
			}
		case err != nil:
			var inUse *pods.VolumeInUseError
			if !errors.As(err, &inUse) {
				err = fmt.Errorf("delete volume/%s: %w", n, err)
			}
			errs = append(errs, err)
		default:
			fmt.Printf("persistentvolumeclaim %q deleted\n", n)
		}
	}
	return reportKubectlErrors(errs...)
}
