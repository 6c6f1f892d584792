package image

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

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
		auths = append(auths, authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password}))
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
