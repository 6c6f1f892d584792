package ocispec

import (
	"slices"
	"testing"

	"github.com/minipod/minipod/api"
)

// mountPropagation and recursiveReadOnly as containerd's WithMounts writes them: the
// volume's propagation option, and the rootfs propagation that lets it work.
func TestMountPropagationAndRRO(t *testing.T) {
	tests := []struct {
		name     string
		vols     []Mount
		opts     [][]string // of each volume, in order
		rootfsPr string
	}{
		{name: "private", vols: []Mount{{Source: "/a", Destination: "/a"}},
			opts: [][]string{{"rbind", "rprivate"}}},
		{name: "host to container", vols: []Mount{{Source: "/a", Destination: "/a", Propagation: "rslave"}},
			opts: [][]string{{"rbind", "rslave"}}, rootfsPr: "rslave"},
		{name: "bidirectional wins", vols: []Mount{{Source: "/a", Destination: "/a", Propagation: "rshared"}, {Source: "/b", Destination: "/b", Propagation: "rslave"}},
			opts: [][]string{{"rbind", "rshared"}, {"rbind", "rslave"}}, rootfsPr: "rshared"},
		{name: "recursive read-only", vols: []Mount{{Source: "/a", Destination: "/a", ReadOnly: true, RecursiveReadOnly: true}, {Source: "/b", Destination: "/b", ReadOnly: true}},
			opts: [][]string{{"rbind", "rprivate", "rro"}, {"rbind", "rprivate", "ro"}}},
	}
	for _, tt := range tests {
		in := &Input{Pod: &api.Pod{}, Container: &api.Container{Name: "c", Command: []string{"true"}}, Field: "spec.containers[0]",
			Rootfs: "/r", Volumes: tt.vols}
		s, err := Generate(in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for i, v := range tt.vols {
			if got := mount(s, v.Destination).Options; !slices.Equal(got, tt.opts[i]) {
				t.Errorf("%s: %s options %q, want %q", tt.name, v.Destination, got, tt.opts[i])
			}
		}
		if s.Linux.RootfsPropagation != tt.rootfsPr {
			t.Errorf("%s: rootfsPropagation %q, want %q", tt.name, s.Linux.RootfsPropagation, tt.rootfsPr)
		}
	}
}
