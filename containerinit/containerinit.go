// Package containerinit turns the minipod binary into libcontainer's container init when it
// is started as "minipod init". It is its own package so that the hook runs as early as Go's
// package initialization allows: packages are initialized in import path order once their
// imports are, so this one runs before the Kubernetes, YAML and CLI packages that sort after
// it, whose initialization a container start does not need to pay for.
package containerinit

import (
	"os"

	_ "github.com/opencontainers/cgroups/devices" // device rules for the cgroup manager
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter" // joins namespaces before Go starts
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init() // never returns
	}
}
