// Command minipod runs Kubernetes Pods on one Linux host. The binary is also the container
// init (libcontainer re-executes it as "init") and the per-pod monitor ("monitor").
package main

import (
	"os"

	_ "github.com/opencontainers/cgroups/devices" // device rules for the cgroup manager
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

func init() {
	// libcontainer starts every container as "/proc/self/exe init"; nsenter's constructor
	// has already joined the namespaces by the time Go runs this.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}

func main() {
	os.Exit(execute(os.Args[1:]))
}
