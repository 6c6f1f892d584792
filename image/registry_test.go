package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is ggcr's in-process registry on 127.0.0.1, with a hook to alter responses and
// counters of what it was asked.
type testRegistry struct {
	srv       *httptest.Server
	host      string
	requests  atomic.Int64 // every request
	manifests atomic.Int64 // requests for /manifests/
	hook      atomic.Pointer[func(w http.ResponseWriter, r *http.Request, next http.Handler) bool]
	auth      *authn.Basic // required when set
}

func newRegistry(t testing.TB, auth *authn.Basic) *testRegistry {
	t.Helper()
	tr := &testRegistry{auth: auth}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.requests.Add(1)
		if strings.Contains(r.URL.Path, "/manifests/") {
			tr.manifests.Add(1)
		}
		if tr.auth != nil {
			u, p, ok := r.BasicAuth()
			if !ok || u != tr.auth.Username || p != tr.auth.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		if h := tr.hook.Load(); h != nil && (*h)(w, r, inner) {
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	if !strings.HasPrefix(tr.host, "127.0.0.1:") {
		t.Fatalf("test registry not on 127.0.0.1: %s", tr.host)
	}
	return tr
}

func (tr *testRegistry) setHook(h func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	tr.hook.Store(&h)
}

func (tr *testRegistry) push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	full := tr.host + "/" + ref
	r, err := name.ParseReference(full)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{}
	if tr.auth != nil {
		opts = append(opts, remote.WithAuth(tr.auth))
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatal(err)
	}
	return full
}

func (tr *testRegistry) pushIndex(t testing.TB, ref string, idx v1.ImageIndex) string {
	t.Helper()
	full := tr.host + "/" + ref
	r, err := name.ParseReference(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return full
}

func randomImage(t testing.TB, size int64, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// hermeticAuth keeps the host's credentials out of a test.
func hermeticAuth(t testing.TB) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("REGISTRY_AUTH_FILE", "")
}

// storeEmpty checks that nothing of an image landed: no layer (finished or temp), no record, no
// name, no staging leftovers.
func storeEmpty(t *testing.T, s *Store) {
	t.Helper()
	if e := layersEntries(t, s); len(e) != 0 {
		t.Errorf("layers: %v", e)
	}
	for _, d := range []string{"images/sha256", "tmp"} {
		ents, _ := os.ReadDir(filepath.Join(s.Root, d))
		if len(ents) != 0 {
			t.Errorf("%s: %v", d, ents)
		}
	}
	idx, err := s.readIndex()
	if err != nil || len(idx.Names) != 0 {
		t.Errorf("names: %v %v", idx, err)
	}
}

func TestNormalize(t *testing.T) {
	s := &Store{Root: t.TempDir()}
	for ref, want := range map[string]string{
		"busybox":                               "docker.io/library/busybox:latest",
		"busybox:1.36":                          "docker.io/library/busybox:1.36",
		"docker.io/library/busybox:1.36":        "docker.io/library/busybox:1.36",
		"index.docker.io/library/busybox":       "docker.io/library/busybox:latest",
		"user/app":                              "docker.io/user/app:latest",
		"quay.io/a/b/c:v1":                      "quay.io/a/b/c:v1",
		"localhost:5000/app@sha256:" + hex64(1): "localhost:5000/app@sha256:" + hex64(1),
	} {
		r, err := s.parseRegistryRef(ref)
		if err != nil {
			t.Errorf("%s: %v", ref, err)
			continue
		}
		if got := canonical(r); got != want {
			t.Errorf("%s → %s, want %s", ref, got, want)
		}
	}
	for _, n := range []string{"myimg", "myimg:v2", "example.com/x", "localhost/y", "host:5000/z"} {
		tag, err := importName(n)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("import %s → %s", n, canonical(tag))
	}
	if tag, _ := importName("myimg"); canonical(tag) != "localhost/myimg:latest" {
		t.Errorf("import name: %s", canonical(tag))
	}
}

func hex64(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }

// TestPlainHTTPGuard: plain HTTP only to loopback and listed registries (ggcr alone would also
// use it for RFC 1918 addresses). The inner transport is a stub: nothing is dialled.
func TestPlainHTTPGuard(t *testing.T) {
	s := &Store{Insecure: []string{"10.0.0.7:5000", "reg.lan"}}
	var reached []string
	g := &plainHTTPGuard{insecure: s.isInsecure, inner: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		reached = append(reached, r.URL.Host)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})}
	for url, ok := range map[string]bool{
		"http://127.0.0.1:5000/v2/":   true,
		"http://localhost:5000/v2/":   true,
		"http://[::1]:5000/v2/":       true,
		"http://10.0.0.7:5000/v2/":    true,
		"http://reg.lan/v2/":          true,
		"http://10.0.0.8:5000/v2/":    false,
		"http://192.168.1.1/v2/":      false,
		"http://registry.example/v2/": false,
		"https://10.0.0.8:5000/v2/":   true,
	} {
		req, _ := http.NewRequest("GET", url, nil)
		_, err := g.RoundTrip(req)
		if ok != (err == nil) {
			t.Errorf("%s: err = %v", url, err)
		}
		if err != nil && !strings.Contains(err.Error(), "refusing plain HTTP") {
			t.Errorf("%s: %v", url, err)
		}
	}
	// And the references: listed registries are marked insecure for ggcr.
	r, _ := s.parseRegistryRef("reg.lan/app")
	if r.Context().Scheme() != "http" {
		t.Errorf("reg.lan scheme %s", r.Context().Scheme())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPullByTagAndDigest(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	img := randomImage(t, 4096, 3)
	ref := reg.push(t, "test/app:v1", img)
	s := newStore(t)
	var mu sync.Mutex
	var events []Progress
	got, err := s.Pull(context.Background(), ref, PullOptions{Progress: func(p Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	md := digestOf(t, img.Digest)
	if want := digestOf(t, img.ConfigName).String(); got.ID != want {
		t.Errorf("ID %s, want %s", got.ID, want)
	}
	if want := reg.host + "/test/app@" + md.String(); got.RepoDigest != want || got.ImageRef() != want {
		t.Errorf("RepoDigest %s, ImageRef %s, want %s", got.RepoDigest, got.ImageRef(), want)
	}
	if got.Name != ref || got.Ref != ref || len(got.Layers) != 3 {
		t.Errorf("%+v", got)
	}
	done := 0
	var bytesSeen bool
	for _, e := range events {
		if e.Done {
			done++
		}
		if e.Layer != "" && e.Total > 0 && e.Complete == e.Total {
			bytesSeen = true
		}
	}
	if done != 3 || !bytesSeen {
		t.Errorf("progress: %d layers done, bytes %v: %+v", done, bytesSeen, events)
	}
	// By digest: same image, the digest reference recorded as a name of its own.
	byDigest := reg.host + "/test/app@" + md.String()
	got2, err := s.Pull(context.Background(), byDigest, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got2.ID != got.ID || !slices.Equal(got2.Layers, got.Layers) || got2.RepoDigest != got.RepoDigest {
		t.Errorf("by digest: %+v vs %+v", got2, got)
	}
	// A fresh store pulls by digest alone.
	s2 := newStore(t)
	if got3, err := s2.Pull(context.Background(), byDigest, PullOptions{}); err != nil || got3.ID != got.ID {
		t.Fatalf("fresh by digest: %+v %v", got3, err)
	}
	// Resolve answers from the store, never pulling.
	if r, err := s.Resolve(context.Background(), ref); err != nil || r.ID != got.ID {
		t.Errorf("Resolve: %+v %v", r, err)
	}
}

func TestPullIndex(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	native, foreign := randomImage(t, 1024, 2), randomImage(t, 1024, 1)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: native, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	ref := reg.pushIndex(t, "multi/app:latest", idx)
	s := newStore(t)
	got, err := s.Get(context.Background(), ref, PullAlways, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := digestOf(t, native.ConfigName).String(); got.ID != want {
		t.Errorf("picked %s, want the %s image %s", got.ID, runtime.GOARCH, want)
	}
	// The repo digest is the index's, as the kubelet shows for multi-platform images.
	if want := reg.host + "/multi/app@" + digestOf(t, idx.Digest).String(); got.RepoDigest != want {
		t.Errorf("RepoDigest %s, want %s", got.RepoDigest, want)
	}
	// The index digest finds the image locally too.
	n0 := reg.requests.Load()
	byIndex := reg.host + "/multi/app@" + digestOf(t, idx.Digest).String()
	if again, err := s.Get(context.Background(), byIndex, PullNever, PullOptions{}); err != nil || again.ID != got.ID || again.RepoDigest != got.RepoDigest {
		t.Fatalf("by index digest: %+v %v", again, err)
	}
	if reg.requests.Load() != n0 {
		t.Fatal("local lookup made requests")
	}
	// Warm Always: one request (HEAD of the tag); the index is read from the store.
	before := reg.requests.Load()
	if again, err := s.Get(context.Background(), ref, PullAlways, PullOptions{}); err != nil || again.ID != got.ID {
		t.Fatalf("warm: %+v %v", again, err)
	}
	if n := reg.requests.Load() - before; n != 1 {
		t.Errorf("warm Always pull made %d requests, want 1", n)
	}
}

func writeAuthFile(t *testing.T, host, user, pass string) string {
	p := filepath.Join(t.TempDir(), "auth.json")
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))},
	}})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPullAuth(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, &authn.Basic{Username: "alice", Password: "s3cret"})
	ref := reg.push(t, "private/app:v1", randomImage(t, 1024, 1))

	t.Setenv("REGISTRY_AUTH_FILE", writeAuthFile(t, reg.host, "alice", "wrong"))
	s := newStore(t)
	_, err := s.Pull(context.Background(), ref, PullOptions{})
	if err == nil || !strings.Contains(err.Error(), reg.host) || !strings.Contains(err.Error(), "unauthorized") || !strings.Contains(err.Error(), ref) {
		t.Fatalf("bad credentials: %v", err)
	}
	t.Log(err)
	storeEmpty(t, s)

	// Anonymous, likewise.
	t.Setenv("REGISTRY_AUTH_FILE", "")
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("anonymous: %v", err)
	}

	// Good credentials, keyed by registry/namespace as Podman allows; the same Store picks them up.
	t.Setenv("REGISTRY_AUTH_FILE", writeAuthFile(t, reg.host+"/private", "alice", "s3cret"))
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestPullMissing(t *testing.T) {
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	reg.push(t, "test/app:v1", randomImage(t, 256, 1))
	s := newStore(t)
	for _, ref := range []string{reg.host + "/test/app:nope", reg.host + "/no/such:v1", reg.host + "/test/app@sha256:" + hex64(7)} {
		_, err := s.Pull(context.Background(), ref, PullOptions{})
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), ref) || errors.Is(err, ErrInvalidReference) {
			t.Errorf("%s: %v", ref, err)
		}
	}
	storeEmpty(t, s)
	if _, err := s.Pull(context.Background(), "UPPER/case", PullOptions{}); !errors.Is(err, ErrInvalidReference) {
		t.Errorf("invalid: %v", err)
	}
	if _, err := s.Pull(context.Background(), "oci:/x", PullOptions{}); !errors.Is(err, ErrInvalidReference) {
		t.Errorf("local: %v", err)
	}
}

func isBlob(r *http.Request, d v1.Hash) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d.String())
}

// serveBlob fetches a blob from the real handler, for hooks that alter it.
func serveBlob(next http.Handler, r *http.Request) []byte {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec.Body.Bytes()
}

func TestPullCorruptBlob(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	img := randomImage(t, 64<<10, 3)
	ref := reg.push(t, "test/app:v1", img)
	ls, _ := img.Layers()
	bad := digestOf(t, ls[1].Digest)
	reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !isBlob(r, bad) {
			return false
		}
		b := serveBlob(next, r)
		b[len(b)/2] ^= 0xff
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
		return true
	})
	s := newStore(t)
	_, err := s.Pull(context.Background(), ref, PullOptions{})
	if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), bad.String()) || !strings.Contains(err.Error(), "does not match its digest") {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
	storeEmpty(t, s)
}

func TestPullInterrupted(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	img := randomImage(t, 1<<20, 3)
	ref := reg.push(t, "test/app:v1", img)
	ls, _ := img.Layers()
	cut := digestOf(t, ls[2].Digest)
	var once atomic.Bool
	reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !isBlob(r, cut) || once.Swap(true) {
			return false
		}
		b := serveBlob(next, r)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:len(b)/3])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drops the connection mid-body
	})
	s := newStore(t)
	_, err := s.Pull(context.Background(), ref, PullOptions{})
	if err == nil || !strings.Contains(err.Error(), cut.String()) {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
	storeEmpty(t, s)
	got, err := s.Pull(context.Background(), ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Layers) != 3 || len(layersEntries(t, s)) != 3 {
		t.Fatalf("%+v %v", got, layersEntries(t, s))
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp: %v", ents)
	}
}

// TestConcurrentPull: 8 pulls of one reference, through two Stores (as two processes), unpack
// each layer once; within one Store the work is shared.
func TestConcurrentPull(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	ref := reg.push(t, "test/app:v1", randomImage(t, 256<<10, 3))
	s1 := newStore(t)
	s2 := &Store{Root: s1.Root}
	before := unpacks.Load()
	var wg sync.WaitGroup
	results := make([]*Image, 8)
	errs := make([]error, 8)
	for i := range results {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() { results[i], errs[i] = s.Pull(context.Background(), ref, PullOptions{}) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if results[i].ID != results[0].ID || !slices.Equal(results[i].Layers, results[0].Layers) {
			t.Fatalf("results differ")
		}
	}
	if n := unpacks.Load() - before; n != 3 {
		t.Fatalf("%d unpacks, want 3", n)
	}
	// Manifest requests: at most 2 flights (one per Store) × (HEAD + GET).
	t.Logf("%d requests for 8 pulls", reg.requests.Load())
}

func TestGetPolicies(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, nil)
	img := randomImage(t, 1024, 2)
	ref := reg.push(t, "test/app:v1", img)
	s := newStore(t)
	ctx := context.Background()
	n0 := reg.requests.Load()
	if _, err := s.Get(ctx, ref, PullNever, PullOptions{}); !errors.Is(err, ErrNeverPull) || !strings.Contains(err.Error(), ref) {
		t.Fatalf("Never, missing: %v", err)
	}
	if d := reg.requests.Load() - n0; d != 0 {
		t.Fatalf("Never made %d requests", d)
	}
	first, err := s.Get(ctx, ref, PullIfNotPresent, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := reg.requests.Load()
	for _, p := range []PullPolicy{PullIfNotPresent, PullNever, ""} {
		if got, err := s.Get(ctx, ref, p, PullOptions{}); err != nil || got.ID != first.ID || got.RepoDigest != first.RepoDigest {
			t.Fatalf("%s: %+v %v", p, got, err)
		}
	}
	if d := reg.requests.Load() - n; d != 0 {
		t.Fatalf("IfNotPresent/Never of a present image made %d requests", d)
	}
	// Always asks the registry: one manifest request, nothing else, when unchanged.
	m := reg.manifests.Load()
	if _, err := s.Get(ctx, ref, PullAlways, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, dm := reg.requests.Load()-n, reg.manifests.Load()-m; d != 1 || dm != 1 {
		t.Fatalf("Always: %d requests, %d for manifests; want 1", d, dm)
	}
	// The tag moves: Always follows it, IfNotPresent keeps what is there.
	img2 := randomImage(t, 1024, 1)
	reg.push(t, "test/app:v1", img2)
	if got, _ := s.Get(ctx, ref, PullIfNotPresent, PullOptions{}); got.ID != first.ID {
		t.Errorf("IfNotPresent followed the moved tag")
	}
	if got, err := s.Get(ctx, ref, PullAlways, PullOptions{}); err != nil || got.ID != digestOf(t, img2.ConfigName).String() {
		t.Errorf("Always did not follow the moved tag: %+v %v", got, err)
	}
	// The first image is now untagged.
	sums, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var untagged int
	for _, r := range sums {
		if r.Repository == "<none>" {
			untagged++
		}
	}
	if untagged != 1 || len(sums) != 2 {
		t.Errorf("List: %+v", sums)
	}
	if _, err := s.Get(ctx, ref, "Sometimes", PullOptions{}); err == nil {
		t.Error("unknown policy accepted")
	}
}

// TestRealRegistry pulls from the CNCF distribution registry (Debian's docker-registry).
func TestRealRegistry(t *testing.T) {
	needRoot(t)
	bin := "/usr/bin/docker-registry"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("docker-registry is not installed (apt-get install docker-registry)")
	}
	hermeticAuth(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s/data
http:
  addr: %s
`, dir, addr)), 0o600)
	cmd := exec.Command(bin, "serve", cfg)
	// The registry reads REGISTRY_* variables as configuration (REGISTRY_AUTH_FILE would
	// configure a "file" auth backend).
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "REGISTRY_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry did not start: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	img := randomImage(t, 64<<10, 2)
	ref := addr + "/real/app:v1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	got, err := s.Get(context.Background(), ref, PullAlways, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != digestOf(t, img.ConfigName).String() || len(got.Layers) != 2 {
		t.Fatalf("%+v", got)
	}
	if _, err := s.Pull(context.Background(), addr+"/real/app:missing", PullOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing tag: %v", err)
	}
}

func benchImage(b *testing.B) (*testRegistry, string) {
	hermeticAuth(b)
	reg := newRegistry(b, nil)
	// 3 layers of random (incompressible) data, ~8 MB in all.
	return reg, reg.push(b, "bench/app:v1", randomImage(b, 8<<20/3, 3))
}

func BenchmarkPullCold(b *testing.B) {
	needRoot(b)
	_, ref := benchImage(b)
	root := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		s, err := Open(filepath.Join(root, fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPullWarm(b *testing.B) {
	needRoot(b)
	_, ref := benchImage(b)
	s := newStore(b)
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(context.Background(), ref, PullAlways, PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
