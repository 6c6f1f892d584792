package sandbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostsFile(t *testing.T) {
	header := "# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n"
	tests := []struct{ ip, hostname, want string }{
		{"10.66.0.5", "web", header + "10.66.0.5\tweb\n"},
		{"10.66.255.254", "my-pod-1", header + "10.66.255.254\tmy-pod-1\n"},
		{"", "web", header},
	}
	for _, tt := range tests {
		if got := string(hostsFile(tt.ip, tt.hostname)); got != tt.want {
			t.Errorf("hostsFile(%q, %q) =\n%s\nwant\n%s", tt.ip, tt.hostname, got, tt.want)
		}
	}
}

func TestWriteEtcFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "etc") // created by writeEtcFiles
	if err := writeEtcFiles(dir, "/etc/resolv.conf", "10.66.0.7", "pod-a"); err != nil {
		t.Fatal(err)
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	want := map[string]string{
		"hosts":       string(hostsFile("10.66.0.7", "pod-a")),
		"hostname":    "pod-a\n",
		"resolv.conf": string(resolv),
	}
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
	hosts, _ := os.ReadFile(filepath.Join(dir, "hosts"))
	if !strings.HasPrefix(string(hosts), "# Kubernetes-managed hosts file.\n") {
		t.Errorf("hosts lacks the kubelet header:\n%s", hosts)
	}
	if !strings.HasSuffix(string(hosts), "\n10.66.0.7\tpod-a\n") {
		t.Errorf("hosts lacks the pod's own line last:\n%s", hosts)
	}

	// Rewriting replaces the content (a restarted sandbox gets a new address).
	if err := writeEtcFiles(dir, "/etc/resolv.conf", "10.66.0.8", "pod-a"); err != nil {
		t.Fatal(err)
	}
	hosts, _ = os.ReadFile(filepath.Join(dir, "hosts"))
	if bytes.Contains(hosts, []byte("10.66.0.7")) || !bytes.Contains(hosts, []byte("10.66.0.8\tpod-a\n")) {
		t.Errorf("hosts after rewrite:\n%s", hosts)
	}
}
