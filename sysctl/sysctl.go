// Package sysctl is the kubelet's sysctl admission (pkg/kubelet/sysctl): a pod may set only
// namespaced sysctls that are on the safe list or that the administrator allowed with
// --allowed-unsafe-sysctls (names, or prefixes ending in *); any other makes the kubelet
// reject the pod with reason SysctlForbidden.
package sysctl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// ForbiddenReason is the reason of a pod rejected for its sysctls (allowlist.go).
const ForbiddenReason = "SysctlForbidden"

// Safe is the kubelet's safe list (safe_sysctls.go): namespaced sysctls that affect nothing
// outside the pod. The kubelet drops the ones newer than the running kernel (all of them
// date from kernel 4.6 or earlier, below what minipod needs anyway).
var Safe = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}

// Namespace is the kernel namespace a sysctl belongs to (namespace.go).
type Namespace string

const (
	IPCNamespace     Namespace = "ipc"
	NetNamespace     Namespace = "net"
	UnknownNamespace Namespace = ""
)

var namespaces = map[string]Namespace{"kernel.sem": IPCNamespace}

var prefixNamespaces = []struct {
	prefix string
	ns     Namespace
}{
	{"kernel.shm", IPCNamespace},
	{"kernel.msg", IPCNamespace},
	{"fs.mqueue.", IPCNamespace},
	{"net.", NetNamespace},
}

// NamespacedBy returns the namespace of a sysctl (in dotted form), or UnknownNamespace if it
// is not known to be namespaced.
func NamespacedBy(name string) Namespace {
	if ns, ok := namespaces[name]; ok {
		return ns
	}
	for _, p := range prefixNamespaces {
		if strings.HasPrefix(name, p.prefix) {
			return p.ns
		}
	}
	return UnknownNamespace
}

// ToDots converts a sysctl written with slashes (net/ipv4/ip_forward) to the dotted form,
// swapping '.' and '/' as sysctl.d(5) does (k8s.io/component-helpers/node/util/sysctl
// ConvertSysctlVariableToDotsSeparator): a name whose first separator is '/' uses slashes.
func ToDots(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}

// maxLength and patternFmt are the API server's rules for a sysctl pattern, a name that may
// end in * (pkg/apis/policy/validation IsValidSysctlPattern).
const maxLength = 253

const patternFmt = `([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]`

var patternRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^" + patternFmt + "$") }) // compiled when first used: not in every process's start

// Allowlist is the kubelet's patternAllowlist: sysctls and prefixes allowed, each with its
// namespace.
type Allowlist struct {
	names    map[string]Namespace
	prefixes map[string]Namespace
}

// NewAllowlist builds the allowlist of the safe sysctls plus the unsafe patterns an
// administrator allowed (names, or prefixes ending in *), refusing patterns that are invalid
// or not known to be namespaced with the kubelet's messages (allowlist.go NewAllowlist).
func NewAllowlist(unsafe []string) (*Allowlist, error) {
	w := &Allowlist{names: map[string]Namespace{}, prefixes: map[string]Namespace{}}
	for _, s := range append(slices.Clone(Safe), unsafe...) {
		if len(s) > maxLength || !patternRE().MatchString(s) {
			return nil, fmt.Errorf("sysctl %q must have at most %d characters and match regex %s", s, maxLength, patternFmt)
		}
		s = ToDots(s)
		if prefix, ok := strings.CutSuffix(s, "*"); ok {
			ns := NamespacedBy(prefix)
			if ns == UnknownNamespace {
				return nil, fmt.Errorf("the sysctls %q are not known to be namespaced", s)
			}
			w.prefixes[prefix] = ns
			continue
		}
		ns := NamespacedBy(s)
		if ns == UnknownNamespace {
			return nil, fmt.Errorf("the sysctl %q are not known to be namespaced", s)
		}
		w.names[s] = ns
	}
	return w, nil
}

// Validate is the kubelet's validateSysctl: the sysctl must be allowed, and not in a
// namespace the pod shares with the host.
func (w *Allowlist) Validate(name string, hostNet, hostIPC bool) error {
	name = ToDots(name)
	ns, ok := w.names[name]
	if !ok {
		// The longest matching prefix, so that the answer does not depend on map order.
		best := ""
		for p, pns := range w.prefixes {
			if strings.HasPrefix(name, p) && len(p) >= len(best) {
				best, ns, ok = p, pns, true
			}
		}
	}
	if !ok {
		return fmt.Errorf("%q not allowlisted", name)
	}
	if (ns == IPCNamespace && hostIPC) || (ns == NetNamespace && hostNet) {
		return fmt.Errorf("%q not allowed with host %s enabled", name, ns)
	}
	return nil
}

// Admit checks a pod's sysctls as the kubelet's admission handler does (allowlist.go Admit):
// the first forbidden one rejects the pod with reason SysctlForbidden and this message.
func (w *Allowlist) Admit(names []string, hostNet, hostIPC bool) (message string, ok bool) {
	for _, n := range names {
		if err := w.Validate(n, hostNet, hostIPC); err != nil {
			return fmt.Sprintf("forbidden sysctl: %v", err), false
		}
	}
	return "", true
}
