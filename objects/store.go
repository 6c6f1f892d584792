// Package objects stores the Kubernetes objects that pods use and that outlive them:
// ConfigMaps and Secrets, per namespace, under one directory (<root>/objects). Each object is
// one JSON file, <dir>/<resource>/<namespace>/<name>.json, replaced atomically and durably, so
// a reader (a pod's monitor) sees the old object or the new one; Secrets are readable by root
// only (0700 directories, 0600 files). Objects are created or replaced as `kubectl apply`
// does, with the API server's update rules (an immutable object keeps its data). Another
// kind is added to the kinds table.
package objects

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/state"
)

// kindInfo is how one kind is stored.
type kindInfo struct {
	resource string // directory, and the plural kubectl prints: configmaps
	singular string // the kubelet's name in "not found" errors: configmap
	private  bool   // root only: 0700 directories, 0600 files
	empty    func() api.Object
	// validateUpdate is the API server's update validation of obj replacing old.
	validateUpdate func(obj, old api.Object) error
}

var kinds = map[string]kindInfo{
	"ConfigMap": {resource: "configmaps", singular: "configmap",
		empty: func() api.Object { return &api.ConfigMap{} },
		validateUpdate: func(obj, old api.Object) error {
			return api.ValidateConfigMapUpdate(obj.(*api.ConfigMap), old.(*api.ConfigMap))
		}},
	"Secret": {resource: "secrets", singular: "secret", private: true,
		empty: func() api.Object { return &api.Secret{} },
		validateUpdate: func(obj, old api.Object) error {
			return api.ValidateSecretUpdate(obj.(*api.Secret), old.(*api.Secret))
		}},
}

// Stored reports whether objects of the kind are kept in a Store.
func Stored(kind string) bool { _, ok := kinds[kind]; return ok }

// Resource is the plural, lower-case name of a kind (configmaps), as kubectl prints it.
func Resource(kind string) string { return kinds[kind].resource }

// Store is the object store in a directory.
type Store struct{ dir string }

// Open returns the store in dir, which need not exist yet.
func Open(dir string) *Store { return &Store{dir: dir} }

func info(kind string) (kindInfo, error) {
	k, ok := kinds[kind]
	if !ok {
		return k, fmt.Errorf("objects of kind %q are not stored", kind)
	}
	return k, nil
}

// Dir is the directory holding the objects of a kind in a namespace.
func (s *Store) Dir(kind, namespace string) string {
	return filepath.Join(s.dir, kinds[kind].resource, namespace)
}

func (s *Store) path(kind, namespace, name string) string {
	return filepath.Join(s.Dir(kind, namespace), name+".json")
}

// ensureDir creates the directory of a kind in a namespace with the kind's permissions.
func (s *Store) ensureDir(kind, namespace string) error {
	k, err := info(kind)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o755)
	if k.private {
		mode = 0o700
	}
	for _, d := range []string{s.dir, filepath.Join(s.dir, k.resource), s.Dir(kind, namespace)} {
		m := mode
		if d == s.dir {
			m = 0o755
		}
		if err := os.Mkdir(d, m); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return nil
}

// Get returns a stored object; an *api.NotFoundError if there is none.
func (s *Store) Get(kind, namespace, name string) (api.Object, error) {
	k, err := info(kind)
	if err != nil {
		return nil, err
	}
	b, err := readFile(s.path(kind, namespace, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &api.NotFoundError{Resource: k.singular, Name: name}
	}
	if err != nil {
		return nil, err
	}
	o := k.empty()
	if err := json.Unmarshal(b, o); err != nil {
		return nil, fmt.Errorf("read %s %s/%s: %w", k.singular, namespace, name, err)
	}
	return o, nil
}

// ConfigMap returns a stored ConfigMap; an *api.NotFoundError if there is none.
func (s *Store) ConfigMap(namespace, name string) (*api.ConfigMap, error) {
	o, err := s.Get("ConfigMap", namespace, name)
	if err != nil {
		return nil, err
	}
	return o.(*api.ConfigMap), nil
}

// Secret returns a stored Secret; an *api.NotFoundError if there is none.
func (s *Store) Secret(namespace, name string) (*api.Secret, error) {
	o, err := s.Get("Secret", namespace, name)
	if err != nil {
		return nil, err
	}
	return o.(*api.Secret), nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return api.ReadInput(f, path)
}

// List returns the objects of a kind in a namespace ("" for every namespace), sorted by
// namespace and name. Files that do not read back are skipped.
func (s *Store) List(kind, namespace string) ([]api.Object, error) {
	k, err := info(kind)
	if err != nil {
		return nil, err
	}
	namespaces := []string{namespace}
	if namespace == "" {
		ents, err := os.ReadDir(filepath.Join(s.dir, k.resource))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		namespaces = nil
		for _, e := range ents {
			if e.IsDir() {
				namespaces = append(namespaces, e.Name())
			}
		}
	}
	var out []api.Object
	for _, ns := range namespaces {
		ents, err := os.ReadDir(s.Dir(kind, ns))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			name, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok || strings.HasPrefix(name, ".") {
				continue // a temporary file of a write under way
			}
			if o, err := s.Get(kind, ns, name); err == nil {
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b api.Object) int {
		return strings.Compare(a.GetMeta().Namespace+"/"+a.GetMeta().Name, b.GetMeta().Namespace+"/"+b.GetMeta().Name)
	})
	return out, nil
}

// Results of Apply, as kubectl apply words them.
const (
	Created    = "created"
	Configured = "configured"
	Unchanged  = "unchanged"
)

// Result is what Apply did with one object.
type Result struct {
	Object api.Object // as stored
	Action string     // Created, Configured or Unchanged
}

// Apply creates or replaces objects (validated, of stored kinds), all or none: every
// replacement is checked against the stored object first (the API server's update rules,
// e.g. immutability), and an *api.InvalidError naming the object is returned before anything
// is written. A replaced object keeps its uid and creation time.
func (s *Store) Apply(objs []api.Object, now time.Time) ([]Result, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", s.dir, err)
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	results := make([]Result, len(objs))
	var invalid []api.FieldError
	for i, o := range objs {
		k, err := info(o.GetKind())
		if err != nil {
			return nil, err
		}
		m := o.GetMeta()
		old, err := s.Get(o.GetKind(), m.Namespace, m.Name)
		var nf *api.NotFoundError
		switch {
		case errors.As(err, &nf):
			m.UID = state.NewUID()
			ts := api.NewTime(now)
			m.CreationTimestamp = &ts
			results[i] = Result{Object: o, Action: Created}
			continue
		case err != nil:
			return nil, err
		}
		if err := k.validateUpdate(o, old); err != nil {
			for _, fe := range err.(*api.InvalidError).Errs {
				fe.Field = fmt.Sprintf("%s/%s: %s", k.singular, m.Name, fe.Field)
				invalid = append(invalid, fe)
			}
			continue
		}
		// The version is the daemon's (minipodd): a replacement keeps the old one, so that an
		// apply that changes nothing is "unchanged"; the daemon notices a change by content.
		m.UID, m.CreationTimestamp = old.GetMeta().UID, old.GetMeta().CreationTimestamp
		m.ResourceVersion = old.GetMeta().ResourceVersion
		a, _ := json.Marshal(o)
		b, _ := json.Marshal(old)
		action := Configured
		if bytes.Equal(a, b) {
			action = Unchanged
		}
		results[i] = Result{Object: o, Action: action}
	}
	if len(invalid) > 0 {
		return nil, &api.InvalidError{Errs: invalid}
	}
	for _, r := range results {
		if r.Action != Unchanged {
			if err := s.write(r.Object); err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

func (s *Store) write(o api.Object) error {
	k, m := kinds[o.GetKind()], o.GetMeta()
	if err := s.ensureDir(o.GetKind(), m.Namespace); err != nil {
		return err
	}
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode %s %s/%s: %w", k.singular, m.Namespace, m.Name, err)
	}
	mode := os.FileMode(0o644)
	if k.private {
		mode = 0o600
	}
	return atomicfile.WriteSynced(s.path(o.GetKind(), m.Namespace, m.Name), append(b, '\n'), mode)
}

// Delete removes a stored object; an *api.NotFoundError if there is none.
func (s *Store) Delete(kind, namespace, name string) error {
	k, err := info(kind)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.dir, err)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	p := s.path(kind, namespace, name)
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return &api.NotFoundError{Resource: k.singular, Name: name}
	} else if err != nil {
		return fmt.Errorf("delete %s %s/%s: %w", k.singular, namespace, name, err)
	}
	return atomicfile.SyncDir(filepath.Dir(p))
}

// lock serializes the changes of the store (an apply reads, checks, then writes).
func (s *Store) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock object store: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock object store: %w", err)
	}
	return func() { f.Close() }, nil
}
