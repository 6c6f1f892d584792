package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Keyring holds the credentials of a pod's image pull secrets, looked up by image as the
// kubelet's credentialprovider.BasicDockerKeyring does: keys are registry hosts with an
// optional path ("registry.example.com/team"), a scheme and a /v1/ or /v2/ suffix ignored,
// globs allowed in host names (*.example.com), ports matched exactly; every key matching an
// image applies, the most specific first; Docker Hub's key (index.docker.io) serves images of
// the default registry.
type Keyring struct {
	index []string // keys, most specific first
	creds map[string][]authn.AuthConfig
}

// DockerConfigEntry is one registry of a .dockercfg or .dockerconfigjson: a user and password,
// or an auth of base64(user:password), which wins.
type dockerConfigEntry struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// AddDockerConfigJSON adds the registries of a .dockerconfigjson ({"auths": {...}}).
func (k *Keyring) AddDockerConfigJSON(b []byte) error {
	var cfg struct {
		Auths map[string]dockerConfigEntry `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	return k.add(cfg.Auths)
}

// AddDockercfg adds the registries of a legacy .dockercfg (the registries at the top level).
func (k *Keyring) AddDockercfg(b []byte) error {
	var cfg map[string]dockerConfigEntry
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	return k.add(cfg)
}

// Empty reports whether the keyring holds no credentials.
func (k *Keyring) Empty() bool { return k == nil || len(k.index) == 0 }

func (k *Keyring) add(cfg map[string]dockerConfigEntry) error {
	if k.creds == nil {
		k.creds = map[string][]authn.AuthConfig{}
	}
	for _, loc := range slices.Sorted(maps.Keys(cfg)) {
		e := cfg[loc]
		user, pass := e.Username, e.Password
		if e.Auth != "" {
			var err error
			if user, pass, err = decodeAuth(e.Auth); err != nil {
				return err
			}
		}
		value := loc
		if !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
			value = "https://" + value
		}
		u, err := url.Parse(value)
		if err != nil {
			continue // the kubelet logs and ignores such an entry
		}
		path := u.Path
		if strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/v1/") {
			path = path[3:]
		}
		key := u.Host
		if path != "" && path != "/" {
			key = u.Host + path
		}
		if _, ok := k.creds[key]; !ok {
			k.index = append(k.index, key)
		}
		k.creds[key] = append(k.creds[key], authn.AuthConfig{Username: user, Password: pass})
	}
	// Reverse order, so that a longer path is matched first (quay.io/coreos before quay.io).
	slices.Sort(k.index)
	slices.Reverse(k.index)
	return nil
}

// decodeAuth is decodeDockerConfigFieldAuth: base64(user:password), padded or not.
func decodeAuth(field string) (string, string, error) {
	enc := base64.RawStdEncoding
	if strings.HasSuffix(strings.TrimSpace(field), "=") {
		enc = base64.StdEncoding
	}
	b, err := enc.DecodeString(field)
	if err != nil {
		return "", "", err
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", fmt.Errorf("unable to parse auth field, must be formatted as base64(username:password)")
	}
	return user, pass, nil
}

// Lookup returns the credentials for an image repository (registry/path, without tag or
// digest, Docker Hub's as docker.io/...), the most specific first.
func (k *Keyring) Lookup(repo string) []authn.AuthConfig {
	if k == nil {
		return nil
	}
	var out []authn.AuthConfig
	for _, key := range k.index {
		if urlsMatch(key, repo) {
			out = append(out, k.creds[key]...)
		}
	}
	if len(out) == 0 && isDefaultRegistryMatch(repo) {
		out = k.creds["index.docker.io"]
	}
	return out
}

// isDefaultRegistryMatch: whether an image is pulled from Docker Hub by its name.
func isDefaultRegistryMatch(image string) bool {
	first, _, found := strings.Cut(image, "/")
	if first == "" {
		return false
	}
	if !found || first == "docker.io" || first == "index.docker.io" {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost"
}

// urlsMatch is URLsMatchStr: host parts matched by glob one for one, the same port, the
// key's path a prefix of the image's.
func urlsMatch(glob, target string) bool {
	g, err1 := url.Parse("https://" + glob)
	t, err2 := url.Parse("https://" + target)
	if err1 != nil || err2 != nil {
		return false
	}
	gParts, gPort := splitURL(g)
	tParts, tPort := splitURL(t)
	if gPort != tPort || len(gParts) != len(tParts) || !strings.HasPrefix(t.Path, g.Path) {
		return false
	}
	for i := range gParts {
		if ok, err := filepath.Match(gParts[i], tParts[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitURL(u *url.URL) ([]string, string) {
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	return strings.Split(host, "."), port
}

// pullWithKeyring pulls with the pod's credentials as the kubelet's PullImage does with its
// keyring (the pod's pull secrets, then the node's): each credential matching the image is
// tried in turn, the first pull that works wins, and if every one fails the errors are
// reported together. Here the node's credentials are the host's docker and Podman auth
// files; with none of either matching, the image is pulled anonymously.
func (s *Store) pullWithKeyring(ctx context.Context, r name.Reference, progress func(Progress), kr *Keyring) (*Image, error) {
	repo := r.Context()
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	var auths []authn.Authenticator
	for _, c := range kr.Lookup(reg + "/" + repo.RepositoryStr()) {
		auths = append(auths, authn.FromConfig(c))
	}
	if len(auths) == 0 {
		return s.pullRemote(ctx, r, progress, nil)
	}
	if node, err := keychain.Resolve(repo); err == nil && node != authn.Anonymous {
		auths = append(auths, node)
	}
	var errs []error
	var msgs []string
	for _, a := range auths {
		img, err := s.pullRemote(ctx, r, progress, a)
		if err == nil {
			return img, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if !slices.Contains(msgs, err.Error()) {
			errs, msgs = append(errs, err), append(msgs, err.Error())
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	// utilerrors.NewAggregate's form.
	return nil, fmt.Errorf("[%s]", strings.Join(msgs, ", "))
}
