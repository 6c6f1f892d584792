package ocispec

import (
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
`

func TestUser(t *testing.T) {
	tests := []struct {
		name          string
		user          string
		passwd, group string
		uid, gid      uint32
		groups        []uint32
		wantErr       string
	}{
		{name: "no USER: root with root's groups", passwd: passwd, group: group, uid: 0, gid: 0, groups: []uint32{10}},
		{name: "no USER, no passwd file", uid: 0, gid: 0},
		{name: "name", user: "app", passwd: passwd, group: group, uid: 1000, gid: 1001, groups: []uint32{2000}},
		{name: "uid in passwd", user: "1000", passwd: passwd, group: group, uid: 1000, gid: 1001, groups: []uint32{2000}},
		{name: "uid not in passwd: gid 0", user: "4242", passwd: passwd, group: group, uid: 4242, gid: 0},
		// With a group named, /etc/group adds nothing (runc and Docker do the same).
		{name: "uid:gid", user: "1000:3000", passwd: passwd, group: group, uid: 1000, gid: 3000},
		{name: "name:group", user: "app:other", passwd: passwd, group: group, uid: 1000, gid: 3000},
		{name: "numeric without files", user: "65534:65534", uid: 65534, gid: 65534},
		{name: "unknown name", user: "nobody", passwd: passwd, group: group, wantErr: `spec.containers[0]: image user "nobody"`},
		{name: "name without passwd file", user: "app", wantErr: `image user "app"`},
		{name: "unknown group", user: "app:nogroup", passwd: passwd, group: group, wantErr: `image user "app:nogroup"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Input{Pod: &api.Pod{}, Container: &api.Container{Command: []string{"x"}}, Field: "spec.containers[0]", Image: ImageConfig{User: tt.user}}
			if tt.passwd != "" {
				in.Passwd = []byte(tt.passwd)
			}
			if tt.group != "" {
				in.Group = []byte(tt.group)
			}
			s, err := Generate(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
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
