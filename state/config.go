// Package state is minipod's on-disk layout: the configuration that names every host path,
// the pod record written before anything else exists, where each file and resource of a pod
// lives, and the formats of the IDs derived from a pod's uid, each with its parser beside
// its formatter. The CLI, the per-pod monitor and garbage collection all find things here.
package state

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/netns"
	"github.com/minipod/minipod/portmap"
	"github.com/minipod/minipod/sysctl"
)

// Config holds every host path and network setting minipod uses, so that two instances
// (a test run beside a real pod) never collide.
type Config struct {
	StateDir       string        `json:"stateDir"`       // runtime state, e.g. /run/minipod
	Root           string        `json:"root"`           // persistent data, e.g. /var/lib/minipod
	LogDir         string        `json:"logDir"`         // container logs, e.g. /var/log/minipod
	Bridge         string        `json:"bridge"`         // host bridge for pod networking
	Subnet         netip.Prefix  `json:"subnet"`         // pod addresses; the gateway is its first address
	CgroupParent   string        `json:"cgroupParent"`   // parent of every pod cgroup
	BackoffInitial time.Duration `json:"backoffInitial"` // first crash-loop back-off
	BackoffMax     time.Duration `json:"backoffMax"`     // crash-loop back-off cap
	// InsecureRegistries may be reached over plain HTTP, besides localhost and 127.0.0.1.
	InsecureRegistries []string `json:"insecureRegistries,omitempty"`
	// ResolvConf is the resolver configuration pods get, as the kubelet's --resolv-conf;
	// empty: none, the pods resolve through 127.0.0.1 (the kubelet's rule).
	ResolvConf string `json:"resolvConf"`
	// ClusterDomain names the pods of a subdomain (<hostname>.<subdomain>.<namespace>.svc.<domain>),
	// as the kubelet's --cluster-domain.
	ClusterDomain string `json:"clusterDomain"`
	// ContainerLogMaxSize and ContainerLogMaxFiles rotate container logs, as the kubelet's
	// flags of the same names.
	ContainerLogMaxSize  int64 `json:"containerLogMaxSize"`
	ContainerLogMaxFiles int   `json:"containerLogMaxFiles"`
	// SeccompDefault makes RuntimeDefault the seccomp profile of containers that name none,
	// as the kubelet's --seccomp-default.
	SeccompDefault bool `json:"seccompDefault,omitempty"`
	// AllowedUnsafeSysctls are the sysctls (or prefixes ending in *) pods may set besides the
	// safe ones, as the kubelet's --allowed-unsafe-sysctls.
	AllowedUnsafeSysctls []string `json:"allowedUnsafeSysctls,omitempty"`
	// Reserved is kept from pods (cpu, memory, ephemeral-storage), as the kubelet's
	// --system-reserved: admission offers pods the host's capacity less this.
	Reserved api.ResourceList `json:"reserved,omitempty"`
	// MonitorPath is the per-pod monitor binary; empty: minipod-monitor beside minipod.
	MonitorPath string `json:"monitorPath,omitempty"`
	// MaxPods is how many pods admission lets hold resources at once, as the kubelet's
	// --max-pods (default 110).
	MaxPods int `json:"maxPods,omitempty"`
}

// DefaultConfig returns the defaults. The subnet avoids Podman's 10.88.0.0/16 and
// 10.89.0.0/24 and Docker's 172.17.0.0/16.
func DefaultConfig() Config {
	return Config{
		StateDir:       "/run/minipod",
		Root:           "/var/lib/minipod",
		LogDir:         "/var/log/minipod",
		Bridge:         "minipod0",
		Subnet:         netip.MustParsePrefix("10.66.0.0/16"),
		CgroupParent:   "minipod",
		BackoffInitial: 10 * time.Second,
		BackoffMax:     300 * time.Second,
		ResolvConf:     "/etc/resolv.conf",
		ClusterDomain:  "cluster.local",
		// The kubelet's defaults.
		ContainerLogMaxSize:  10 << 20,
		ContainerLogMaxFiles: 5,
		MaxPods:              110,
	}
}

// isCgroupParent reports whether s is a relative cgroup path: names of letters, digits, "_",
// "." and "-", joined by "/", none of them "." or "..".
func isCgroupParent(s string) bool {
	for part := range strings.SplitSeq(s, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
		for _, c := range part {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Validate checks the configuration, naming the flag of each bad value.
func (c Config) Validate() error {
	var errs []error
	for _, p := range []struct{ flag, v string }{{"--state-dir", c.StateDir}, {"--root", c.Root}, {"--log-dir", c.LogDir}, {"--resolv-conf", c.ResolvConf}, {"--monitor-path", c.MonitorPath}} {
		if !filepath.IsAbs(p.v) && !((p.flag == "--resolv-conf" || p.flag == "--monitor-path") && p.v == "") {
			errs = append(errs, fmt.Errorf("%s: must be an absolute path, got %q", p.flag, p.v))
		}
	}
	if msgs := validation.IsDNS1123Subdomain(c.ClusterDomain); c.ClusterDomain != "" && len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--cluster-domain: %q: %s", c.ClusterDomain, strings.Join(msgs, "; ")))
	}
	if !isCgroupParent(c.CgroupParent) {
		errs = append(errs, fmt.Errorf("--cgroup-parent: must be a relative cgroup path, got %q", c.CgroupParent))
	}
	if c.BackoffInitial <= 0 {
		errs = append(errs, fmt.Errorf("--backoff-initial: must be positive, got %s", c.BackoffInitial))
	}
	if c.BackoffMax < c.BackoffInitial {
		errs = append(errs, fmt.Errorf("--backoff-max: must be at least --backoff-initial, got %s", c.BackoffMax))
	}
	for _, r := range c.InsecureRegistries {
		if r == "" || strings.ContainsAny(r, "/ \t") {
			errs = append(errs, fmt.Errorf("--insecure-registry: want host[:port], got %q", r))
		}
	}
	if c.ContainerLogMaxSize < 1024 {
		errs = append(errs, fmt.Errorf("--container-log-max-size: must be at least 1Ki, got %d bytes", c.ContainerLogMaxSize))
	}
	if c.ContainerLogMaxFiles < 2 {
		errs = append(errs, fmt.Errorf("--container-log-max-files: must be at least 2, got %d", c.ContainerLogMaxFiles))
	}
	if c.MaxPods < 1 {
		errs = append(errs, fmt.Errorf("--max-pods: must be at least 1, got %d", c.MaxPods))
	}
	if _, err := sysctl.NewAllowlist(c.AllowedUnsafeSysctls); err != nil {
		errs = append(errs, fmt.Errorf("--allowed-unsafe-sysctls: %w", err))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Reserved)) {
		switch q := c.Reserved[name]; {
		case name != api.ResourceCPU && name != api.ResourceMemory && name != api.ResourceEphemeralStorage:
			errs = append(errs, fmt.Errorf("--reserved: %q is not cpu, memory or ephemeral-storage", name))
		case q.Sign() < 0:
			errs = append(errs, fmt.Errorf("--reserved: %s must not be negative, got %s", name, q.String()))
		}
	}
	if err := c.Network().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Network is the pod network configuration: the bridge, the subnet, where addresses are
// allocated and where network namespaces are pinned.
func (c Config) Network() netns.Config {
	return netns.Config{
		Bridge:   c.Bridge,
		Subnet:   c.Subnet,
		IPAMDir:  filepath.Join(c.Root, "networks", c.Bridge),
		NetNSDir: filepath.Join(c.StateDir, "netns"),
	}
}

// NAT is the pod network's NAT: host ports and outbound masquerading.
func (c Config) NAT() portmap.Config {
	return portmap.Config{Bridge: c.Bridge, Subnet: c.Subnet}
}

// HostPortsLock is the lock taken while a pod's host ports are checked against the other
// pods' and its record is written.
func (c Config) HostPortsLock() string { return filepath.Join(c.StateDir, "hostports.lock") }

// PodsDir holds one state directory per pod, named by PodKey.
func (c Config) PodsDir() string { return filepath.Join(c.StateDir, "pods") }

// ContainersDir is libcontainer's state root, one directory per container instance.
func (c Config) ContainersDir() string { return filepath.Join(c.StateDir, "containers") }

// NamespacesDir holds the pinned IPC and UTS namespaces of each pod, by uid.
func (c Config) NamespacesDir() string { return filepath.Join(c.StateDir, "ns") }

// PodDataRoot holds each pod's data (root filesystem layers, volumes, /etc files), by uid.
func (c Config) PodDataRoot() string { return filepath.Join(c.Root, "pods") }

// SeccompDir holds the Localhost seccomp profiles pods name, as the kubelet's
// <root-dir>/seccomp.
func (c Config) SeccompDir() string { return filepath.Join(c.Root, "seccomp") }

// ObjectsDir is the store of the objects pods use (ConfigMaps, Secrets), per namespace.
func (c Config) ObjectsDir() string { return filepath.Join(c.Root, "objects") }

// ImagesDir is the image store.
func (c Config) ImagesDir() string { return filepath.Join(c.Root, "images") }

// PodLogsDir holds the container logs of each pod, in directories named by LogDirName.
func (c Config) PodLogsDir() string { return filepath.Join(c.LogDir, "pods") }

// PodDir is the state directory of a pod.
func (c Config) PodDir(namespace, name string) string {
	return filepath.Join(c.PodsDir(), PodKey(namespace, name))
}
