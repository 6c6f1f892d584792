package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/minipod/minipod/api"
)

var uuidV4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := newUID()
		if !uuidV4RE.MatchString(u) {
			t.Fatalf("newUID() = %q, not an RFC 4122 version 4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("newUID() returned %q twice", u)
		}
		seen[u] = true
	}
}

func TestSandboxID(t *testing.T) {
	tests := []struct{ uid, want string }{
		{"0b1f6c2e-3d4a-4b5c-8d6e-7f8091a2b3c4", "0b1f6c2e3d4a4b5c8d6e7f8091a2b3c4"},
		{"", ""},
		{"nodashes", "nodashes"},
	}
	for _, tt := range tests {
		if got := sandboxID(tt.uid); got != tt.want {
			t.Errorf("sandboxID(%q) = %q, want %q", tt.uid, got, tt.want)
		}
		r := &Record{Pod: api.Pod{Metadata: api.ObjectMeta{UID: tt.uid}}}
		if got := r.sandboxID(); got != tt.want {
			t.Errorf("Record.sandboxID() with uid %q = %q, want %q", tt.uid, got, tt.want)
		}
	}
	// The id of a fresh uid is 32 hex digits: unique per pod and short enough for names
	// derived from it.
	if id := sandboxID(newUID()); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("sandboxID(newUID()) = %q, want 32 hex digits", id)
	}
}

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

func TestWritePodFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "etc") // created by writePodFiles
	if err := writePodFiles(dir, "10.66.0.7", "pod-a"); err != nil {
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
	if err := writePodFiles(dir, "10.66.0.8", "pod-a"); err != nil {
		t.Fatal(err)
	}
	hosts, _ = os.ReadFile(filepath.Join(dir, "hosts"))
	if bytes.Contains(hosts, []byte("10.66.0.7")) || !bytes.Contains(hosts, []byte("10.66.0.8\tpod-a\n")) {
		t.Errorf("hosts after rewrite:\n%s", hosts)
	}
}

func TestWriteJSONAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status.json")
	pod := &api.Pod{APIVersion: "v1", Kind: "Pod", Metadata: api.ObjectMeta{Name: "a", Namespace: "default"}}
	if err := writeJSONAtomic(p, pod); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("file does not end with a newline: %q", b)
	}
	var got api.Pod
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Name != "a" || got.Kind != "Pod" {
		t.Errorf("round trip = %+v", got)
	}
	assertOnlyFile(t, dir, "status.json")

	// A value that cannot be marshalled leaves the old file intact and no temp file.
	if err := writeJSONAtomic(p, map[string]any{"f": func() {}}); err == nil {
		t.Error("writeJSONAtomic of a func: want an error")
	}
	if b2, _ := os.ReadFile(p); !bytes.Equal(b, b2) {
		t.Errorf("a failed write changed the file: %q", b2)
	}
	assertOnlyFile(t, dir, "status.json")

	// A directory that does not exist: an error, nothing created.
	if err := writeJSONAtomic(filepath.Join(dir, "missing", "x.json"), pod); err == nil {
		t.Error("writeJSONAtomic into a missing directory: want an error")
	}
	assertOnlyFile(t, dir, "status.json")
}

// A reader polling the file while it is rewritten sees one complete version or the other,
// never a torn or empty file.
func TestWriteJSONAtomicConcurrentReader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status.json")
	type doc struct {
		Gen   int      `json:"gen"`
		Items []string `json:"items"`
	}
	// Versions alternate between small and large so a torn read would be caught by the parser
	// or by the length check.
	small, large := []string{"x"}, make([]string, 300)
	for i := range large {
		large[i] = strings.Repeat("x", 16)
	}
	itemsOf := func(gen int) []string {
		if gen%2 == 1 {
			return large
		}
		return small
	}
	version := func(gen int) doc { return doc{Gen: gen, Items: itemsOf(gen)} }
	if err := writeJSONAtomic(p, version(0)); err != nil {
		t.Fatal(err)
	}
	const writes = 2000
	done := make(chan struct{})
	var wg sync.WaitGroup
	var reads int
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		lastGen := 0
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(p)
			if err != nil {
				readErr = err
				return
			}
			var d doc
			if err := json.Unmarshal(b, &d); err != nil {
				readErr = errors.New("torn read: " + err.Error())
				return
			}
			if want := len(itemsOf(d.Gen)); len(d.Items) != want {
				readErr = errors.New("version with the wrong number of items")
				return
			}
			if d.Gen < lastGen {
				readErr = errors.New("a read went back in time")
				return
			}
			lastGen = d.Gen
			reads++
		}
	}()
	var writeErr error
	for gen := 1; gen <= writes; gen++ {
		if writeErr = writeJSONAtomic(p, version(gen)); writeErr != nil {
			break
		}
	}
	close(done)
	wg.Wait()
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if readErr != nil {
		t.Fatalf("after %d good reads: %v", reads, readErr)
	}
	if reads == 0 {
		t.Fatal("the reader never read the file")
	}
	var d doc
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &d); err != nil || d.Gen != writes {
		t.Errorf("final file: gen %d, err %v; want gen %d", d.Gen, err, writes)
	}
	assertOnlyFile(t, dir, "status.json")
}

func assertOnlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Errorf("%s holds %q, want only %q (no temp files)", dir, names, name)
	}
}
