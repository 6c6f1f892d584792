// Command minipod runs Kubernetes Pods on one Linux host. The binary is also the container
// init (libcontainer re-executes it as "init", see package containerinit) and the per-pod
// monitor ("monitor").
package main

import (
	"os"

	_ "github.com/minipod/minipod/containerinit" // must stay imported: the container init hook
)

func main() {
	os.Exit(execute(os.Args[1:]))
}
