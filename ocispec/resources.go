package ocispec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// withResources places the container in its cgroup, below the pod's.
func withResources(s *specs.Spec, in *Input) error {
	s.Linux.CgroupsPath = in.Cgroup
	return nil
}
