package ocispec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// HostDevices lists the device nodes below dir (the host's /dev) for privileged containers,
// as containerd's oci.HostDevices does (pkg/oci/utils_unix.go getDevices): recursively,
// skipping the directories the runtime mounts itself or that belong to other tools and the
// console. Unlike Generate it reads the host; the caller calls it only for privileged
// containers.
func HostDevices(dir string) ([]specs.LinuxDevice, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list host devices: %w", err)
	}
	var out []specs.LinuxDevice
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			switch e.Name() {
			case "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev":
				continue
			}
			sub, err := HostDevices(p)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		case e.Name() == "console":
			continue
		default:
			d, err := deviceFromPath(p)
			if errors.Is(err, errNotADevice) || errors.Is(err, os.ErrNotExist) {
				continue // a regular file or symlink, or gone meanwhile
			}
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

var errNotADevice = errors.New("not a device node")

// deviceFromPath is containerd's DeviceFromPath: a node's type, numbers, mode and owner.
func deviceFromPath(path string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return specs.LinuxDevice{}, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		typ = "b"
	case unix.S_IFCHR:
		typ = "c"
	default:
		return specs.LinuxDevice{}, errNotADevice
	}
	mode := os.FileMode(st.Mode &^ unix.S_IFMT)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path:     path,
		Type:     typ,
		Major:    int64(unix.Major(st.Rdev)),
		Minor:    int64(unix.Minor(st.Rdev)),
		FileMode: &mode,
		UID:      &uid,
		GID:      &gid,
	}, nil
}
