package state

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings of the error; none means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"nested cgroup parent", func(c *Config) { c.CgroupParent = "a/b.c/d_e-f" }, nil},
		{"max equals initial", func(c *Config) { c.BackoffInitial, c.BackoffMax = time.Second, time.Second }, nil},
		{"smallest subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.9.9.0/30") }, nil},
		{"largest subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.0.0.0/8") }, nil},

		{"relative state dir", func(c *Config) { c.StateDir = "run/minipod" }, []string{"--state-dir", `"run/minipod"`}},
		{"empty state dir", func(c *Config) { c.StateDir = "" }, []string{"--state-dir"}},
		{"relative root", func(c *Config) { c.Root = "var/lib" }, []string{"--root", `"var/lib"`}},
		{"monitor path", func(c *Config) { c.MonitorPath = "/usr/libexec/minipod/minipod-monitor" }, nil},
		{"relative monitor path", func(c *Config) { c.MonitorPath = "bin/minipod-monitor" }, []string{"--monitor-path", `"bin/minipod-monitor"`}},
		{"relative log dir", func(c *Config) { c.LogDir = "logs" }, []string{"--log-dir", `"logs"`}},
		{"empty cgroup parent", func(c *Config) { c.CgroupParent = "" }, []string{"--cgroup-parent"}},
		{"absolute cgroup parent", func(c *Config) { c.CgroupParent = "/minipod" }, []string{"--cgroup-parent", `"/minipod"`}},
		{"cgroup parent with empty component", func(c *Config) { c.CgroupParent = "a//b" }, []string{"--cgroup-parent"}},
		{"cgroup parent trailing slash", func(c *Config) { c.CgroupParent = "a/" }, []string{"--cgroup-parent"}},
		{"cgroup parent dot", func(c *Config) { c.CgroupParent = "." }, []string{"--cgroup-parent"}},
		{"cgroup parent dotdot", func(c *Config) { c.CgroupParent = ".." }, []string{"--cgroup-parent"}},
		{"cgroup parent space", func(c *Config) { c.CgroupParent = "a b" }, []string{"--cgroup-parent"}},
		{"zero initial back-off", func(c *Config) { c.BackoffInitial = 0 }, []string{"--backoff-initial"}},
		{"negative initial back-off", func(c *Config) { c.BackoffInitial = -time.Second }, []string{"--backoff-initial", "-1s"}},
		{"max below initial", func(c *Config) { c.BackoffInitial, c.BackoffMax = time.Minute, time.Second }, []string{"--backoff-max", "1s"}},
		{"bridge with slash", func(c *Config) { c.Bridge = "br/0" }, []string{"Config.Bridge", `"br/0"`}},
		{"bridge too long", func(c *Config) { c.Bridge = "abcdefghijklmnop" }, []string{"Config.Bridge"}},
		{"ipv6 subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("fd00::/64") }, []string{"Config.Subnet", "IPv4"}},
		{"subnet too small", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.9.9.0/31") }, []string{"Config.Subnet", "too small"}},
		{"subnet too large", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.0.0.0/7") }, []string{"Config.Subnet", "too large"}},
		{"subnet host bits", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.66.1.0/16") }, []string{"Config.Subnet", "10.66.0.0/16"}},
		{"unsafe sysctls", func(c *Config) { c.AllowedUnsafeSysctls = []string{"kernel.msg*", "net.core.somaxconn"} }, nil},
		{"unsafe sysctl not namespaced", func(c *Config) { c.AllowedUnsafeSysctls = []string{"vm.swappiness"} },
			[]string{"--allowed-unsafe-sysctls", `"vm.swappiness" are not known to be namespaced`}},
		{"reserved", func(c *Config) {
			c.Reserved = api.ResourceList{"cpu": resource.MustParse("500m"), "memory": resource.MustParse("1Gi"), "ephemeral-storage": resource.MustParse("1Gi")}
		}, nil},
		{"reserved unknown resource", func(c *Config) { c.Reserved = api.ResourceList{"pods": resource.MustParse("1")} }, []string{"--reserved", `"pods"`}},
		{"reserved negative", func(c *Config) { c.Reserved = api.ResourceList{"cpu": resource.MustParse("-1")} }, []string{"--reserved", "cpu", "-1"}},
		{"every error reported", func(c *Config) {
			c.StateDir, c.LogDir, c.CgroupParent, c.BackoffInitial = "s", "l", "/c", 0
		}, []string{"--state-dir", "--log-dir", "--cgroup-parent", "--backoff-initial"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// A flag's error names that flag only: a bad value of one setting must not be blamed on another.
func TestConfigValidateNamesOnlyTheBadFlag(t *testing.T) {
	flags := []string{"--state-dir", "--root", "--log-dir", "--cgroup-parent", "--backoff-initial", "--backoff-max"}
	tests := []struct {
		flag   string
		modify func(*Config)
	}{
		{"--state-dir", func(c *Config) { c.StateDir = "x" }},
		{"--log-dir", func(c *Config) { c.LogDir = "x" }},
		{"--cgroup-parent", func(c *Config) { c.CgroupParent = "/x" }},
		{"--backoff-max", func(c *Config) { c.BackoffMax = c.BackoffInitial - 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, f := range flags {
				// "--backoff-max" mentions --backoff-initial in its message by design.
				if f == tt.flag || (tt.flag == "--backoff-max" && f == "--backoff-initial") {
					continue
				}
				if strings.Contains(err.Error(), f+":") {
					t.Errorf("Validate() = %q also blames %s", err, f)
				}
			}
			if !strings.Contains(err.Error(), tt.flag+":") {
				t.Errorf("Validate() = %q, want it to name %s", err, tt.flag)
			}
		})
	}
}
