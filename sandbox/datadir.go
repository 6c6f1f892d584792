package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/unmount"
)

// The pod's data dir holds its /dev/shm, its /etc files, its volumes, its image volumes'
// mounts and its container instances' root filesystems; releaseDataDir releases all of them.
func shmPath(rec *state.Record) string    { return filepath.Join(rec.DataDir(), "shm") }
func etcDir(rec *state.Record) string     { return filepath.Join(rec.DataDir(), "etc") }
func volumesDir(rec *state.Record) string { return filepath.Join(rec.DataDir(), "volumes") }

// mountShm mounts the pod's shared /dev/shm, a tmpfs like the one containerd gives a sandbox.
func mountShm(path string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("pod /dev/shm: %w", err)
	}
	if err := unix.Mount("shm", path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("pod /dev/shm: mount tmpfs: %w", err)
	}
	return nil
}

// hostsFile is the kubelet's managed /etc/hosts (pkg/kubelet/kubelet_pods.go
// managedHostsFileContent): localhost, the pod's address under its hostname (and first its
// fully qualified name, when it has a domain), then the host aliases.
func hostsFile(podIP, hostname, domain string, aliases []api.HostAlias) []byte {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	switch {
	case podIP == "":
	case domain != "":
		fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", podIP, hostname, domain, hostname)
	default:
		fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
	}
	b.Write(hostAliasEntries(aliases))
	return []byte(b.String())
}

// hostNetworkHostsFile is the kubelet's /etc/hosts for a pod on the host's network
// (nodeHostsFileContent): the host's own file under the kubelet's header, then the aliases.
func hostNetworkHostsFile(hostHosts []byte, aliases []api.HostAlias) []byte {
	b := []byte("# Kubernetes-managed hosts file (host network).\n")
	b = append(b, hostHosts...)
	return append(b, hostAliasEntries(aliases)...)
}

// hostAliasEntries is hostsEntriesFromHostAliases: a line per alias, its names tab-separated.
func hostAliasEntries(aliases []api.HostAlias) []byte {
	if len(aliases) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
	return []byte(b.String())
}

// etcHostsPath is the host's hosts file, which a pod on the host's network sees (the
// kubelet's etcHostsPath).
var etcHostsPath = "/etc/hosts"

// writeEtcFiles writes the pod's /etc/hosts, /etc/hostname and /etc/resolv.conf into dir.
func writeEtcFiles(dir string, hosts, hostname, resolv []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pod /etc files: %w", err)
	}
	for name, data := range map[string][]byte{"hosts": hosts, "hostname": hostname, "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("pod /etc files: %w", err)
		}
	}
	return nil
}

// releaseDataDir unmounts everything below the pod's data dir (/dev/shm, memory-backed
// volumes, image volumes, root filesystems) and removes it.
func releaseDataDir(rec *state.Record) error {
	if err := unmount.Tree(rec.DataDir()); err != nil {
		return err
	}
	if err := os.RemoveAll(rec.DataDir()); err != nil {
		return fmt.Errorf("remove pod data dir: %w", err)
	}
	return nil
}
