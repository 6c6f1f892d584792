package volume

import (
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

// Claims is the store of named volumes, the volumes of persistentVolumeClaims: what
// `podman kube play` makes of a claim (a local named volume, created on first use), one per
// namespace and claim, living until deleted whatever pods come and go:
//
//	<Dir>/<namespace>/<claim>/_data        the content, bound into containers (podman's layout)
//	<Dir>/<namespace>/<claim>/claim.json   the PersistentVolumeClaim it stands for
//	<Dir>/.lock                            flock: creations and deletions one at a time
//
// A volume appears whole or not at all: it is built under a temporary name and renamed into
// place, and a deletion renames it away before removing it. Names are checked by the caller
// (a claimName and a namespace are DNS names, so they stay inside Dir).
type Claims struct{ Dir string }

// Claim is a named volume.
type Claim struct {
	api.PersistentVolumeClaim
	Path string // the content's directory on the host
}

// ErrClaimNotFound: no volume of that name in that namespace.
var ErrClaimNotFound = errors.New("volume not found")

const (
	claimDataDir  = "_data"
	claimFile     = "claim.json"
	tmpPrefix     = ".tmp-"
	deletedPrefix = ".deleted-"
)

func (c Claims) dir(namespace, name string) string { return filepath.Join(c.Dir, namespace, name) }

// Path is where a claim's content lives.
func (c Claims) Path(namespace, name string) string {
	return filepath.Join(c.dir(namespace, name), claimDataDir)
}

// lock takes the store's lock, which orders creations and deletions across processes.
func (c Claims) lock() (unlock func(), err error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(c.Dir, ".lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("volumes: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// Ensure returns the content directory of a pod's claim, creating the volume if it does not
// exist yet (a claim nobody declared gets an empty spec, as podman's volumes have none).
func (c Claims) Ensure(namespace, name string) (string, error) {
	_, err := c.create(&api.PersistentVolumeClaim{Metadata: api.ObjectMeta{Name: name, Namespace: namespace}})
	if err != nil {
		return "", err
	}
	return c.Path(namespace, name), nil
}

// Create makes the volume of a loaded PersistentVolumeClaim document (api.LoadPersistentVolumeClaim).
// An existing volume is kept as it is, content and declaration, as `podman kube play` keeps
// it (WithVolumeIgnoreIfExist): created reports whether this call made it.
func (c Claims) Create(pvc *api.PersistentVolumeClaim) (created bool, err error) {
	return c.create(pvc)
}

func (c Claims) create(pvc *api.PersistentVolumeClaim) (bool, error) {
	ns, name := pvc.Metadata.Namespace, pvc.Metadata.Name
	if ns == "" || name == "" {
		return false, errors.New("volume: a claim needs a name and a namespace")
	}
	dst := c.dir(ns, name)
	// Always under the lock, even for a volume that exists: a deletion that has checked its
	// users holds it until the volume is gone, so no pod binds a volume being deleted.
	unlock, err := c.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	if _, err := os.Lstat(filepath.Join(dst, claimFile)); err == nil {
		return false, nil
	}
	nsDir := filepath.Dir(dst)
	if err := os.MkdirAll(nsDir, 0o700); err != nil {
		return false, fmt.Errorf("create volume %s/%s: %w", ns, name, err)
	}
	removeLeftovers(nsDir)
	tmp, err := os.MkdirTemp(nsDir, tmpPrefix)
	if err != nil {
		return false, fmt.Errorf("create volume %s/%s: %w", ns, name, err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	data := filepath.Join(tmp, claimDataDir)
	// World-writable like an emptyDir and like the directories of the local-path provisioner
	// of kind and k3s (mkdir -m 0777), so a pod of any user can write to its claim.
	if err := os.Mkdir(data, 0o777); err != nil {
		return false, fmt.Errorf("create volume %s/%s: %w", ns, name, err)
	}
	if err := os.Chmod(data, 0o777); err != nil {
		return false, fmt.Errorf("create volume %s/%s: %w", ns, name, err)
	}
	rec := *pvc
	rec.APIVersion, rec.Kind = "v1", "PersistentVolumeClaim"
	rec.Metadata.UID = state.NewUID()
	now := api.NewTime(time.Now())
	rec.Metadata.CreationTimestamp = &now
	rec.Status = api.PersistentVolumeClaimStatus{}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, claimFile), &rec, 0o600); err != nil {
		return false, fmt.Errorf("create volume %s/%s: %w", ns, name, err)
	}
	// A directory left by a deletion that died before its rename cannot be there: the
	// rename is the deletion. So dst is absent, or whole (checked above).
	if err := os.Rename(tmp, dst); err != nil {
		return false, fmt.Errorf("create volume %s/%s: %w", ns, name, err)
	}
	return true, nil
}

// Get returns a volume.
func (c Claims) Get(namespace, name string) (*Claim, error) {
	b, err := os.ReadFile(filepath.Join(c.dir(namespace, name), claimFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrClaimNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read volume %s/%s: %w", namespace, name, err)
	}
	cl := &Claim{Path: c.Path(namespace, name)}
	if err := json.Unmarshal(b, &cl.PersistentVolumeClaim); err != nil {
		return nil, fmt.Errorf("read volume %s/%s: %w", namespace, name, err)
	}
	// A claim's volume is bound from birth (there is no provisioning to wait for).
	cl.Status = api.PersistentVolumeClaimStatus{Phase: api.ClaimBound, AccessModes: cl.Spec.AccessModes}
	if q, ok := cl.Spec.Resources.Requests[api.ResourceStorage]; ok {
		cl.Status.Capacity = api.ResourceList{api.ResourceStorage: q}
	}
	return cl, nil
}

// List returns every volume, by namespace and name.
func (c Claims) List() ([]*Claim, error) {
	namespaces, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Claim
	for _, ns := range namespaces {
		if !ns.IsDir() || strings.HasPrefix(ns.Name(), ".") {
			continue
		}
		names, err := os.ReadDir(filepath.Join(c.Dir, ns.Name()))
		if err != nil {
			return nil, fmt.Errorf("list volumes: %w", err)
		}
		for _, n := range names {
			if !n.IsDir() || strings.HasPrefix(n.Name(), ".") {
				continue
			}
			cl, err := c.Get(ns.Name(), n.Name())
			if errors.Is(err, ErrClaimNotFound) {
				continue // removed meanwhile
			}
			if err != nil {
				return nil, err
			}
			out = append(out, cl)
		}
	}
	slices.SortFunc(out, func(a, b *Claim) int {
		return strings.Compare(a.Metadata.Namespace+"/"+a.Metadata.Name, b.Metadata.Namespace+"/"+b.Metadata.Name)
	})
	return out, nil
}

// Delete removes a volume and its content. inUse runs under the store's lock, so no pod can
// take the volume between its answer and the removal: a non-nil error keeps the volume.
func (c Claims) Delete(namespace, name string, inUse func() error) error {
	dst := c.dir(namespace, name)
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(dst, claimFile)); errors.Is(err, fs.ErrNotExist) {
		unlock()
		return ErrClaimNotFound
	}
	if err := inUse(); err != nil {
		unlock()
		return err
	}
	removeLeftovers(filepath.Dir(dst))
	gone, err := os.MkdirTemp(filepath.Dir(dst), deletedPrefix)
	if err == nil {
		// Moved into a fresh directory of its own: the volume vanishes at once.
		err = os.Rename(dst, filepath.Join(gone, name))
	}
	unlock()
	if err != nil {
		if gone != "" {
			os.Remove(gone)
		}
		return fmt.Errorf("delete volume %s/%s: %w", namespace, name, err)
	}
	// Outside the lock: the content may be large. What a deletion that dies here leaves is
	// removed by the next creation or deletion in the namespace.
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("delete volume %s/%s: %w", namespace, name, err)
	}
	return nil
}

// removeLeftovers removes what interrupted creations and deletions left in a namespace's
// directory. Called under the lock, it cannot meet a creation or a rename in progress (a
// deletion still removing its own content removes it too, which is no harm).
func removeLeftovers(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) || strings.HasPrefix(e.Name(), deletedPrefix) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
