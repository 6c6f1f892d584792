package ocispec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// withNamespaces gives the container its own mount namespace and joins the pod's network,
// IPC and UTS namespaces, as a CRI runtime does. A namespace the pod shares with the host is
// left out, so the container stays in the host's: hostNetwork (with the host's UTS
// namespace too, as containerd does), hostIPC, hostPID. The PID namespace is the container's
// own, or the pod's shared one (shareProcessNamespace). An ephemeral container with a target
// joins its target's PID namespace only where it would have one of its own: the kubelet turns
// NamespaceMode CONTAINER into TARGET (generateLinuxContainerConfig,
// pkg/kubelet/kuberuntime/kuberuntime_container_linux.go), and containerd joins the target's
// /proc/<pid>/ns/pid (WithPodNamespaces).
func withNamespaces(s *specs.Spec, in *Input) error {
	spec, sb := &in.Pod.Spec, in.Sandbox
	var ns []specs.LinuxNamespace
	switch {
	case spec.HostPID:
	case sb.PIDNS != "":
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: sb.PIDNS})
	case in.TargetPIDNS != "":
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: in.TargetPIDNS})
	default:
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	ns = append(ns, specs.LinuxNamespace{Type: specs.MountNamespace})
	if !spec.HostNetwork {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.NetNS})
	}
	if !spec.HostIPC {
		ns = append(ns, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: sb.IPCNS})
	}
	if !spec.HostNetwork {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace, Path: sb.UTSNS})
	}
	s.Linux.Namespaces = ns
	return nil
}
