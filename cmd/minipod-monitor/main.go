// Command minipod-monitor is the per-pod process (package monitor), started by minipod for
// every pod as `minipod-monitor monitor POD-DIR` with the pod's lock as fd 3. It is also the
// container init (libcontainer re-executes it as "init", see package containerinit) and the
// reaper of a pod sharing one PID namespace ("pause", see package pause). It links only what
// supervising a pod needs: every process of it pays for what it links.
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	_ "github.com/minipod/minipod/containerinit" // must stay imported: the container init hook
	"github.com/minipod/minipod/monitor"
	_ "github.com/minipod/minipod/pause" // must stay imported: the pod reaper
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "monitor" {
		fmt.Fprintln(os.Stderr, "usage: minipod-monitor monitor POD-DIR (started by minipod)")
		os.Exit(2)
	}
	// fd 3 is the pod's lock, taken by the process that started this one. No child may
	// inherit it: a container or exec process holding it would make the pod look alive
	// after the monitor is gone.
	unix.CloseOnExec(3)
	if err := monitor.Run(os.Args[2], os.NewFile(3, "lock")); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
