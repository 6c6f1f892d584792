// Package imageinfo is what a resolved image is to its users: the Image with its layers and
// config, the pull policy and progress, and the errors of resolving one, plus the rootfs:
// transport, which needs nothing but the file system. It is a leaf package, apart from the
// store and its registry client (package image, which re-exports all of it), so that the pod
// monitor can name an image without linking the registry client: every monitor process pays
// in memory for what it links.
package imageinfo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sentinels for errors.Is on errors returned by Resolve. A caller maps ErrInvalidReference to
// Kubernetes' InvalidImageName and everything else to ErrImagePull.
var (
	// ErrInvalidReference: the reference itself is malformed.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrNotFound: the reference is well formed but names nothing (missing directory, not a
	// layout, unknown tag, no manifest for this platform, missing blob).
	ErrNotFound = errors.New("image not found")
	// ErrInvalidImage: the image exists but its content is corrupt, hostile or of an
	// unsupported kind (digest mismatch, path escaping the layer, device node, bad JSON).
	ErrInvalidImage = errors.New("invalid image content")
	// ErrUnsupported: the reference is well formed but its transport is not implemented.
	ErrUnsupported = errors.New("image transport not supported")
	// ErrNeverPull: imagePullPolicy is Never and the image is not in the store (Kubernetes'
	// ErrImageNeverPull).
	ErrNeverPull = errors.New("image not present with pull policy of Never")
)

// Error is the error type Resolve returns: Ref is the reference as given, Kind one of the
// sentinels above (nil for I/O errors and context cancellation), Err the detail.
type Error struct {
	Ref  string
	Kind error
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("image %q: %v", e.Ref, e.Err) }

// Unwrap exposes both the kind and the cause, so errors.Is works for the sentinels and for
// underlying errors such as context.Canceled or fs.ErrNotExist.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// KindOf finds the sentinel of a wrapped *Error, if any.
func KindOf(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return nil
}

// KindError builds an *Error without Ref; Resolve fills Ref in.
func KindError(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Err: fmt.Errorf(format, args...)}
}

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
	Layer    string `json:"layer,omitempty"`    // short digest, e.g. "sha256:0123456789ab"; empty for an image-wide message
	Total    int64  `json:"total,omitempty"`    // compressed size in bytes
	Complete int64  `json:"complete,omitempty"` // bytes fetched so far
	Done     bool   `json:"done,omitempty"`     // verified and unpacked
	Message  string `json:"message,omitempty"`  // e.g. "resolving", "exists", "verifying"
}

// PullOptions tune a pull.
type PullOptions struct {
	// Progress, if set, receives progress events; it must not block for long.
	Progress func(Progress)
	// Keyring holds the credentials of the pod's image pull secrets, tried before the
	// host's (see image's pullWithKeyring).
	Keyring *Keyring
}

// Image is a resolved image.
type Image struct {
	Ref string `json:"ref,omitempty"` // as written in the pod manifest
	// Name is the normalized name the image was found or pulled under, e.g.
	// "docker.io/library/busybox:latest" (what the kubelet puts in status.containerStatuses[].image);
	// empty for rootfs:, oci:, and archives.
	Name string `json:"name,omitempty"`
	ID   string `json:"id"` // "sha256:<config digest>" for OCI images; "rootfs:<dir>" for rootfs:
	// RepoDigest is "<repo>@sha256:<digest>" for images with a repository (registry pulls and
	// imports; the digest is the one the tag resolved to, an index's for multi-platform images),
	// else the bare manifest digest "sha256:..." (oci:, archives); empty for rootfs:.
	RepoDigest string   `json:"repoDigest,omitempty"`
	Layers     []string `json:"layers"` // unpacked layer directories, BOTTOM first; overlay lowerdir wants them reversed
	Config     Config   `json:"config"`
}

// ImageRef is what the kubelet reports as status.containerStatuses[].imageID: the repo digest
// when the image has a repository, else the image ID (as containerd's CRI does).
func (i *Image) ImageRef() string {
	if strings.Contains(i.RepoDigest, "@") {
		return i.RepoDigest
	}
	return i.ID
}

// Config is the part of an image config that decides how a container's process runs.
type Config struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
	StopSignal string   `json:"stopSignal,omitempty"`
}

// Transport prefixes.
const (
	PrefixRootfs        = "rootfs:"
	PrefixOCI           = "oci:"
	PrefixOCIArchive    = "oci-archive:"
	PrefixDockerArchive = "docker-archive:"
)

// CheckRefChars refuses an empty reference and one with whitespace or control characters.
func CheckRefChars(ref string) error {
	if ref == "" {
		return errors.New("no image specified")
	}
	if strings.TrimSpace(ref) != ref || strings.ContainsAny(ref, "\x00\n\r\t") {
		return errors.New("reference contains whitespace or control characters")
	}
	return nil
}

// IsLocalTransport tells references that name local files from registry references.
func IsLocalTransport(ref string) bool {
	for _, p := range []string{PrefixRootfs, PrefixOCI, PrefixOCIArchive, PrefixDockerArchive} {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	return false
}

// AbsPath is the clean form of an absolute path, or an ErrInvalidReference error.
func AbsPath(p string) (string, error) {
	if p == "" || !filepath.IsAbs(p) {
		return "", KindError(ErrInvalidReference, "path %q is not absolute", p)
	}
	return filepath.Clean(p), nil
}

// ResolveRootfs resolves a rootfs:/abs/dir reference: the directory is the one layer.
// Errors are *Error with Ref set, as the store's Resolve returns them.
func ResolveRootfs(ref string) (*Image, error) {
	img, err := resolveRootfs(ref)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Ref == "" {
			e.Ref = ref
			return nil, e
		}
		return nil, &Error{Ref: ref, Kind: KindOf(err), Err: err}
	}
	img.Ref = ref
	return img, nil
}

func resolveRootfs(ref string) (*Image, error) {
	if err := CheckRefChars(ref); err != nil {
		return nil, KindError(ErrInvalidReference, "%v", err)
	}
	dir, err := AbsPath(strings.TrimPrefix(ref, PrefixRootfs))
	if err != nil {
		return nil, err
	}
	return RootfsDir(dir)
}

// RootfsDir is the image of an unpacked root filesystem directory.
func RootfsDir(dir string) (*Image, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, KindError(ErrNotFound, "root filesystem directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, KindError(ErrNotFound, "root filesystem %s is not a directory", dir)
	}
	return &Image{ID: PrefixRootfs + dir, Layers: []string{dir}}, nil
}
