package sysctl

import (
	"strings"
	"testing"
)

func TestToDots(t *testing.T) {
	for in, want := range map[string]string{
		"net.ipv4.ip_forward":              "net.ipv4.ip_forward",
		"net/ipv4/ip_forward":              "net.ipv4.ip_forward",
		"net/ipv4/conf/eno2.100/rp_filter": "net.ipv4.conf.eno2/100.rp_filter",
		"net.ipv4.conf.eno2/100.rp_filter": "net.ipv4.conf.eno2/100.rp_filter",
		"kernel":                           "kernel",
		"":                                 "",
	} {
		if got := ToDots(in); got != want {
			t.Errorf("ToDots(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNamespacedBy(t *testing.T) {
	for in, want := range map[string]Namespace{
		"kernel.sem":            IPCNamespace,
		"kernel.shmmax":         IPCNamespace,
		"kernel.msgmax":         IPCNamespace,
		"fs.mqueue.msg_max":     IPCNamespace,
		"net.core.somaxconn":    NetNamespace,
		"kernel.hostname":       UnknownNamespace,
		"vm.swappiness":         UnknownNamespace,
		"kernel.semx":           UnknownNamespace,
		"fs.mqueue":             UnknownNamespace,
		"net":                   UnknownNamespace,
		"kernel.shm_rmid_force": IPCNamespace,
	} {
		if got := NamespacedBy(in); got != want {
			t.Errorf("NamespacedBy(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewAllowlistErrors(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"vm.swappiness", `the sysctl "vm.swappiness" are not known to be namespaced`},
		{"kernel.*", `the sysctls "kernel.*" are not known to be namespaced`},
		{"Net.Core", `sysctl "Net.Core" must have at most 253 characters and match regex`},
		{"net.*.foo", `must have at most 253 characters`},
		{"", `must have at most 253 characters`},
	} {
		_, err := NewAllowlist([]string{tc.pattern})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewAllowlist(%q) = %v, want %q", tc.pattern, err, tc.want)
		}
	}
	if _, err := NewAllowlist([]string{"net.core.somaxconn", "kernel.msg*", "net/ipv4/route/*", "net.*"}); err != nil {
		t.Fatal(err)
	}
}

func TestAdmit(t *testing.T) {
	w, err := NewAllowlist([]string{"net.core.somaxconn", "kernel.msg*"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		sysctls          []string
		hostNet, hostIPC bool
		want             string // "" admitted
	}{
		{name: "none", sysctls: nil},
		{name: "safe", sysctls: []string{"net.ipv4.ip_local_port_range", "kernel.shm_rmid_forced"}},
		{name: "safe with slashes", sysctls: []string{"net/ipv4/ip_local_port_range"}},
		{name: "allowed unsafe name", sysctls: []string{"net.core.somaxconn"}},
		{name: "allowed unsafe prefix", sysctls: []string{"kernel.msgmax"}},
		{name: "unsafe", sysctls: []string{"net.ipv4.ip_local_port_range", "kernel.sem"}, want: `forbidden sysctl: "kernel.sem" not allowlisted`},
		{name: "not namespaced", sysctls: []string{"vm.swappiness"}, want: `forbidden sysctl: "vm.swappiness" not allowlisted`},
		{name: "net sysctl with host network", sysctls: []string{"net.ipv4.tcp_syncookies"}, hostNet: true, want: `forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled`},
		{name: "ipc prefix with host ipc", sysctls: []string{"kernel.msgmnb"}, hostIPC: true, want: `forbidden sysctl: "kernel.msgmnb" not allowed with host ipc enabled`},
		{name: "net sysctl with host ipc only", sysctls: []string{"net.core.somaxconn"}, hostIPC: true},
	}
	for _, tt := range tests {
		msg, ok := w.Admit(tt.sysctls, tt.hostNet, tt.hostIPC)
		if ok != (tt.want == "") || msg != tt.want {
			t.Errorf("%s: Admit = %q, %v; want %q", tt.name, msg, ok, tt.want)
		}
	}
	// Safe sysctls alone.
	safe, err := NewAllowlist(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := safe.Admit([]string{"net.core.somaxconn"}, false, false); ok {
		t.Error("net.core.somaxconn admitted without --allowed-unsafe-sysctls")
	}
}
