package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// /healthz, /livez and /readyz as the API server serves them
// (staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go handleRootHealth): "ok" when
// every check passes, or with ?verbose one line per check and "<name> check passed"; a
// failure is a 500 naming each check ("[-]x failed: reason withheld"); ?exclude=x skips a
// check; /readyz/<check> runs one.

// healthCheck is one named check.
type healthCheck struct {
	name  string
	check func() error
}

func (s *Server) healthRoutes(m *http.ServeMux) {
	ping := healthCheck{"ping", func() error { return nil }}
	// The state directory is what the daemon serves from: gone or unreadable, nothing it
	// serves is true.
	stateDir := healthCheck{"state-directory", func() error {
		_, err := os.ReadDir(s.cfg.PodsDir())
		return err
	}}
	// A daemon shutting down is not ready (the API server's "shutdown" readyz check), so a
	// load balancer stops sending it requests before it stops.
	shutdown := healthCheck{"shutdown", func() error {
		if s.ctx.Err() != nil {
			return errors.New("process is shutting down")
		}
		return nil
	}}
	live := []healthCheck{ping, stateDir}
	ready := []healthCheck{ping, stateDir, shutdown}
	for path, checks := range map[string][]healthCheck{"/healthz": live, "/livez": live, "/readyz": ready} {
		m.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) { s.health(w, r, path, checks) })
		for _, c := range checks {
			m.HandleFunc("GET "+path+"/"+c.name, func(w http.ResponseWriter, r *http.Request) {
				s.health(w, r, path, []healthCheck{c})
			})
		}
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, path string, checks []healthCheck) {
	name := strings.TrimPrefix(path, "/")
	q := r.URL.Query()
	excluded := map[string]bool{}
	for _, x := range q["exclude"] {
		excluded[strings.TrimSpace(x)] = true
	}
	var b strings.Builder
	failed := false
	for _, c := range checks {
		if excluded[c.name] {
			fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.name)
			continue
		}
		if err := c.check(); err != nil {
			s.log.Warn(name+" check failed", "check", c.name, "err", err)
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.name)
			failed = true
			continue
		}
		fmt.Fprintf(&b, "[+]%s ok\n", c.name)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s%s check failed\n", b.String(), name)
		return
	}
	if _, verbose := q["verbose"]; verbose {
		fmt.Fprintf(w, "%s%s check passed\n", b.String(), name)
		return
	}
	fmt.Fprint(w, "ok")
}
