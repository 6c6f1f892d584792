package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/minipod/minipod/api"
)

// dnsConfig is a pod's resolver configuration, the CRI's DNSConfig.
type dnsConfig struct {
	servers, searches, options []string
}

// parseResolvConf is the kubelet's parseResolvConf (pkg/kubelet/network/dns/dns.go):
// nameserver lines accumulate, the last search line and the last options line win, and a
// search domain loses its trailing dot.
func parseResolvConf(b []byte) dnsConfig {
	c := dnsConfig{servers: []string{}, searches: []string{}, options: []string{}}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) >= 2 {
				c.servers = append(c.servers, f[1])
			}
		case "search":
			c.searches = []string{}
			for _, s := range f[1:] {
				c.searches = append(c.searches, strings.TrimSuffix(s, "."))
			}
		case "options":
			c.options = f[1:]
		}
	}
	return c
}

// podDNS is the kubelet's GetPodDNS for a kubelet without cluster DNS (none exists on one
// host). dnsPolicy None starts empty; every other policy, ClusterFirst and
// ClusterFirstWithHostNet included, falls back to Default: the host's configuration (host
// is nil when --resolv-conf is empty, and then the pod resolves through 127.0.0.1). Then
// spec.dnsConfig is appended, and the result cut to the resolver's limits; warnings are the
// kubelet's DNSConfigForming events.
func podDNS(spec *api.PodSpec, host *dnsConfig) (dnsConfig, []string) {
	var c dnsConfig
	switch {
	case spec.DNSPolicy == api.DNSNone:
	case host == nil:
		c = dnsConfig{servers: []string{"127.0.0.1"}, searches: []string{"."}}
	default:
		c = *host
	}
	if d := spec.DNSConfig; d != nil {
		c.servers = omitDuplicates(append(c.servers, d.Nameservers...))
		c.searches = omitDuplicates(append(c.searches, d.Searches...))
		c.options = mergeDNSOptions(c.options, d.Options)
	}
	var warnings []string
	if len(c.servers) > api.MaxDNSNameservers {
		c.servers = c.servers[:api.MaxDNSNameservers]
		warnings = append(warnings, "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "+strings.Join(c.servers, " "))
	}
	if searches, cut := fitSearches(c.searches); cut {
		c.searches = searches
		warnings = append(warnings, "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: "+strings.Join(c.searches, " "))
	}
	return c, warnings
}

// fitSearches is formDNSSearchFitsLimits: at most 32 domains, none longer than 253
// characters, at most 2048 characters in all.
func fitSearches(searches []string) ([]string, bool) {
	cut := false
	if len(searches) > api.MaxDNSSearchPaths {
		searches, cut = searches[:api.MaxDNSSearchPaths], true
	}
	var kept []string
	for _, s := range searches {
		if len(s) > 253 {
			cut = true
			continue
		}
		kept = append(kept, s)
	}
	for len(strings.Join(kept, " ")) > api.MaxDNSSearchListChars {
		kept, cut = kept[:len(kept)-1], true
	}
	return kept, cut
}

func omitDuplicates(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeDNSOptions is the kubelet's mergeDNSOptions: an option of the pod replaces one of the
// same name. The kubelet's output order is a Go map's, that is random; here the first
// occurrence's place is kept.
func mergeDNSOptions(existing []string, pod []api.PodDNSConfigOption) []string {
	var names []string
	values := map[string]string{}
	set := func(name, value string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = value
	}
	for _, o := range existing {
		name, value, _ := strings.Cut(o, ":")
		set(name, value)
	}
	for _, o := range pod {
		value := ""
		if o.Value != nil {
			value = *o.Value
		}
		set(o.Name, value)
	}
	options := []string{}
	for _, n := range names {
		if v := values[n]; v != "" {
			options = append(options, n+":"+v)
		} else {
			options = append(options, n)
		}
	}
	return options
}

// format writes the configuration as containerd does (parseDNSOptions): search, nameserver
// and options lines, each only when it has something.
func (c dnsConfig) format() []byte {
	var b bytes.Buffer
	if len(c.searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(c.searches, " "))
	}
	if len(c.servers) > 0 {
		fmt.Fprintf(&b, "nameserver %s\n", strings.Join(c.servers, "\nnameserver "))
	}
	if len(c.options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(c.options, " "))
	}
	return b.Bytes()
}

// resolvConf is the pod's /etc/resolv.conf. With nothing to write, containerd copies the
// host's file instead.
func resolvConf(spec *api.PodSpec, hostFile string) ([]byte, []string, error) {
	var raw []byte
	var host *dnsConfig
	if hostFile != "" {
		var err error
		raw, err = os.ReadFile(hostFile)
		if err != nil && !os.IsNotExist(err) {
			return nil, nil, fmt.Errorf("read --resolv-conf: %w", err)
		}
		h := parseResolvConf(raw)
		host = &h
	}
	c, warnings := podDNS(spec, host)
	b := c.format()
	if len(b) == 0 {
		b = raw
	}
	return b, warnings, nil
}
