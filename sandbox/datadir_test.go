package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/minipod/minipod/api"
)

const hostsHeader = "# Kubernetes-managed hosts file.\n" +
	"127.0.0.1\tlocalhost\n" +
	"::1\tlocalhost ip6-localhost ip6-loopback\n" +
	"fe00::0\tip6-localnet\n" +
	"fe00::0\tip6-mcastprefix\n" +
	"fe00::1\tip6-allnodes\n" +
	"fe00::2\tip6-allrouters\n"

func TestHostsFile(t *testing.T) {
	aliases := []api.HostAlias{{IP: "127.0.0.1", Hostnames: []string{"foo.local", "bar.local"}}, {IP: "10.1.2.3", Hostnames: []string{"foo.remote"}}}
	aliasLines := "\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\n"
	tests := []struct {
		ip, hostname, domain string
		aliases              []api.HostAlias
		want                 string
	}{
		{"10.66.0.5", "web", "", nil, hostsHeader + "10.66.0.5\tweb\n"},
		{"10.66.255.254", "my-pod-1", "", nil, hostsHeader + "10.66.255.254\tmy-pod-1\n"},
		{"", "web", "", nil, hostsHeader},
		{"10.66.0.5", "web", "sub.default.svc.cluster.local", nil, hostsHeader + "10.66.0.5\tweb.sub.default.svc.cluster.local\tweb\n"},
		{"10.66.0.5", "web", "", aliases, hostsHeader + "10.66.0.5\tweb\n" + aliasLines},
	}
	for _, tt := range tests {
		if got := string(hostsFile(tt.ip, tt.hostname, tt.domain, tt.aliases)); got != tt.want {
			t.Errorf("hostsFile(%q, %q, %q) =\n%s\nwant\n%s", tt.ip, tt.hostname, tt.domain, got, tt.want)
		}
	}
	node := "127.0.0.1 localhost\n192.168.1.2 myhost\n"
	if got, want := string(hostNetworkHostsFile([]byte(node), aliases)), "# Kubernetes-managed hosts file (host network).\n"+node+aliasLines; got != want {
		t.Errorf("hostNetworkHostsFile =\n%s\nwant\n%s", got, want)
	}
}

func TestWriteEtcFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "etc") // created by writeEtcFiles
	hosts := hostsFile("10.66.0.7", "pod-a", "", nil)
	if err := writeEtcFiles(dir, hosts, []byte("pod-a\n"), []byte("nameserver 127.0.0.1\n")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hosts": string(hosts), "hostname": "pod-a\n", "resolv.conf": "nameserver 127.0.0.1\n"}
	for name, content := range want {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != content {
			t.Errorf("%s = %q, want %q", name, b, content)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o444 != 0o444 {
			t.Errorf("%s mode %v: containers (any uid) must be able to read it", name, fi.Mode())
		}
	}
	// Rewriting replaces the content (a restarted sandbox gets a new address).
	if err := writeEtcFiles(dir, hostsFile("10.66.0.8", "pod-a", "", nil), []byte("pod-a\n"), nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "hosts")); string(b) != hostsHeader+"10.66.0.8\tpod-a\n" {
		t.Errorf("hosts after rewrite:\n%s", b)
	}
}
