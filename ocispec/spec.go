// Package ocispec generates the OCI runtime spec of one container of a pod: from the pod, the
// container, its image's config and the sandbox's paths to a *specs.Spec. It is pure: every
// input is passed in (the image's /etc/passwd and /etc/group too), nothing is read or written,
// so every rule is table-tested without root.
//
// Generation applies small options to a base spec, one file per concern: process.go (command,
// args, env, working directory merged with the image config), user.go, mounts.go,
// namespaces.go, security.go, seccomp.go, resources.go (cgroup values and OOM score). A Kubernetes field becomes one option, or one
// case in one, and one table test.
package ocispec

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minipod/minipod/api"
)

// ImageConfig is the part of an image config that decides how a container's process runs.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string
}

// Sandbox is what a container joins and shares with the rest of its pod.
type Sandbox struct {
	Hostname string
	// Pinned namespaces the container joins.
	NetNS, IPCNS, UTSNS string
	// PIDNS is the pod's shared PID namespace (shareProcessNamespace), empty for a PID
	// namespace of the container's own.
	PIDNS string
	// Shm is the pod's /dev/shm (a tmpfs owned by the pod), so that the containers sharing
	// the IPC namespace also share POSIX shared memory; empty for a private one.
	Shm string
	// The pod's generated /etc files, bind-mounted into every container.
	EtcHosts, EtcHostname, EtcResolvConf string
}

// Mount is a bind mount from the host into the container.
type Mount struct {
	Source      string
	Destination string
	ReadOnly    bool
	// Options are more mount options, e.g. an image volume's nosuid, nodev and noexec.
	Options []string
}

// Input is everything a container's spec depends on, resolved by the caller.
type Input struct {
	Pod       *api.Pod
	Container *api.Container
	// Field is the container's path in the pod, e.g. "spec.initContainers[0]", for errors.
	Field string
	Image ImageConfig
	// Passwd and Group are the contents of the image's /etc/passwd and /etc/group (nil when
	// the image has none), to resolve the user and its groups as the runtime would.
	Passwd, Group []byte
	Rootfs        string // the container's root filesystem, mounted
	Cgroup        string // the container's cgroup, relative to the cgroup root(s)
	Sandbox       Sandbox
	// Volumes are the container's volumeMounts resolved to host paths, in order.
	Volumes []Mount
	// TerminationLog is the host file bound at the container's terminationMessagePath;
	// empty for none.
	TerminationLog string
	// Host is what the container's security settings and resources take from the host.
	Host Host
	// Env is the container's environment as the kubelet makes it (podconfig.Env: envFrom,
	// valueFrom, values with $(VAR) expanded); nil means the container's env values as
	// written, expanded here.
	Env []api.EnvVar
	// TargetPIDNS is the PID namespace of an ephemeral container's target container
	// (/proc/<pid>/ns/pid), joined instead of a namespace of its own; empty for none.
	TargetPIDNS string
}

// option applies one concern of the container to the spec.
type option func(s *specs.Spec, in *Input) error

// options run in order: the user needs the process, security the mounts, seccomp the
// capabilities.
var options = []option{
	withProcess,
	withUser,
	withMounts,
	withNamespaces,
	withSecurity,
	withSeccomp,
	withResources,
}

// Generate returns the OCI runtime spec of one container. Errors are *CreateError and name
// the field at fault.
func Generate(in *Input) (*specs.Spec, error) {
	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{},
		Root:    &specs.Root{Path: in.Rootfs},
		Linux:   &specs.Linux{},
	}
	for _, o := range options {
		if err := o(s, in); err != nil {
			// containerd fails CreateContainer when it cannot build the spec.
			var ce *CreateError
			if !errors.As(err, &ce) {
				err = &CreateError{Reason: ReasonCreateContainerError, Message: err.Error()}
			}
			return nil, err
		}
	}
	return s, nil
}
