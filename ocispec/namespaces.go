package ocispec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// withNamespaces gives the container its own mount and PID namespaces and joins the pod's
// network, IPC and UTS namespaces, as a CRI runtime does for a pod without host namespaces.
func withNamespaces(s *specs.Spec, in *Input) error {
	s.Linux.Namespaces = []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: in.Sandbox.NetNS},
		{Type: specs.IPCNamespace, Path: in.Sandbox.IPCNS},
		{Type: specs.UTSNamespace, Path: in.Sandbox.UTSNS},
	}
	return nil
}
