package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// pinIPCAndUTS creates the pod's IPC and UTS namespaces and pins each with a bind mount
// (no process holds them, like CRI-O's pinns), with the hostname set once: containers join
// the UTS namespace and so cannot set it themselves.
func pinIPCAndUTS(ipcPath, utsPath, hostname string) error {
	for _, p := range []string{ipcPath, utsPath} {
		f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if err != nil {
			return err
		}
		f.Close()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread must not run other goroutines while in the pod's namespaces. It goes
		// back to its own before it is unlocked; if that fails it stays locked, and the Go
		// runtime ends it with this goroutine.
		back, err := openThreadNamespaces("ipc", "uts")
		if err != nil {
			errc <- err
			return
		}
		defer closeAll(back)
		err = pin(ipcPath, utsPath, hostname)
		for _, f := range back {
			if serr := unix.Setns(int(f.Fd()), 0); serr != nil {
				errc <- errors.Join(err, fmt.Errorf("return to the host namespaces: %w", serr))
				return
			}
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

func pin(ipcPath, utsPath, hostname string) error {
	if err := unix.Unshare(unix.CLONE_NEWIPC | unix.CLONE_NEWUTS); err != nil {
		return fmt.Errorf("unshare ipc, uts: %w", err)
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	tid := unix.Gettid()
	for _, ns := range []struct{ kind, path string }{{"ipc", ipcPath}, {"uts", utsPath}} {
		src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, ns.kind)
		if err := unix.Mount(src, ns.path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("pin %s namespace: %w", ns.kind, err)
		}
	}
	return nil
}

// openThreadNamespaces opens the calling thread's namespaces of the given kinds.
func openThreadNamespaces(kinds ...string) ([]*os.File, error) {
	var fs []*os.File
	for _, k := range kinds {
		f, err := os.Open(fmt.Sprintf("/proc/thread-self/ns/%s", k))
		if err != nil {
			closeAll(fs)
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// unpin releases a pinned namespace file; a missing one is not an error.
func unpin(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// hostsFile is the kubelet's managed /etc/hosts (pkg/kubelet/kubelet_pods.go managedHostsFileContent).
func hostsFile(podIP, hostname string) []byte {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	if podIP != "" {
		fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
	}
	return []byte(b.String())
}

// writePodFiles writes /etc/hosts, /etc/hostname and /etc/resolv.conf for the pod's
// containers into dir. resolv.conf is the host's, as with dnsPolicy Default: minipod has
// no cluster DNS.
func writePodFiles(dir, podIP, hostname string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for name, data := range map[string][]byte{
		"hosts":       hostsFile(podIP, hostname),
		"hostname":    []byte(hostname + "\n"),
		"resolv.conf": resolv,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mountShm mounts the pod's shared /dev/shm, a tmpfs like the one containerd gives a sandbox.
func mountShm(path string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	return unix.Mount("shm", path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k")
}
