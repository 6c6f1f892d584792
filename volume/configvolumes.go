package volume

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/podconfig"
)

// SetupConfigVolumes creates the directories of the pod's configMap, secret, downwardAPI and
// projected volumes below dir and adds them to src; their files are written with WriteAtomic
// by whoever computes them. As with the kubelet, whose plugins wrap an emptyDir, each is a
// directory of mode 0777, on tmpfs for secret and projected volumes (medium Memory, so that
// secrets never reach a disk), sized tmpfsSize bytes (0: the kernel's default). Directories
// for the mount points of volumes mounted beneath one are made in it (MakeNestedMountpoints),
// since it is mounted read-only. Teardown releases them with the rest.
func SetupConfigVolumes(dir string, pod *api.Pod, tmpfsSize int64, src Sources) error {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if !podconfig.IsConfigVolume(v) {
			continue
		}
		p := filepath.Join(dir, v.Name)
		if err := os.MkdirAll(p, 0o777); err != nil {
			return fmt.Errorf("spec.volumes[%d]: %w", i, err)
		}
		if v.Secret != nil || v.Projected != nil {
			opts := "mode=0777"
			if tmpfsSize > 0 {
				opts += fmt.Sprintf(",size=%d", tmpfsSize)
			}
			if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				return fmt.Errorf("spec.volumes[%d]: mount tmpfs: %w", i, err)
			}
		}
		// MkdirAll applies the umask.
		if err := os.Chmod(p, 0o777); err != nil {
			return fmt.Errorf("spec.volumes[%d]: %w", i, err)
		}
		for _, nested := range nestedMountpoints(v.Name, pod) {
			if err := os.MkdirAll(filepath.Join(p, nested), 0o755); err != nil {
				return fmt.Errorf("spec.volumes[%d]: mount point of a nested volume: %w", i, err)
			}
		}
		src[v.Name] = p
	}
	return nil
}

// nestedMountpoints is the kubelet's getNestedMountpoints: the paths, relative to where the
// volume name is mounted in a container, where another volume of that container is mounted
// directly beneath it.
func nestedMountpoints(name string, pod *api.Pod) []string {
	var out []string
	for _, list := range [][]api.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			var all, mine []string
			for _, vm := range c.VolumeMounts {
				p := filepath.Clean(vm.MountPath)
				all = append(all, p)
				if vm.Name == name {
					mine = append(mine, p)
				}
			}
			slices.Sort(all)
			for _, m := range mine {
				prefix, prev := m+"/", ""
				for _, mp := range all {
					if !strings.HasPrefix(mp, prefix) || prev != "" && strings.HasPrefix(mp, prev) {
						continue
					}
					prev = mp + "/"
					out = append(out, mp[len(prefix):])
				}
			}
		}
	}
	return out
}
