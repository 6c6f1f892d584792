// Command httpecho stands in for hashicorp/http-echo in the tests: it answers every HTTP
// request with the text of -text and a newline, on -listen (":5678"). Like the real one it
// is a small static Go program, so that it runs under the Kubernetes documentation's
// fine-grained seccomp profile, an allowlist of the syscalls such a program makes.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
)

func main() {
	text := flag.String("text", "", "text to answer with")
	listen := flag.String("listen", ":5678", "address to listen on")
	flag.Parse()
	log.Printf("listening on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, *text)
	})))
}
