// Package apiserver is minipod's daemon: the Kubernetes core/v1 API for the pods of one host,
// as the API server serves it, so that kubectl and client-go work unchanged. It holds nothing
// the state directory does not: at start it reads every pod's files and connects to every
// monitor's watch stream (package pods, monitorapi); pods never depend on it, and pods created
// by `minipod run` and through the API are one set.
//
// It serves, with net/http and apimachinery's types: discovery (/api, /apis, /version, the
// aggregated discovery documents, OpenAPI v3 of the upstream core/v1 schema), namespaces,
// pods (create, get, list and watch with label and field selectors and resourceVersion
// semantics, delete, patch), pods/status, pods/log, pods/exec and pods/attach (WebSocket
// remote command protocol v4/v5), pods/portforward, events, and the Table form kubectl asks
// for. Every request is authenticated (see auth.go).
package apiserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/minipod/minipod/objects"
	"github.com/minipod/minipod/state"
)

// Options configure a Server.
type Options struct {
	Config state.Config
	Log    *slog.Logger
	// Node is the name pods run on (spec.nodeName, the events' source host): the host name.
	Node string
}

// Server is the daemon's API.
type Server struct {
	cfg     state.Config
	log     *slog.Logger
	node    string
	clock   *state.RVClock
	store   *store
	objects *objectsState // ConfigMaps and Secrets (objects.go)
	metrics *metrics
	ctx     context.Context
	// Mux serves every route; more can be added before Serve (metrics, health).
	Mux *http.ServeMux
}

// New rebuilds the daemon's view from the state directory and starts following every pod;
// it serves nothing yet. ctx ends the following.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Node == "" {
		o.Node, _ = os.Hostname()
	}
	if err := os.MkdirAll(o.Config.PodsDir(), 0o700); err != nil {
		return nil, err
	}
	clock, err := state.OpenRVClock(o.Config.StateDir)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: o.Config, log: o.Log, node: o.Node, clock: clock, ctx: ctx, Mux: http.NewServeMux()}
	s.store = newStore(ctx, o.Config, clock, o.Log, o.Node)
	s.metrics = newMetrics(s.store)
	s.store.metrics = s.metrics
	s.store.load()
	s.objects = &objectsState{store: objects.Open(o.Config.ObjectsDir())}
	s.store.loadObjects(s.objects.store)
	if err := s.store.run(ctx); err != nil {
		return nil, err
	}
	if err := s.followObjects(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler is the mux behind authentication.
func (s *Server) Handler() http.Handler {
	return s.authenticate(s.metrics.instrument(s.logRequests(s.Mux)))
}

// ServeUnix serves the API on a unix socket listener (peer credentials checked per request).
func (s *Server) ServeUnix(ctx context.Context, l net.Listener) error {
	return s.serve(ctx, &peerListener{Listener: l}, nil)
}

// ServeTLS serves the API over HTTPS; tc requires and verifies client certificates.
func (s *Server) ServeTLS(ctx context.Context, l net.Listener, tc *tls.Config) error {
	return s.serve(ctx, tls.NewListener(l, tc), tc)
}

func (s *Server) serve(ctx context.Context, l net.Listener, tc *tls.Config) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		TLSConfig:         tc,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// logRequests logs every request at debug level, with its duration and status.
func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			h.ServeHTTP(w, r)
			return
		}
		t := time.Now()
		rw := &statusRecorder{ResponseWriter: w, code: 200}
		h.ServeHTTP(rw, r)
		s.log.Debug("request", "method", r.Method, "uri", r.RequestURI, "code", rw.code, "took", time.Since(t), "user", userOf(r.Context()))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack lets upgrades (exec, attach, port-forward) take the connection.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.code = http.StatusSwitchingProtocols
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// routes registers the API. Each resource's handlers are in a file of their own.
func (s *Server) routes() {
	m := s.Mux
	s.discoveryRoutes(m)
	s.healthRoutes(m)
	m.Handle("GET /metrics", s.metrics.handler())
	m.HandleFunc("GET /api/v1/namespaces", s.listNamespaces)
	m.HandleFunc("GET /api/v1/namespaces/{ns}", s.getNamespace)

	m.HandleFunc("GET /api/v1/pods", s.listPods)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods", s.listPods)
	m.HandleFunc("POST /api/v1/namespaces/{ns}/pods", s.createPod)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", s.getPod)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/status", s.getPod)
	m.HandleFunc("DELETE /api/v1/namespaces/{ns}/pods/{name}", s.deletePod)
	m.HandleFunc("PATCH /api/v1/namespaces/{ns}/pods/{name}", s.patchPod)
	m.HandleFunc("PUT /api/v1/namespaces/{ns}/pods/{name}", s.updatePod)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/log", s.podLog)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/exec", s.podExec)
	m.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/exec", s.podExec)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/attach", s.podAttach)
	m.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/attach", s.podAttach)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/portforward", s.podPortForward)
	m.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/portforward", s.podPortForward)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/ephemeralcontainers", s.getPod)
	m.HandleFunc("PATCH /api/v1/namespaces/{ns}/pods/{name}/ephemeralcontainers", s.patchEphemeral)
	m.HandleFunc("PUT /api/v1/namespaces/{ns}/pods/{name}/ephemeralcontainers", s.putEphemeral)

	s.objectRoutes(m)

	m.HandleFunc("GET /api/v1/events", s.listEvents)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/events", s.listEvents)
	m.HandleFunc("GET /api/v1/namespaces/{ns}/events/{name}", s.getEvent)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
	})
}
