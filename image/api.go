package image

// The store's management API: what `minipod image ...` and the pod runtime call. This file
// fixes the signatures; the implementations live beside the code they use.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrNeverPull: imagePullPolicy is Never and the image is not in the store (Kubernetes'
// ErrImageNeverPull).
var ErrNeverPull = errors.New("image not present with pull policy of Never")

// ErrInUse: the image is used by a pod and --force was not given.
var ErrInUse = errors.New("image is in use by a pod")

// PullPolicy is Kubernetes' imagePullPolicy.
type PullPolicy string

const (
	PullAlways       PullPolicy = "Always"
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullNever        PullPolicy = "Never"
)

// Progress reports a pull's progress, one event per change: a layer starting, bytes arriving
// (at most every 100 ms per layer), a layer done (Done), or a line of status (Layer empty).
// Events come one at a time, never concurrently.
type Progress struct {
	Layer    string // short digest, e.g. "sha256:0123456789ab"; empty for an image-wide message
	Total    int64  // compressed size in bytes
	Complete int64  // bytes fetched so far
	Done     bool   // verified and unpacked
	Message  string // e.g. "resolving", "exists", "verifying"
}

// PullOptions tune a pull.
type PullOptions struct {
	// Progress, if set, receives progress events; it must not block for long.
	Progress func(Progress)
	// Keyring holds the credentials of the pod's image pull secrets, tried before the
	// host's (see pullWithKeyring).
	Keyring *Keyring
}

// Summary is one row of `minipod image ls`.
type Summary struct {
	Repository string    // normalized, e.g. docker.io/library/busybox; "<none>" when untagged
	Tag        string    // e.g. "1.36"; "<none>" when untagged
	ID         string    // "sha256:<config digest>"
	RepoDigest string    // "sha256:..." the name resolved to: the manifest, or the index of a multi-platform image
	Created    time.Time // from the image config
	Size       int64     // bytes of the unpacked layers
}

// InUse tells whether an image (by ID, "sha256:<config digest>") or a layer directory (an
// entry of Image.Layers) is used by a pod; the runtime supplies it from the pods on the host.
// A nil InUse means nothing is in use.
type InUse func(imageID string) bool

// Get returns the image for ref, pulling per policy: Always pulls (a registry that says the
// image is unchanged costs one manifest request), IfNotPresent pulls only if the store lacks
// it, Never fails with ErrNeverPull if the store lacks it; an empty policy is IfNotPresent.
// rootfs:, oci:, oci-archive: and docker-archive: references are local and never pulled;
// neither are names made by Import, whatever the policy. Errors are *Error.
func (s *Store) Get(ctx context.Context, ref string, policy PullPolicy, opts PullOptions) (*Image, error) {
	if isLocalTransport(ref) {
		return s.Resolve(ctx, ref)
	}
	switch policy {
	case PullAlways, PullIfNotPresent, PullNever, "":
	default:
		return nil, &Error{Ref: ref, Err: fmt.Errorf("unknown pull policy %q", policy)}
	}
	r, err := s.checkRegistryRef(ref)
	if err != nil {
		return nil, err
	}
	if img, e, ok := s.lookupLocal(r, ref); ok && (policy != PullAlways || e.Local) {
		img.Ref = ref
		return img, nil
	}
	if policy == PullNever {
		return nil, &Error{Ref: ref, Kind: ErrNeverPull, Err: fmt.Errorf("%s is not in the local store and the pull policy is Never", canonical(r))}
	}
	return s.Pull(ctx, ref, opts)
}

// Pull fetches ref from its registry into the store and tags it. Concurrent pulls of one
// reference in this process share the work (only the first caller's Progress sees events);
// across processes, layers are unpacked once. Errors are *Error.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	if isLocalTransport(ref) {
		return nil, &Error{Ref: ref, Kind: ErrInvalidReference, Err: errors.New("not a registry reference; local images are not pulled")}
	}
	r, err := s.checkRegistryRef(ref)
	if err != nil {
		return nil, err
	}
	progress := serialProgress(opts.Progress)
	img, err := s.reg.share(ctx, canonical(r), func(ctx context.Context) (*Image, error) {
		if !opts.Keyring.Empty() {
			return s.pullWithKeyring(ctx, r, progress, opts.Keyring)
		}
		return s.pullRemote(ctx, r, progress, nil)
	})
	if err != nil {
		return nil, withRef(ref, err)
	}
	img.Ref = ref
	return img, nil
}

// withRef makes err an *Error naming ref, without nesting a second "image ..." prefix. The
// error of a shared pull is copied, not changed, since every waiter gets it.
func withRef(ref string, err error) error {
	if e, ok := err.(*Error); ok {
		if e.Ref == ref {
			return e
		}
		if e.Ref == "" {
			c := *e
			c.Ref = ref
			return &c
		}
	}
	return &Error{Ref: ref, Kind: kindOf(err), Err: err}
}

// checkRegistryRef is parseRegistryRef with Resolve's checks and errors.
func (s *Store) checkRegistryRef(ref string) (name.Reference, error) {
	if err := checkRefChars(ref); err != nil {
		return nil, &Error{Ref: ref, Kind: ErrInvalidReference, Err: err}
	}
	r, err := s.parseRegistryRef(ref)
	if err != nil {
		return nil, withRef(ref, err)
	}
	return r, nil
}

// Import makes a one-layer image named name from src: a root filesystem directory or a tar
// archive of one (optionally gzip-compressed). A name without a registry gets "localhost/", as
// with `podman import` ("myimg" → localhost/myimg:latest); Get finds it under its short name too.
// changes are Dockerfile instructions for the image config, as `docker import --change` takes
// them (see ParseChanges); a bad one fails with ErrInvalidChange before anything is written.
func (s *Store) Import(ctx context.Context, src, name string, changes ...string) (*Image, error) {
	img, err := s.importImage(ctx, src, name, changes)
	if err != nil {
		return nil, withRef(name, err)
	}
	return img, nil
}

// List returns every image with a name, one row per tag, and the others as <none>: an image
// pulled only by digest shows its repository with tag <none>.
func (s *Store) List() ([]Summary, error) { return s.list() }

// Remove untags ref and, once the image has no name left, deletes its record, its manifest and
// config and the layers no other image uses. ref is a name, or an image ID (or a prefix of
// one), which removes every name of the image. Deleting an image a pod uses (inUse(ID)) is
// refused with ErrInUse unless force; untagging one of several names is not (as Docker). Even
// forced, a layer a pod uses (inUse(layer dir)) is kept; Prune frees it later. removed lists
// "Untagged: <name>" and "Deleted: sha256:<id or diffID>" lines like `docker rmi`.
func (s *Store) Remove(ref string, force bool, inUse InUse) (removed []string, err error) {
	return s.remove(ref, force, inUse)
}

// Prune deletes images with no name and layers no image references, never one in use (inUse is
// asked about image IDs and layer directories), plus leftovers of interrupted pulls. removed
// lists "Deleted: sha256:..." lines; freed counts the bytes of the files removed.
func (s *Store) Prune(inUse InUse) (removed []string, freed int64, err error) {
	return s.prune(inUse)
}

// Inspect returns a JSON description of the image like `podman image inspect` (an array of
// one): Id, Digest, RepoTags, RepoDigests, Created, Size, Architecture, Os, Config (the OCI
// image config), RootFS diff IDs, and the layer directories (GraphDriver.Data.LowerDir).
func (s *Store) Inspect(ref string) ([]byte, error) { return s.inspect(ref) }

// Size is the unpacked size of an image's layers in the store, for the kubelet's "Image size"
// in its Pulled event; 0 for an image not in the store (rootfs:).
func (s *Store) Size(img *Image) int64 {
	var n int64
	for _, l := range img.Layers {
		layer := filepath.Dir(l)
		if filepath.Dir(layer) == filepath.Join(s.Root, "layers", "sha256") {
			n += s.layerSize(filepath.Base(layer))
		}
	}
	return n
}
