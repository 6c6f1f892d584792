// Package volume provides a pod's volumes: emptyDir directories (or tmpfs for medium
// Memory) that live as long as the pod, and hostPath sources checked the way the kubelet
// checks them. The pod owns its volume directory; Teardown releases it.
package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/podconfig"
	"github.com/minipod/minipod/unmount"
)

// Sources maps a volume name to the host path that backs it.
type Sources map[string]string

// Setup creates the pod's volume sources below dir (the pod's volume directory). On error,
// what was created is released again.
func Setup(dir string, vols []api.Volume) (src Sources, err error) {
	src = Sources{}
	defer func() {
		if err != nil {
			err = errors.Join(err, Teardown(dir))
		}
	}()
	for i, v := range vols {
		switch {
		case v.EmptyDir != nil:
			p := filepath.Join(dir, v.Name)
			if err := os.MkdirAll(p, 0o777); err != nil {
				return nil, fmt.Errorf("spec.volumes[%d].emptyDir: %w", i, err)
			}
			// MkdirAll applies the umask; an emptyDir is world-writable like the kubelet's.
			if err := os.Chmod(p, 0o777); err != nil {
				return nil, fmt.Errorf("spec.volumes[%d].emptyDir: %w", i, err)
			}
			if v.EmptyDir.Medium == api.StorageMediumMemory {
				opts := "mode=0777"
				if q := v.EmptyDir.SizeLimit; q != nil && q.Value() > 0 {
					opts += fmt.Sprintf(",size=%d", q.Value())
				}
				if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
					return nil, fmt.Errorf("spec.volumes[%d].emptyDir: mount tmpfs: %w", i, err)
				}
			}
			src[v.Name] = p
		case podconfig.IsConfigVolume(&v):
			continue // SetupConfigVolumes
		case v.HostPath != nil:
			if err := checkHostPath(v.HostPath); err != nil {
				return nil, fmt.Errorf("spec.volumes[%d].hostPath: %w", i, err)
			}
			src[v.Name] = v.HostPath.Path
		case v.PersistentVolumeClaim != nil, v.Image != nil:
			// Not in the pod's directory: the sandbox binds claims (Claims) and mounts images.
		default:
			return nil, fmt.Errorf("spec.volumes[%d]: no volume source", i)
		}
	}
	return src, nil
}

// Teardown unmounts and removes everything below dir. It is idempotent and also cleans up
// after a process that died midway.
func Teardown(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if err := unmount.Detach(p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkHostPath applies the kubelet's hostPath type checks (pkg/volume/hostpath), creating
// the path for the *OrCreate types.
func checkHostPath(h *api.HostPathVolumeSource) error {
	typ := api.HostPathUnset
	if h.Type != nil {
		typ = *h.Type
	}
	switch typ {
	case api.HostPathUnset:
		return nil
	case api.HostPathDirectoryOrCreate:
		if err := os.MkdirAll(h.Path, 0o755); err != nil {
			return err
		}
	case api.HostPathFileOrCreate:
		if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(h.Path, os.O_RDONLY|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	fi, err := os.Stat(h.Path)
	if err != nil {
		return fmt.Errorf("type %s: %w", typ, err)
	}
	want := map[api.HostPathType]os.FileMode{
		api.HostPathDirectoryOrCreate: os.ModeDir,
		api.HostPathDirectory:         os.ModeDir,
		api.HostPathFileOrCreate:      0,
		api.HostPathFile:              0,
		api.HostPathSocket:            os.ModeSocket,
		api.HostPathCharDev:           os.ModeDevice | os.ModeCharDevice,
		api.HostPathBlockDev:          os.ModeDevice,
	}[typ]
	if fi.Mode().Type() != want {
		return fmt.Errorf("%s is not of type %s", h.Path, typ)
	}
	return nil
}

// Mounts resolves a container's volumeMounts to bind mounts. A subPath is resolved inside
// its volume without following symlinks out of it, and created as a directory when missing,
// as the kubelet does (but not in an image: see Attributes). vols are the pod's volumes.
// field is the container's path in the pod, e.g. "spec.containers[1]", for errors.
func Mounts(c *api.Container, containerField string, src Sources, vols []api.Volume) ([]ocispec.Mount, error) {
	out := make([]ocispec.Mount, 0, len(c.VolumeMounts))
	for i, vm := range c.VolumeMounts {
		field := fmt.Sprintf("%s.volumeMounts[%d]", containerField, i)
		base, ok := src[vm.Name]
		if !ok {
			return nil, fmt.Errorf("%s.name: volume %q not found", field, vm.Name)
		}
		source := base
		attrs := AttributesOf(vols, vm.Name)
		if vm.SubPath != "" && attrs.Image != "" {
			p, err := imageSubPath(base, vm.SubPath, attrs.Image)
			if err != nil {
				return nil, fmt.Errorf("%s.subPath: %w", field, err)
			}
			source = p
		} else if vm.SubPath != "" {
			if filepath.IsAbs(vm.SubPath) || strings.Contains("/"+vm.SubPath+"/", "/../") {
				return nil, fmt.Errorf("%s.subPath: must be a relative path without '..'", field)
			}
			p, err := securejoin.SecureJoin(base, vm.SubPath)
			if err != nil {
				return nil, fmt.Errorf("%s.subPath: %w", field, err)
			}
			if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(p, 0o755); err != nil {
					return nil, fmt.Errorf("%s.subPath: %w", field, err)
				}
			} else if err != nil {
				return nil, fmt.Errorf("%s.subPath: %w", field, err)
			}
			source = p
		}
		m := ocispec.Mount{Source: source, Destination: vm.MountPath, ReadOnly: vm.ReadOnly || attrs.ReadOnly}
		if attrs.Image != "" {
			m.Options = imageMountOptions
		}
		out = append(out, m)
	}
	return out, nil
}
