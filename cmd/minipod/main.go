// Command minipod runs Kubernetes Pods on one Linux host. The binary is also the container
// init (libcontainer re-executes it as "init", see package containerinit), the per-pod
// monitor ("monitor") and the reaper of a pod sharing one PID namespace ("pause", see package
// pause).
package main

import (
	"os"

	_ "github.com/minipod/minipod/containerinit" // must stay imported: the container init hook
	_ "github.com/minipod/minipod/pause"         // must stay imported: the pod reaper
)

func main() {
	os.Exit(execute(os.Args[1:]))
}
