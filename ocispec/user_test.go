package ocispec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
)

const passwd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1001:app user:/home/app:/bin/sh
`

const group = `root:x:0:
wheel:x:10:root
daemon:x:1:
appgrp:x:1001:
extra:x:2000:app,daemon
other:x:3000:daemon
app:x:4000:app
`

func i64(v int64) *int64 { return &v }

func TestUser(t *testing.T) {
	strict := api.SupplementalGroupsPolicyStrict
	merge := api.SupplementalGroupsPolicyMerge
	tests := []struct {
		name     string
		user     string // image USER
		pod      *api.PodSecurityContext
		ctr      *api.SecurityContext
		noFiles  bool // the image has no /etc/passwd and /etc/group
		uid, gid uint32
		groups   []uint32
		wantErr  string
	}{
		// The image's USER, resolved in its own files; the primary group is always among the
		// supplementary ones (containerd's ensureAdditionalGids).
		{name: "no USER: root with root's groups", uid: 0, gid: 0, groups: []uint32{0, 10}},
		{name: "no USER, no passwd file", noFiles: true, uid: 0, gid: 0, groups: []uint32{0}},
		{name: "name", user: "app", uid: 1000, gid: 1001, groups: []uint32{1001, 2000}},
		{name: "uid in passwd", user: "1000", uid: 1000, gid: 1001, groups: []uint32{1001, 2000}},
		{name: "uid not in passwd: gid 0", user: "4242", uid: 4242, gid: 0, groups: []uint32{0}},
		{name: "uid:gid keeps the image's group", user: "1000:3000", uid: 1000, gid: 3000, groups: []uint32{2000, 3000}},
		{name: "name:group", user: "app:other", uid: 1000, gid: 3000, groups: []uint32{2000, 3000}},
		{name: "numeric without files", user: "65534:65534", noFiles: true, uid: 65534, gid: 65534, groups: []uint32{65534}},
		{name: "a group named after the user is not a membership", user: "app", uid: 1000, gid: 1001, groups: []uint32{1001, 2000}},
		{name: "unknown name", user: "nobody", wantErr: `spec.containers[0]: user "nobody": no such user`},
		{name: "name without passwd file", user: "app", noFiles: true, wantErr: `user "app": the image has no /etc/passwd`},
		{name: "unknown group", user: "app:nogroup", wantErr: `user "app:nogroup": unable to find group nogroup`},
		{name: "too many colons", user: "a:b:c", wantErr: `invalid USER value a:b:c`},

		// runAsUser and runAsGroup override the image; the container's override the pod's.
		{name: "pod runAsUser over image USER", user: "app", pod: &api.PodSecurityContext{RunAsUser: i64(1)}, uid: 1, gid: 1, groups: []uint32{1, 2000, 3000}},
		{name: "runAsUser not in passwd", pod: &api.PodSecurityContext{RunAsUser: i64(1234)}, uid: 1234, gid: 0, groups: []uint32{0}},
		{name: "runAsUser drops the image's group", user: "1000:3000", pod: &api.PodSecurityContext{RunAsUser: i64(1000)}, uid: 1000, gid: 1001, groups: []uint32{1001, 2000}},
		{name: "runAsGroup with the image's user", user: "app:other", pod: &api.PodSecurityContext{RunAsGroup: i64(5000)}, uid: 1000, gid: 5000, groups: []uint32{2000, 5000}},
		{name: "runAsGroup with no USER: root", pod: &api.PodSecurityContext{RunAsGroup: i64(5000)}, uid: 0, gid: 5000, groups: []uint32{10, 5000}},
		{name: "container runAsUser wins", pod: &api.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000)},
			ctr: &api.SecurityContext{RunAsUser: i64(2000)}, uid: 2000, gid: 3000, groups: []uint32{3000}},
		{name: "container runAsGroup wins", pod: &api.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000)},
			ctr: &api.SecurityContext{RunAsGroup: i64(7)}, uid: 1000, gid: 7, groups: []uint32{7, 2000}},

		// fsGroup and supplementalGroups, merged with /etc/group unless Strict.
		{name: "docs security-context.yaml", pod: &api.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000), FSGroup: i64(2000), SupplementalGroups: []int64{4000}},
			noFiles: true, uid: 1000, gid: 3000, groups: []uint32{2000, 3000, 4000}},
		{name: "merge adds /etc/group memberships", pod: &api.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000), SupplementalGroups: []int64{4000}, SupplementalGroupsPolicy: &merge},
			uid: 1000, gid: 3000, groups: []uint32{2000, 3000, 4000}},
		{name: "strict ignores /etc/group", pod: &api.PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000), SupplementalGroups: []int64{4000}, SupplementalGroupsPolicy: &strict},
			uid: 1000, gid: 3000, groups: []uint32{3000, 4000}},
		{name: "duplicates merged", user: "app", pod: &api.PodSecurityContext{FSGroup: i64(2000), SupplementalGroups: []int64{1001, 2000}},
			uid: 1000, gid: 1001, groups: []uint32{1001, 2000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Input{Pod: &api.Pod{}, Container: &api.Container{Command: []string{"x"}, SecurityContext: tt.ctr},
				Field: "spec.containers[0]", Image: ImageConfig{User: tt.user}}
			in.Pod.Spec.SecurityContext = tt.pod
			if !tt.noFiles {
				in.Passwd, in.Group = []byte(passwd), []byte(group)
			}
			s, err := Generate(in)
			if tt.wantErr != "" {
				var ce *CreateError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ce) || ce.Reason != ReasonCreateContainerError {
					t.Fatalf("err = %#v, want a CreateContainerError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := s.Process.User
			if u.UID != tt.uid || u.GID != tt.gid || !slices.Equal(u.AdditionalGids, tt.groups) {
				t.Errorf("user = uid %d gid %d groups %v, want uid %d gid %d groups %v", u.UID, u.GID, u.AdditionalGids, tt.uid, tt.gid, tt.groups)
			}
		})
	}
}

func TestVerifyRunAsNonRoot(t *testing.T) {
	yes, no := true, false
	const ref = `(pod: "web_default(u1)", container: c)`
	tests := []struct {
		name      string
		pod       *api.PodSecurityContext
		ctr       *api.SecurityContext
		imageUser string
		want      string // "" allowed
	}{
		{name: "not asked", imageUser: ""},
		{name: "false", pod: &api.PodSecurityContext{RunAsNonRoot: &no}},
		{name: "image root", pod: &api.PodSecurityContext{RunAsNonRoot: &yes},
			want: "container has runAsNonRoot and image will run as root " + ref},
		{name: "image uid 0 with group", ctr: &api.SecurityContext{RunAsNonRoot: &yes}, imageUser: "0:1000",
			want: "container has runAsNonRoot and image will run as root " + ref},
		{name: "image uid", ctr: &api.SecurityContext{RunAsNonRoot: &yes}, imageUser: "1000:1000"},
		{name: "image name", pod: &api.PodSecurityContext{RunAsNonRoot: &yes}, imageUser: "nginx",
			want: "container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root " + ref},
		{name: "image uid out of range", pod: &api.PodSecurityContext{RunAsNonRoot: &yes}, imageUser: "4294967296",
			want: "container has runAsNonRoot and image has an invalid user id (4294967296). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive " + ref},
		{name: "runAsUser 0", pod: &api.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: i64(0)}, imageUser: "1000",
			want: "container's runAsUser breaks non-root policy " + ref},
		{name: "runAsUser non-root over image root", pod: &api.PodSecurityContext{RunAsNonRoot: &yes}, ctr: &api.SecurityContext{RunAsUser: i64(1000)}},
		{name: "runAsUser over image name", pod: &api.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: i64(5)}, imageUser: "nginx"},
		{name: "container false wins", pod: &api.PodSecurityContext{RunAsNonRoot: &yes}, ctr: &api.SecurityContext{RunAsNonRoot: &no}},
	}
	for _, tt := range tests {
		pod := &api.Pod{Metadata: api.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
		pod.Spec.SecurityContext = tt.pod
		err := VerifyRunAsNonRoot(pod, &api.Container{Name: "c", SecurityContext: tt.ctr}, tt.imageUser)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var ce *CreateError
		if !errors.As(err, &ce) || ce.Reason != ReasonCreateContainerConfigError || ce.Message != tt.want {
			t.Errorf("%s: err = %#v, want CreateContainerConfigError %q", tt.name, err, tt.want)
		}
	}
}
