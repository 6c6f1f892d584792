package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
)

func TestParseResolvConf(t *testing.T) {
	got := parseResolvConf([]byte("# comment\nnameserver 10.0.0.1\nsearch a.example. b.example\nnameserver 10.0.0.2 extra\noptions ndots:2\n search  c.example.\noptions edns0 attempts:3\nnameserver\n"))
	want := dnsConfig{servers: []string{"10.0.0.1", "10.0.0.2"}, searches: []string{"c.example"}, options: []string{"edns0", "attempts:3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseResolvConf = %+v, want %+v", got, want)
	}
}

func TestPodDNS(t *testing.T) {
	host := dnsConfig{servers: []string{"10.0.0.1"}, searches: []string{"corp.example"}, options: []string{"ndots:1", "edns0"}}
	two := "2"
	config := &api.PodDNSConfig{
		Nameservers: []string{"1.2.3.4", "10.0.0.1"},
		Searches:    []string{"ns1.svc.cluster-domain.example", "my.dns.search.suffix"},
		Options:     []api.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "single-request"}},
	}
	many := func(n int, f func(i int) string) []string {
		var l []string
		for i := range n {
			l = append(l, f(i))
		}
		return l
	}
	tests := []struct {
		name     string
		spec     api.PodSpec
		host     *dnsConfig
		want     string
		warnings int
	}{
		{"Default: the host's", spec(api.DNSDefault, nil), &host,
			"search corp.example\nnameserver 10.0.0.1\noptions ndots:1 edns0\n", 0},
		{"ClusterFirst without cluster DNS behaves as Default", spec(api.DNSClusterFirst, nil), &host,
			"search corp.example\nnameserver 10.0.0.1\noptions ndots:1 edns0\n", 0},
		{"ClusterFirstWithHostNet too", spec(api.DNSClusterFirstWithHostNet, nil), &host,
			"search corp.example\nnameserver 10.0.0.1\noptions ndots:1 edns0\n", 0},
		{"None: only dnsConfig (the docs' example)", spec(api.DNSNone, &api.PodDNSConfig{
			Nameservers: []string{"192.0.2.1"}, Searches: []string{"ns1.svc.cluster-domain.example", "my.dns.search.suffix"},
			Options: []api.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "edns0"}}}), &host,
			"search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 192.0.2.1\noptions ndots:2 edns0\n", 0},
		{"Default with dnsConfig: appended, duplicates dropped, options merged", spec(api.DNSDefault, config), &host,
			"search corp.example ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 10.0.0.1\nnameserver 1.2.3.4\noptions ndots:2 edns0 single-request\n", 0},
		{"no --resolv-conf: 127.0.0.1 and no search", spec(api.DNSDefault, nil), nil,
			"search .\nnameserver 127.0.0.1\n", 0},
		{"too many nameservers", spec(api.DNSDefault, &api.PodDNSConfig{Nameservers: []string{"1.1.1.1", "1.1.1.2", "1.1.1.3"}}), &host,
			"search corp.example\nnameserver 10.0.0.1\nnameserver 1.1.1.1\nnameserver 1.1.1.2\noptions ndots:1 edns0\n", 1},
		{"too many search domains", spec(api.DNSNone, &api.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: many(33, func(i int) string {
			return strings.Repeat("x", i%3+1) + "." + string(rune('a'+i%26)) + string(rune('a'+i/26))
		})}), nil,
			"", 1},
		{"nothing at all", spec(api.DNSDefault, nil), &dnsConfig{}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings := podDNS(&tt.spec, tt.host)
			got := string(c.format())
			if tt.want != "" && got != tt.want {
				t.Errorf("resolv.conf\n%s\nwant\n%s", got, tt.want)
			}
			if tt.name == "too many search domains" && len(c.searches) != api.MaxDNSSearchPaths {
				t.Errorf("%d search domains kept, want %d", len(c.searches), api.MaxDNSSearchPaths)
			}
			if len(warnings) != tt.warnings {
				t.Errorf("warnings %q, want %d", warnings, tt.warnings)
			}
		})
	}
	// The search line is cut to 2048 characters, domain by domain from the end.
	long := many(20, func(i int) string { return strings.Repeat("a", 120) + "." + string(rune('a'+i)) })
	kept, cut := fitSearches(long)
	if !cut || len(strings.Join(kept, " ")) > api.MaxDNSSearchListChars || len(kept) != 16 {
		t.Errorf("fitSearches kept %d domains (%d chars), cut %v", len(kept), len(strings.Join(kept, " ")), cut)
	}
}

func spec(policy api.DNSPolicy, config *api.PodDNSConfig) api.PodSpec {
	return api.PodSpec{PodHostSpec: api.PodHostSpec{DNSPolicy: policy, DNSConfig: config}}
}

func TestResolvConfFile(t *testing.T) {
	dir := t.TempDir()
	comments := filepath.Join(dir, "comments")
	os.WriteFile(comments, []byte("# nothing but a comment\n"), 0o644)
	// containerd copies the host's file when the configuration is empty.
	got, _, err := resolvConf(&api.PodSpec{PodHostSpec: api.PodHostSpec{DNSPolicy: api.DNSDefault}}, comments)
	if err != nil || string(got) != "# nothing but a comment\n" {
		t.Errorf("resolvConf = %q, %v", got, err)
	}
	got, _, err = resolvConf(&api.PodSpec{PodHostSpec: api.PodHostSpec{DNSPolicy: api.DNSDefault}}, filepath.Join(dir, "missing"))
	if err != nil || len(got) != 0 {
		t.Errorf("resolvConf of a missing file = %q, %v", got, err)
	}
}
