package image

// The store's management API: what `minipod image ...` and the pod runtime call. This file
// fixes the signatures; the implementations live beside the code they use.

import (
	"context"
	"errors"
	"time"
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

// Progress reports a pull's progress, one event per change: a layer starting, bytes arriving,
// a layer done (Done), or a line of status (Layer empty).
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
}

// Summary is one row of `minipod image ls`.
type Summary struct {
	Repository string    // normalized, e.g. docker.io/library/busybox; "<none>" when untagged
	Tag        string    // e.g. "1.36"; "<none>" when untagged
	ID         string    // "sha256:<config digest>"
	RepoDigest string    // "sha256:<manifest digest>"
	Created    time.Time // from the image config
	Size       int64     // bytes of the unpacked layers
}

// InUse tells whether an image (by ID, "sha256:<config digest>") or a layer directory is used by
// a pod; the runtime supplies it from the pods on the host.
type InUse func(imageID string) bool

// Store settings for registries; set before use.
//
//	Insecure lists registries (host[:port]) that may be reached over plain HTTP besides
//	localhost and 127.0.0.1, like Docker's insecure-registries.
//	(a field on Store: Insecure []string)

// Get returns the image for ref, pulling per policy: Always pulls (a registry that says the
// image is unchanged costs one manifest request), IfNotPresent pulls only if the store lacks
// it, Never fails with ErrNeverPull if the store lacks it. rootfs:, oci:, oci-archive: and
// docker-archive: references are local and never pulled.
func (s *Store) Get(ctx context.Context, ref string, policy PullPolicy, opts PullOptions) (*Image, error) {
	return s.Resolve(ctx, ref)
}

// Pull fetches ref from its registry into the store and tags it.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	return nil, ErrUnsupported
}

// Import makes a one-layer image named name from src: a root filesystem directory or a tar
// archive of one (optionally gzip-compressed).
func (s *Store) Import(ctx context.Context, src, name string) (*Image, error) {
	return nil, ErrUnsupported
}

// List returns every tagged image, and untagged ones as <none>.
func (s *Store) List() ([]Summary, error) { return nil, ErrUnsupported }

// Remove untags ref and deletes the image and its unreferenced layers, refusing with ErrInUse
// when inUse says a pod uses it, unless force.
func (s *Store) Remove(ref string, force bool, inUse InUse) (removed []string, err error) {
	return nil, ErrUnsupported
}

// Prune deletes images with no tag and layers no image references, never one in use.
func (s *Store) Prune(inUse InUse) (removed []string, freed int64, err error) {
	return nil, 0, ErrUnsupported
}

// Inspect returns a JSON description of the image: ID, RepoTags, RepoDigests, Created, Size,
// Architecture, Os, Config (the OCI image config), RootFS diff IDs, and the layer directories.
func (s *Store) Inspect(ref string) ([]byte, error) { return nil, ErrUnsupported }
