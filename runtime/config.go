// Package runtime runs pods: it persists a pod's record, starts the per-pod monitor that
// owns the pod's namespaces and containers (their parent, reaper and log writer), supervises
// every exit with the kubelet's restart rules, and cleans up after pods whose monitor died.
package runtime

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/netns"
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
	}
}

var cgroupParentRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

// Validate checks the configuration, naming the flag of each bad value.
func (c Config) Validate() error {
	var errs []error
	for _, p := range []struct{ flag, v string }{{"--state-dir", c.StateDir}, {"--root", c.Root}, {"--log-dir", c.LogDir}} {
		if !filepath.IsAbs(p.v) {
			errs = append(errs, fmt.Errorf("%s: must be an absolute path, got %q", p.flag, p.v))
		}
	}
	if !cgroupParentRE.MatchString(c.CgroupParent) || slices.Contains(strings.Split(c.CgroupParent, "/"), "..") || slices.Contains(strings.Split(c.CgroupParent, "/"), ".") {
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
	if err := c.network().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) network() netns.Config {
	return netns.Config{
		Bridge:   c.Bridge,
		Subnet:   c.Subnet,
		IPAMDir:  filepath.Join(c.Root, "networks", c.Bridge),
		NetNSDir: filepath.Join(c.StateDir, "netns"),
	}
}

func (c Config) podsDir() string       { return filepath.Join(c.StateDir, "pods") }
func (c Config) containersDir() string { return filepath.Join(c.StateDir, "containers") }
func (c Config) nsDir() string         { return filepath.Join(c.StateDir, "ns") }
func (c Config) podDataRoot() string   { return filepath.Join(c.Root, "pods") }
func (c Config) imagesDir() string     { return filepath.Join(c.Root, "images") }

// OpenImages opens the image store of this configuration.
func (c Config) OpenImages() (*image.Store, error) {
	s, err := image.Open(c.imagesDir())
	if err != nil {
		return nil, err
	}
	s.Insecure = c.InsecureRegistries
	return s, nil
}
