// Command minipod runs Kubernetes Pods on one Linux host. Each pod is supervised by its own
// process, minipod-monitor (cmd/minipod-monitor), installed beside this binary.
package main

import "os"

func main() {
	os.Exit(execute(os.Args[1:]))
}
