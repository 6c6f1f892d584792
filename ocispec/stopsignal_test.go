package ocispec

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

func TestContainerStopSignal(t *testing.T) {
	sig := func(s string) *api.Container {
		return &api.Container{Lifecycle: &api.Lifecycle{StopSignal: (*api.Signal)(&s)}}
	}
	tests := []struct {
		name  string
		c     *api.Container
		image string
		want  unix.Signal
	}{
		{"neither: SIGTERM", &api.Container{}, "", unix.SIGTERM},
		{"image only", &api.Container{}, "SIGQUIT", unix.SIGQUIT},
		{"lifecycle without stopSignal", &api.Container{Lifecycle: &api.Lifecycle{}}, "SIGINT", unix.SIGINT},
		{"container wins over image", sig("SIGUSR1"), "SIGQUIT", unix.SIGUSR1},
		{"alias CLD", sig("SIGCLD"), "", unix.SIGCHLD},
		{"alias IOT", sig("SIGIOT"), "", unix.SIGABRT},
		{"alias POLL", sig("SIGPOLL"), "", unix.SIGIO},
		{"RTMIN", sig("SIGRTMIN"), "", 34},
		{"RTMIN+15", sig("SIGRTMIN+15"), "", 49},
		{"RTMAX-14", sig("SIGRTMAX-14"), "", 50},
		{"RTMAX", sig("SIGRTMAX"), "", 64},
		{"STKFLT", sig("SIGSTKFLT"), "", unix.SIGSTKFLT},
		{"image RTMIN+1", &api.Container{}, "RTMIN+1", 35},
		{"image RTMIN+31 is out of range", &api.Container{}, "SIGRTMIN+31", unix.SIGTERM},
	}
	for _, tt := range tests {
		if got := ContainerStopSignal(tt.c, ImageConfig{StopSignal: tt.image}); got != tt.want {
			t.Errorf("%s: ContainerStopSignal = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Every signal the API server accepts for a linux pod means a signal here.
	for _, s := range api.StopSignalsLinux {
		if _, ok := parseSignal(string(s)); !ok {
			t.Errorf("parseSignal(%q) failed", s)
		}
	}
}
