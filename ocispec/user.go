package ocispec

import (
	"bytes"
	"fmt"
	"io"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// withUser sets the user the process runs as: the image's USER ("name", "uid", "name:group",
// "uid:gid", ...) resolved against the image's own /etc/passwd and /etc/group, else root, the
// way runc resolves a user: a numeric uid need not exist in /etc/passwd (its gid is then 0),
// a name must; supplementary groups are the groups of /etc/group that list the user, unless
// USER names a group too.
func withUser(s *specs.Spec, in *Input) error {
	spec := in.Image.User
	if spec == "" {
		spec = "0"
	}
	u, err := user.GetExecUser(spec, &user.ExecUser{}, reader(in.Passwd), reader(in.Group))
	if err != nil {
		return fmt.Errorf("%s: image user %q: %w", in.Field, in.Image.User, err)
	}
	s.Process.User = specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid)}
	for _, g := range u.Sgids {
		if g != u.Gid {
			s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, uint32(g))
		}
	}
	return nil
}

// reader returns nil for an absent file, as GetExecUser expects.
func reader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}
