package image

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

func TestKeyringLookup(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	k := &Keyring{}
	if err := k.AddDockerConfigJSON([]byte(fmt.Sprintf(`{"auths": {
		"https://index.docker.io/v1/": {"auth": %q},
		"quay.io": {"username": "q", "password": "host"},
		"quay.io/coreos": {"username": "q", "password": "path"},
		"*.example.com": {"auth": %q},
		"127.0.0.1:5000": {"username": "local", "password": "p", "auth": %q},
		"http://reg.io/v2/": {"username": "r", "password": "v2"}}}`,
		b64("hub:pw"), strings.TrimRight(b64("glob:pw"), "="), b64("fromauth:x:y")))); err != nil {
		t.Fatal(err)
	}
	if err := k.AddDockercfg([]byte(`{"quay.io": {"username": "q", "password": "legacy"}}`)); err != nil {
		t.Fatal(err)
	}
	show := func(cs []authn.AuthConfig) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Username+":"+c.Password)
		}
		return strings.Join(s, " ")
	}
	for repo, want := range map[string]string{
		"docker.io/library/busybox": "hub:pw",
		"docker.io/me/app":          "hub:pw",
		"quay.io/coreos/etcd":       "q:path q:host q:legacy", // most specific first
		"quay.io/other/x":           "q:host q:legacy",
		"a.example.com/x":           "glob:pw",
		"a.b.example.com/x":         "",             // a glob matches one host part
		"127.0.0.1:5000/demo/app":   "fromauth:x:y", // auth wins over username and password
		"127.0.0.1:5001/demo/app":   "",             // ports must match
		"reg.io/x":                  "r:v2",         // /v2/ is the host
		"localhost/x":               "",
	} {
		if got := show(k.Lookup(repo)); got != want {
			t.Errorf("%s: %q, want %q", repo, got, want)
		}
	}
	if (&Keyring{}).AddDockerConfigJSON([]byte(`{"auths": {"x": {"auth": "bm9jb2xvbg=="}}}`)) == nil {
		t.Error("an auth without a colon was accepted")
	}
	if (&Keyring{}).AddDockerConfigJSON([]byte(`not json`)) == nil {
		t.Error("not JSON was accepted")
	}
	var nilKeyring *Keyring
	if !nilKeyring.Empty() || nilKeyring.Lookup("x") != nil {
		t.Error("nil keyring")
	}
}

// The pod's credentials are tried in turn; the host's when none matches.
func TestPullWithKeyring(t *testing.T) {
	needRoot(t)
	hermeticAuth(t)
	reg := newRegistry(t, &authn.Basic{Username: "alice", Password: "s3cret"})
	ref := reg.push(t, "private/app:v1", randomImage(t, 1024, 1))
	keyring := func(cfg string) *Keyring {
		k := &Keyring{}
		if err := k.AddDockerConfigJSON([]byte(cfg)); err != nil {
			t.Fatal(err)
		}
		return k
	}
	s := newStore(t)
	wrong := keyring(fmt.Sprintf(`{"auths": {%q: {"username": "alice", "password": "nope"}}}`, reg.host))
	if _, err := s.Pull(context.Background(), ref, PullOptions{Keyring: wrong}); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("wrong credentials: %v", err)
	}
	other := keyring(`{"auths": {"elsewhere.example.com": {"username": "alice", "password": "s3cret"}}}`)
	if _, err := s.Pull(context.Background(), ref, PullOptions{Keyring: other}); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("credentials of another registry: %v", err)
	}
	// The more specific key is tried first, and fails.
	both := keyring(fmt.Sprintf(`{"auths": {%q: {"username": "alice", "password": "nope"}, %q: {"username": "alice", "password": "s3cret"}}}`,
		reg.host+"/private", reg.host))
	if _, err := s.Pull(context.Background(), ref, PullOptions{Keyring: both}); err != nil {
		t.Fatalf("second credential: %v", err)
	}
}
