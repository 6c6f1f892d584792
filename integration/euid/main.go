// Command euid prints the real and effective user IDs it runs with. Installed setuid root in
// a test image, it shows whether a container may gain privileges through a setuid program
// (allowPrivilegeEscalation, no_new_privs).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("uid=%d euid=%d\n", os.Getuid(), os.Geteuid())
}
