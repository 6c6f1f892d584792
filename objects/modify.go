package objects

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
)

// Modify reads the object kind namespace/name (nil if there is none), has change decide what
// replaces it, and writes that (nil: nothing is written), all under the store's lock, so
// that a check of the old object (a resourceVersion precondition, immutability) and the
// write are one step with respect to every other writer (the CLI, the daemon). It is how the
// API server's create, update and patch are done against the store.
func (s *Store) Modify(kind, namespace, name string, change func(old api.Object) (api.Object, error)) (api.Object, error) {
	if _, err := info(kind); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", s.dir, err)
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := s.Get(kind, namespace, name)
	var nf *api.NotFoundError
	if errors.As(err, &nf) {
		old, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	next, err := change(old)
	if err != nil || next == nil {
		return nil, err
	}
	if next.GetKind() != kind || next.GetMeta().Namespace != namespace || next.GetMeta().Name != name {
		return nil, fmt.Errorf("modify %s %s/%s: the change returned another object", kind, namespace, name)
	}
	if err := s.write(next); err != nil {
		return nil, err
	}
	return next, nil
}

// DeleteIf removes a stored object if check (given the object) allows it, under the store's
// lock; an *api.NotFoundError if there is none.
func (s *Store) DeleteIf(kind, namespace, name string, check func(old api.Object) error) error {
	if _, err := info(kind); err != nil {
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
	old, err := s.Get(kind, namespace, name)
	if err != nil {
		return err
	}
	if err := check(old); err != nil {
		return err
	}
	p := s.path(kind, namespace, name)
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("delete %s %s/%s: %w", kinds[kind].singular, namespace, name, err)
	}
	return atomicfile.SyncDir(filepath.Dir(p))
}
