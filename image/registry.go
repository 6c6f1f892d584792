package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sys/unix"
)

// parallelDownloads is how many layers a pull fetches at once (Docker's and containerd's 3).
const parallelDownloads = 3

// registryState is a Store's in-process registry state.
type registryState struct {
	mu      sync.Mutex
	pullers map[string]*remote.Puller // by registry and credentials: reuses tokens and connections
	flights map[string]*flight        // pulls in progress, by normalized reference
}

// flight is one pull shared by every caller asking for the same reference meanwhile. It runs
// on its own context, cancelled only when every caller has given up.
type flight struct {
	done    chan struct{}
	img     *Image
	err     error
	waiters int
	cancel  context.CancelFunc
}

// share runs fn once for concurrent callers with the same key.
func (r *registryState) share(ctx context.Context, key string, fn func(context.Context) (*Image, error)) (*Image, error) {
	r.mu.Lock()
	if r.flights == nil {
		r.flights = map[string]*flight{}
	}
	f := r.flights[key]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		r.flights[key] = f
		go func() {
			f.img, f.err = fn(fctx)
			cancel()
			r.mu.Lock()
			delete(r.flights, key)
			r.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	r.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return nil, f.err
		}
		img := *f.img
		img.Layers = slices.Clone(f.img.Layers)
		return &img, nil
	case <-ctx.Done():
		r.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
		}
		r.mu.Unlock()
		return nil, ctx.Err()
	}
}

// parseRegistryRef normalizes a registry reference the Docker way (docker.io, library/,
// :latest) and marks it insecure if its registry is listed in s.Insecure.
func (s *Store) parseRegistryRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, kindError(ErrInvalidReference, "%v", err)
	}
	if s.isInsecure(r.Context().RegistryStr()) {
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return nil, kindError(ErrInvalidReference, "%v", err)
		}
	}
	if d, ok := r.(name.Digest); ok {
		if h, err := v1.NewHash(d.DigestStr()); err != nil || h.Algorithm != "sha256" {
			return nil, kindError(ErrInvalidReference, "digest %q: only sha256 digests are supported", d.DigestStr())
		}
	}
	return r, nil
}

func (s *Store) isInsecure(host string) bool {
	for _, h := range s.Insecure {
		if h == host || host == name.DefaultRegistry && h == "docker.io" {
			return true
		}
	}
	return false
}

// plainHTTPGuard refuses plain HTTP except to loopback and the Store's insecure registries: ggcr
// itself also falls back to HTTP for RFC 1918 addresses, which a network attacker could exploit.
type plainHTTPGuard struct {
	inner    http.RoundTripper
	insecure func(string) bool
}

func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		host := req.URL.Host
		h := req.URL.Hostname()
		ip := net.ParseIP(h)
		if h != "localhost" && (ip == nil || !ip.IsLoopback()) && !g.insecure(host) && !g.insecure(h) {
			return nil, fmt.Errorf("refusing plain HTTP to %s: only localhost, 127.0.0.1 and registries configured as insecure are reached without TLS", host)
		}
	}
	return g.inner.RoundTrip(req)
}

// keychain: Podman's $REGISTRY_AUTH_FILE first (Podman gives it precedence), then Docker's
// config (~/.docker/config.json, $DOCKER_CONFIG) and the other places ggcr knows.
var keychain = authn.NewMultiKeychain(authFileKeychain{}, authn.DefaultKeychain)

// authFileKeychain reads $REGISTRY_AUTH_FILE (containers-auth.json(5), Docker's format). ggcr's
// default keychain consults it only when there is no Docker config at all.
type authFileKeychain struct{}

func (authFileKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	path := os.Getenv("REGISTRY_AUTH_FILE")
	if path == "" {
		return authn.Anonymous, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return authn.Anonymous, nil
	}
	if err != nil {
		return nil, fmt.Errorf("REGISTRY_AUTH_FILE: %w", err)
	}
	var f struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("REGISTRY_AUTH_FILE %s: %w", path, err)
	}
	auths := map[string]authn.AuthConfig{}
	for k, v := range f.Auths {
		k = strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
		k = strings.TrimSuffix(strings.TrimSuffix(k, "/v1/"), "/")
		if k == "index.docker.io" || k == "registry-1.docker.io" {
			k = "docker.io"
		}
		auths[k] = v
	}
	// The most specific key wins: registry/namespace/repo, then its parents, then registry.
	reg := target.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	key := reg
	if rest, ok := strings.CutPrefix(target.String(), target.RegistryStr()+"/"); ok {
		key = reg + "/" + rest
	}
	for {
		if a, ok := auths[key]; ok {
			if a.Auth != "" && a.Username == "" {
				dec, err := base64.StdEncoding.DecodeString(a.Auth)
				if err != nil {
					return nil, fmt.Errorf("REGISTRY_AUTH_FILE %s: %s: bad auth field: %w", path, key, err)
				}
				a.Username, a.Password, _ = strings.Cut(string(dec), ":")
				a.Auth = ""
			}
			return authn.FromConfig(a), nil
		}
		i := strings.LastIndexByte(key, '/')
		if i < 0 {
			return authn.Anonymous, nil
		}
		key = key[:i]
	}
}

// puller returns a Puller for the registry of repo with the credentials in force now. Pullers
// are kept, so a warm pull reuses the connection and token (one manifest request); keying by
// credentials means a `docker login` after a failure takes effect on the next attempt.
func (s *Store) puller(repo name.Repository, auth authn.Authenticator) (*remote.Puller, error) {
	if auth == nil {
		var err error
		if auth, err = keychain.Resolve(repo); err != nil {
			return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
		}
	}
	cfg, err := auth.Authorization()
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	cb, _ := json.Marshal(cfg)
	key := repo.RegistryStr() + "\x00" + string(cb)
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	if p := s.reg.pullers[key]; p != nil {
		return p, nil
	}
	base := remote.DefaultTransport.(*http.Transport).Clone()
	p, err := remote.NewPuller(
		remote.WithAuth(auth),
		remote.WithTransport(&plainHTTPGuard{inner: base, insecure: s.isInsecure}),
		remote.WithUserAgent("minipod"),
	)
	if err != nil {
		return nil, err
	}
	if s.reg.pullers == nil {
		s.reg.pullers = map[string]*remote.Puller{}
	}
	s.reg.pullers[key] = p
	return p, nil
}

// registryErr classifies an error from the registry: a missing manifest or blob is ErrNotFound,
// a refused login says "unauthorized" and names the registry.
func registryErr(repo name.Repository, what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusNotFound:
			return kindError(ErrNotFound, "registry %s: %s not found: %v", reg, what, err)
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return fmt.Errorf("registry %s: unauthorized (check the credentials in $REGISTRY_AUTH_FILE or ~/.docker/config.json): %w", reg, err)
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return kindError(ErrNotFound, "registry %s: %s not found: %v", reg, what, err)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("registry %s: unauthorized (check the credentials in $REGISTRY_AUTH_FILE or ~/.docker/config.json): %w", reg, err)
			}
		}
	}
	if strings.Contains(err.Error(), "does not match requested digest") {
		return kindError(ErrInvalidImage, "registry %s: %s: %v", reg, what, err)
	}
	return fmt.Errorf("registry %s: %s: %w", reg, what, err)
}

// registryFetcher serves a pull's blobs: manifests and configs from memory or the store when
// they are there, layers from files staged by stageLayers, the rest from the registry.
// Everything is verified by pull.go whatever its source.
type registryFetcher struct {
	s        *Store
	p        *remote.Puller
	repo     name.Repository
	progress func(Progress)

	mu     sync.Mutex
	mem    map[v1.Hash][]byte // manifests, indexes and configs fetched by this pull
	staged map[v1.Hash]string // verified layer blobs in tmp/
}

func (f *registryFetcher) remember(h v1.Hash, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mem == nil {
		f.mem = map[v1.Hash][]byte{}
	}
	f.mem[h] = b
}

func (f *registryFetcher) open(ctx context.Context, desc v1.Descriptor) (io.ReadCloser, error) {
	f.mu.Lock()
	b, inMem := f.mem[desc.Digest]
	staged, isStaged := f.staged[desc.Digest]
	f.mu.Unlock()
	switch {
	case inMem:
		return io.NopCloser(bytes.NewReader(b)), nil
	case isStaged:
		return os.Open(staged)
	}
	what := "blob " + desc.Digest.String()
	if !isLayer(desc.MediaType) {
		// Manifests and configs the store kept from an earlier pull.
		if fh, err := os.Open(filepath.Join(f.s.Root, "blobs", "sha256", desc.Digest.Hex)); err == nil {
			return fh, nil
		}
	}
	if isManifest(desc.MediaType) || isIndex(desc.MediaType) {
		d, err := f.p.Get(ctx, f.repo.Digest(desc.Digest.String()))
		if err != nil {
			return nil, registryErr(f.repo, "manifest "+desc.Digest.String(), err)
		}
		f.remember(desc.Digest, d.Manifest)
		return io.NopCloser(bytes.NewReader(d.Manifest)), nil
	}
	l, err := f.p.Layer(ctx, f.repo.Digest(desc.Digest.String()))
	if err != nil {
		return nil, registryErr(f.repo, what, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, registryErr(f.repo, what, err)
	}
	return &ggcrBlob{rc: rc, repo: f.repo, what: what}, nil
}

// ggcrBlob adapts a blob stream from ggcr. ggcr checks the digest too and fails the final read
// with its own error; that read is turned into EOF so pull.go's verifier, which hashed the same
// bytes, reports the mismatch as ErrInvalidImage. Network errors keep their cause.
type ggcrBlob struct {
	rc   io.ReadCloser
	repo name.Repository
	what string
}

func (g *ggcrBlob) Read(p []byte) (int, error) {
	n, err := g.rc.Read(p)
	if err != nil && err != io.EOF {
		if strings.HasPrefix(err.Error(), "error verifying") {
			return n, io.EOF
		}
		return n, registryErr(g.repo, g.what, err)
	}
	return n, err
}

func (g *ggcrBlob) Close() error { return g.rc.Close() }

func (f *registryFetcher) layerDone(desc v1.Descriptor) {
	f.progress(Progress{Layer: shortDigest(desc.Digest), Total: desc.Size, Complete: desc.Size, Done: true})
}

func shortDigest(h v1.Hash) string {
	return h.Algorithm + ":" + h.Hex[:min(12, len(h.Hex))]
}

// serialProgress makes a Progress callback safe to call from the parallel downloads.
func serialProgress(fn func(Progress)) func(Progress) {
	if fn == nil {
		return func(Progress) {}
	}
	var mu sync.Mutex
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		fn(p)
	}
}

// pullRemote is Pull's work, shared by concurrent callers of the same reference.
func (s *Store) pullRemote(ctx context.Context, r name.Reference, progress func(Progress), auth authn.Authenticator) (*Image, error) {
	key := canonical(r)
	if err := s.mkdirs(); err != nil {
		return nil, err
	}
	p, err := s.puller(r.Context(), auth)
	if err != nil {
		return nil, err
	}
	progress(Progress{Message: "resolving " + key})
	rf := &registryFetcher{s: s, p: p, repo: r.Context(), progress: progress}
	top, err := s.resolveTop(ctx, rf, r)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockMode(ctx, gcLock, unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	mdesc, err := selectPlatform(ctx, rf, top)
	if err != nil {
		return nil, err
	}
	img, ok := s.readRecord(mdesc.Digest)
	if ok {
		progress(Progress{Message: "image is up to date"})
	} else {
		cleanup, err := s.stageLayers(ctx, rf, mdesc)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			return nil, err
		}
		if img, err = s.pullLocked(ctx, mdesc, rf); err != nil {
			return nil, err
		}
	}
	// Keep the indexes walked, so a later Always pull of a multi-platform tag reads them locally.
	rf.mu.Lock()
	for h, b := range rf.mem {
		if isIndexJSON(b) {
			if err := s.writeFile(filepath.Join("blobs", "sha256", h.Hex), b, false); err != nil {
				rf.mu.Unlock()
				return nil, err
			}
		}
	}
	rf.mu.Unlock()
	e := nameEntry{Manifest: mdesc.Digest.String(), Digest: top.Digest.String()}
	if idx, err := s.readIndex(); err == nil && idx.Names[key] == e {
		return s.named(img, key, e), nil // unchanged: spare the warm path a locked, fsynced rewrite
	}
	if err := s.updateIndex(ctx, func(idx *nameIndex) error {
		idx.Names[key] = e
		return nil
	}); err != nil {
		return nil, err
	}
	return s.named(img, key, e), nil
}

func isIndexJSON(b []byte) bool {
	var m struct {
		MediaType string            `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	return json.Unmarshal(b, &m) == nil && m.Manifests != nil
}

// resolveTop asks the registry what r names: one HEAD request. Registries that answer HEAD
// poorly get a GET, whose manifest is then kept.
func (s *Store) resolveTop(ctx context.Context, rf *registryFetcher, r name.Reference) (v1.Descriptor, error) {
	d, err := rf.p.Head(ctx, r)
	if err == nil && d.Size > 0 && d.Digest.Algorithm == "sha256" && (isManifest(d.MediaType) || isIndex(d.MediaType)) {
		if dg, ok := r.(name.Digest); ok && d.Digest.String() != dg.DigestStr() {
			return v1.Descriptor{}, kindError(ErrInvalidImage, "registry answered digest %s for %s", d.Digest, canonical(r))
		}
		return *d, nil
	}
	if ctx.Err() != nil {
		return v1.Descriptor{}, ctx.Err()
	}
	g, err := rf.p.Get(ctx, r)
	if err != nil {
		return v1.Descriptor{}, registryErr(r.Context(), "manifest "+canonical(r), err)
	}
	if g.Digest.Algorithm != "sha256" {
		return v1.Descriptor{}, kindError(ErrInvalidImage, "manifest digest %s: only sha256 is supported", g.Digest)
	}
	rf.remember(g.Digest, g.Manifest)
	return g.Descriptor, nil
}

// stageLayers downloads the layers the store lacks into tmp/, verified, before any is unpacked:
// a corrupt or interrupted download then leaves no layer behind, and the downloads overlap.
// The returned cleanup removes the staging directory.
func (s *Store) stageLayers(ctx context.Context, rf *registryFetcher, mdesc v1.Descriptor) (func(), error) {
	raw, err := readBlob(ctx, rf, mdesc, maxJSONBlob)
	if err != nil {
		return nil, err
	}
	rf.remember(mdesc.Digest, raw)
	var m v1.Manifest
	if json.Unmarshal(raw, &m) != nil || m.Config.Digest.Algorithm != "sha256" {
		return nil, nil // pullLocked reports what is wrong
	}
	rawCfg, err := readBlob(ctx, rf, m.Config, maxJSONBlob)
	if err != nil {
		return nil, err
	}
	rf.remember(m.Config.Digest, rawCfg)
	var cf v1.ConfigFile
	if json.Unmarshal(rawCfg, &cf) != nil || len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, nil
	}
	var todo []v1.Descriptor
	for i, l := range m.Layers {
		d := cf.RootFS.DiffIDs[i]
		if d.Algorithm != "sha256" || l.Digest.Algorithm != "sha256" || !isLayer(l.MediaType) {
			return nil, nil
		}
		if _, err := os.Stat(filepath.Join(s.layerDir(d.Hex), "rootfs")); err == nil {
			rf.progress(Progress{Layer: shortDigest(l.Digest), Total: l.Size, Complete: l.Size, Done: true, Message: "exists"})
			continue
		}
		if !slices.ContainsFunc(todo, func(t v1.Descriptor) bool { return t.Digest == l.Digest }) {
			todo = append(todo, l)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	dir, unlockDir, err := s.stagingDir()
	if err != nil {
		return nil, err
	}
	cleanup := func() {
		os.RemoveAll(dir)
		unlockDir()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, parallelDownloads)
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, l := range todo {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			p := filepath.Join(dir, l.Digest.Hex)
			if errs[i] = download(ctx, rf, l, p); errs[i] != nil {
				cancel()
				return
			}
			rf.mu.Lock()
			if rf.staged == nil {
				rf.staged = map[v1.Hash]string{}
			}
			rf.staged[l.Digest] = p
			rf.mu.Unlock()
		})
	}
	wg.Wait()
	// The first real failure, not the cancellations it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return cleanup, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return cleanup, err
		}
	}
	return cleanup, nil
}

// download writes one verified blob to path, reporting progress at most every 100 ms.
func download(ctx context.Context, rf *registryFetcher, desc v1.Descriptor, path string) error {
	short := shortDigest(desc.Digest)
	rf.progress(Progress{Layer: short, Total: desc.Size, Message: "downloading"})
	rc, err := rf.open(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	vr := newVerifier(rc, desc)
	buf := make([]byte, 256<<10)
	var n int64
	last := time.Now()
	for {
		m, rerr := vr.Read(buf)
		if m > 0 {
			if _, err := out.Write(buf[:m]); err != nil {
				return err
			}
			n += int64(m)
			if now := time.Now(); now.Sub(last) >= 100*time.Millisecond {
				last = now
				rf.progress(Progress{Layer: short, Total: desc.Size, Complete: n, Message: "downloading"})
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if !vr.verified {
		return kindError(ErrInvalidImage, "blob %s: not verified", desc.Digest)
	}
	rf.progress(Progress{Layer: short, Total: desc.Size, Complete: n, Message: "verified"})
	return nil
}

// stagingDir makes tmp/pull-*, flocked for as long as the pull runs so that cleanStaging (in
// Prune and every pull) removes only directories whose pull died.
func (s *Store) stagingDir() (string, func(), error) {
	base := filepath.Join(s.Root, "tmp")
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", nil, err
	}
	s.cleanStaging()
	dir, err := os.MkdirTemp(base, "pull-")
	if err != nil {
		return "", nil, err
	}
	lf, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		if lf != nil {
			lf.Close()
		}
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { lf.Close() }, nil
}

// cleanStaging removes staging directories left by pulls that died. A directory without its
// lock file yet is a pull starting now unless it is old.
func (s *Store) cleanStaging() (freed int64) {
	ents, _ := os.ReadDir(filepath.Join(s.Root, "tmp"))
	for _, e := range ents {
		dir := filepath.Join(s.Root, "tmp", e.Name())
		lf, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR, 0)
		if err != nil {
			if fi, serr := os.Stat(dir); serr == nil && time.Since(fi.ModTime()) > time.Hour {
				freed += treeSize(dir)
				os.RemoveAll(dir)
			}
			continue
		}
		// The age check covers a pull between creating its lock file and locking it.
		fi, serr := os.Stat(dir)
		if serr == nil && time.Since(fi.ModTime()) > time.Minute && unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			freed += treeSize(dir)
			os.RemoveAll(dir)
		}
		lf.Close()
	}
	return freed
}
