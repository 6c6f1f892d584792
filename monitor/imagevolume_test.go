package monitor

import (
	"testing"

	"github.com/minipod/minipod/api"
)

func TestWithDefaultTag(t *testing.T) {
	for in, want := range map[string]string{
		"tools":                           "tools:latest",
		"tools:1.0":                       "tools:1.0",
		"localhost:5000/tools":            "localhost:5000/tools:latest",
		"localhost:5000/tools:2":          "localhost:5000/tools:2",
		"tools@sha256:0123":               "tools@sha256:0123",
		"oci:/srv/layout":                 "oci:/srv/layout",
		"rootfs:/srv/root":                "rootfs:/srv/root",
		"docker.io/library/busybox:1.36":  "docker.io/library/busybox:1.36",
		"registry.example.com:443/a/b/c":  "registry.example.com:443/a/b/c:latest",
		"registry.example.com:443/a/b:v1": "registry.example.com:443/a/b:v1",
	} {
		if got := withDefaultTag(in); got != want {
			t.Errorf("withDefaultTag(%q) = %q, want %q", in, got, want)
		}
	}
}

// A container waits only for the image volumes it mounts, each once.
func TestMountedImageVolumes(t *testing.T) {
	m := &monitor{}
	m.pod.Spec.Volumes = []api.Volume{
		{Name: "a", Image: &api.ImageVolumeSource{Reference: "a"}},
		{Name: "e", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "b", Image: &api.ImageVolumeSource{Reference: "b"}},
		{Name: "unused", Image: &api.ImageVolumeSource{Reference: "u"}},
	}
	c := &api.Container{VolumeMounts: []api.VolumeMount{
		{Name: "b", MountPath: "/b"}, {Name: "e", MountPath: "/e"}, {Name: "a", MountPath: "/a"}, {Name: "b", MountPath: "/b2", SubPath: "x"},
	}}
	w := &worker{m: m, c: c}
	got := w.mountedImageVolumes()
	if len(got) != 2 || got[0].Name != "b" || got[1].Name != "a" {
		t.Errorf("mountedImageVolumes = %v, want b and a", got)
	}
	w.c = &api.Container{}
	if got := w.mountedImageVolumes(); len(got) != 0 {
		t.Errorf("no mounts: %v", got)
	}
}
