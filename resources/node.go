package resources

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

// HostCapacity is what this host has for pods, as the kubelet reports a node's capacity
// from cAdvisor's machine info: its CPUs, its memory (MemTotal), the size of the filesystem
// holding root (the kubelet's root dir: container layers, emptyDirs) and the maximum pod count.
func HostCapacity(root string) (api.ResourceList, error) {
	mem, err := MemoryCapacity()
	if err != nil {
		return nil, err
	}
	var st unix.Statfs_t
	// root may not exist yet: its filesystem is that of its nearest existing parent.
	for p := filepath.Clean(root); ; p = filepath.Dir(p) {
		err := unix.Statfs(p, &st)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.ENOENT) || p == filepath.Dir(p) {
			return nil, fmt.Errorf("read capacity of %s: %w", root, err)
		}
	}
	return api.ResourceList{
		api.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		api.ResourceMemory:           *resource.NewQuantity(mem, resource.BinarySI),
		api.ResourceEphemeralStorage: *resource.NewQuantity(int64(st.Blocks)*st.Bsize, resource.BinarySI),
		api.ResourcePods:             *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI),
	}, nil
}

// MemoryCapacity is the host's memory in bytes (MemTotal of /proc/meminfo, as cAdvisor's
// MachineInfo.MemoryCapacity).
func MemoryCapacity() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory capacity: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemTotal:" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				break
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("read memory capacity: no MemTotal in /proc/meminfo")
}
