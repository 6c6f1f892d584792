package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/state"
)

// imageMounts are the image volumes a pod has mounted, by image ID.
type imageMounts struct {
	mu   sync.Mutex
	byID map[string]string
}

func imageVolumesDir(rec *state.Record) string { return filepath.Join(rec.DataDir(), "image-volumes") }

// imageMountFlags are CRI-O's options for an image volume (server/container_create.go
// mountImage: ro, noexec, nosuid, nodev), as KEP-4639 asks of runtimes.
const imageMountFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// MountImage mounts an image for the pod's image volumes and returns the mount point: its
// layers (bottom first, as image.Image has them) as a read-only overlay, or one layer as a
// read-only bind. An image is mounted once per pod, whatever volumes and containers use it,
// as containerd mounts one per sandbox and manifest (mutateImageMount). The mounts are under
// the pod's data dir, so releaseDataDir releases them with the rest of the pod.
func (sb *Sandbox) MountImage(id string, layers []string) (string, error) {
	if len(layers) == 0 {
		return "", fmt.Errorf("mount image %s: the image has no layers", id)
	}
	im := &sb.images
	im.mu.Lock()
	defer im.mu.Unlock()
	if p, ok := im.byID[id]; ok {
		return p, nil
	}
	target := filepath.Join(imageVolumesDir(sb.rec), imageKey(id))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", fmt.Errorf("mount image %s: %w", id, err)
	}
	if err := mountLayers(target, layers); err != nil {
		os.Remove(target)
		return "", fmt.Errorf("mount image %s: %w", id, err)
	}
	if im.byID == nil {
		im.byID = map[string]string{}
	}
	im.byID[id] = target
	return target, nil
}

func mountLayers(target string, layers []string) error {
	if len(layers) == 1 {
		if err := unix.Mount(layers[0], target, "", unix.MS_BIND, ""); err != nil {
			return err
		}
		// A bind takes its flags from a remount.
		if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|imageMountFlags, ""); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return err
		}
		return nil
	}
	// Without an upper layer, overlayfs is read-only; lowerdir lists the top layer first.
	lower := slices.Clone(layers)
	slices.Reverse(lower)
	return unix.Mount("overlay", target, "overlay", imageMountFlags, "lowerdir="+strings.Join(lower, ":"))
}

// imageKey names an image's mount point: its config digest, or a digest of any other ID
// (rootfs:/dir).
func imageKey(id string) string {
	if h, ok := strings.CutPrefix(id, "sha256:"); ok && len(h) == 64 && strings.Trim(h, "0123456789abcdef") == "" {
		return h
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
