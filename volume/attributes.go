package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/podconfig"
)

// Attributes are what a volume's source makes of every mount of it, as a kubelet volume
// plugin's GetAttributes (pkg/volume/volume.go Attributes) does.
type Attributes struct {
	// ReadOnly mounts the volume read-only in every container, whatever its volumeMount
	// says (the kubelet's mustMountRO in makeMounts): a read-only claim, an image.
	ReadOnly bool
	// Image is an image volume: read-only content, whose subPath must exist as a directory
	// (it cannot be created), mounted nosuid, nodev and noexec.
	Image string // the image reference; empty for other volumes
	// OwnershipManaged volumes get the pod's fsGroup (the plugins that call
	// SetVolumeOwnership when they set a volume up).
	OwnershipManaged bool
}

// imageMountOptions are CRI-O's for an image volume (server/container_create.go mountImage:
// "ro", "noexec", "nosuid", "nodev"), which KEP-4639 asks runtimes for ("volume mounts
// should set the noexec and ro options by default"). containerd binds them read-only only.
var imageMountOptions = []string{"nosuid", "nodev", "noexec"}

// AttributesOf returns the attributes of the volume named name among vols.
func AttributesOf(vols []api.Volume, name string) Attributes {
	for i := range vols {
		if vols[i].Name == name {
			return attributes(&vols[i])
		}
	}
	return Attributes{}
}

func attributes(v *api.Volume) Attributes {
	switch {
	case v.EmptyDir != nil:
		return Attributes{OwnershipManaged: true}
	case v.PersistentVolumeClaim != nil:
		// The plugins behind a claim (csi_mounter.go supportsFSGroup, local.go SetUpAt) leave
		// a read-only volume's ownership alone.
		ro := v.PersistentVolumeClaim.ReadOnly
		return Attributes{ReadOnly: ro, OwnershipManaged: !ro}
	case v.Image != nil:
		// pkg/volume/image: read-only, no ownership management.
		return Attributes{ReadOnly: true, Image: v.Image.Reference}
	case podconfig.IsConfigVolume(v):
		// The configMap, secret, downwardAPI and projected plugins' GetAttributes say
		// ReadOnly. Their ownership is set as their files are written (monitor/config.go),
		// not by ApplyFSGroup.
		return Attributes{ReadOnly: true}
	}
	return Attributes{}
}

// imageSubPath resolves a subPath inside an image volume mounted at base, without leaving it.
// The image is read-only, so a missing subPath is not created: the container cannot be
// created, as with CRI-O ("sub path ... does not exist in image volume", mountImage) and
// containerd (ensureImageSubPath, which also requires a directory).
func imageSubPath(base, subPath, ref string) (string, error) {
	p, err := securejoin.SecureJoin(base, subPath)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
			Message: fmt.Sprintf("sub path %q does not exist in image volume %q", subPath, ref)}
	case err != nil:
		return "", err
	case !fi.IsDir():
		return "", &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
			Message: fmt.Sprintf("only directory subpath is supported, subpath: %q in image volume %q", subPath, ref)}
	}
	return p, nil
}
