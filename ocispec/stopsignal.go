package ocispec

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// The real-time signal range as moby/sys/signal numbers it for containerd (glibc reserves
// the kernel's first two real-time signals, so SIGRTMIN is 34).
const (
	sigRTMin = 34
	sigRTMax = 64
)

// ContainerStopSignal is the signal that asks the container to stop: its
// lifecycle.stopSignal, which the kubelet passes in the CRI config
// (getContainerConfigStopSignal, pkg/kubelet/kuberuntime/helpers.go) and containerd prefers
// to the image's STOPSIGNAL (CRI StopContainer), else the image's, else SIGTERM.
func ContainerStopSignal(c *api.Container, img ImageConfig) unix.Signal {
	if l := c.Lifecycle; l != nil && l.StopSignal != nil {
		if s, ok := parseSignal(string(*l.StopSignal)); ok {
			return s
		}
	}
	return StopSignal(img)
}

// parseSignal is moby/sys/signal's ParseSignal as containerd uses it: a name with or without
// SIG (any case, aliases CLD, IOT and POLL, RTMIN+n and RTMAX-n) or a number 1-64.
func parseSignal(raw string) (unix.Signal, bool) {
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(raw)), "SIG")
	if n, err := strconv.Atoi(name); err == nil {
		return unix.Signal(n), n > 0 && n <= sigRTMax
	}
	switch name {
	case "CLD":
		return unix.SIGCHLD, true
	case "IOT":
		return unix.SIGABRT, true
	case "POLL":
		return unix.SIGIO, true
	case "RTMIN":
		return sigRTMin, true
	case "RTMAX":
		return sigRTMax, true
	}
	if n, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 1 && i <= sigRTMax-sigRTMin-1 {
			return unix.Signal(sigRTMin + i), true
		}
		return 0, false
	}
	if n, ok := strings.CutPrefix(name, "RTMAX-"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 1 && i <= sigRTMax-sigRTMin-1 {
			return unix.Signal(sigRTMax - i), true
		}
		return 0, false
	}
	if s := unix.SignalNum("SIG" + name); s != 0 {
		return s, true
	}
	return 0, false
}
