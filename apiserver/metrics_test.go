package apiserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

func TestRequestInfo(t *testing.T) {
	for _, c := range []struct {
		method, url            string
		verb, resource, subres string
	}{
		{"GET", "/api/v1/pods", "LIST", "pods", ""},
		{"GET", "/api/v1/namespaces/default/pods", "LIST", "pods", ""},
		{"GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=5", "WATCH", "pods", ""},
		{"GET", "/api/v1/namespaces/default/pods/web", "GET", "pods", ""},
		{"GET", "/api/v1/namespaces/default/pods/web/log?follow=true", "GET", "pods", "log"},
		{"GET", "/api/v1/namespaces/default/pods/web/status", "GET", "pods", "status"},
		{"POST", "/api/v1/namespaces/default/pods", "POST", "pods", ""},
		{"PATCH", "/api/v1/namespaces/default/pods/web", "PATCH", "pods", ""},
		{"PUT", "/api/v1/namespaces/default/pods/web", "PUT", "pods", ""},
		{"DELETE", "/api/v1/namespaces/default/pods/web", "DELETE", "pods", ""},
		{"POST", "/api/v1/namespaces/default/pods/web/exec?command=sh", "CONNECT", "pods", "exec"},
		{"GET", "/api/v1/namespaces/default/pods/web/attach", "CONNECT", "pods", "attach"},
		{"POST", "/api/v1/namespaces/default/pods/web/portforward", "CONNECT", "pods", "portforward"},
		{"GET", "/api/v1/namespaces", "LIST", "namespaces", ""},
		{"GET", "/api/v1/namespaces/default", "GET", "namespaces", ""},
		{"GET", "/api/v1/namespaces/kube-system/events", "LIST", "events", ""},
		{"GET", "/api/v1/namespaces/default/secrets/x", "GET", "other", ""},
		{"GET", "/api/v1/namespaces/default/pods/web/anything-else", "GET", "pods", "other"},
		{"GET", "/api/v1", "LIST", "", ""},
		{"GET", "/version", "GET", "", ""},
		{"GET", "/readyz", "GET", "", ""},
		{"OPTIONS", "/api/v1/pods", "other", "pods", ""},
	} {
		r := httptest.NewRequest(c.method, c.url, nil)
		verb, res, sub := requestInfo(r)
		if verb != c.verb || res != c.resource || sub != c.subres {
			t.Errorf("%s %s: %q %q %q, want %q %q %q", c.method, c.url, verb, res, sub, c.verb, c.resource, c.subres)
		}
	}
}

// A pod's start latency is observed once, when it is first seen running after it was seen
// pending; a pod first seen running (the daemon started after it) is not observed.
func TestPodStartObserved(t *testing.T) {
	s := testStore(t)
	s.metrics = newMetrics(s)
	s.mu.Lock()
	a, b := s.entryLocked("default", "a"), s.entryLocked("default", "b")
	s.setPodLocked(a, pod("a", "ua", api.PodPending), 0)
	s.setPodLocked(b, pod("b", "ub", api.PodRunning), 0)
	s.setPodLocked(a, pod("a", "ua", api.PodRunning), 0)
	s.setPodLocked(a, pod("a", "ua", api.PodRunning), 0)
	s.setPodLocked(b, pod("b", "ub", api.PodRunning), 0)
	s.mu.Unlock()
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "minipod_pod_start_duration_seconds" {
			found = true
			if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n != 1 {
				t.Errorf("pod starts observed: %d, want 1", n)
			}
		}
	}
	if !found {
		t.Error("no minipod_pod_start_duration_seconds")
	}
}

func TestImagePullsCounted(t *testing.T) {
	s := testStore(t)
	s.metrics = newMetrics(s)
	s.mu.Lock()
	e := s.entryLocked("default", "a")
	s.setPodLocked(e, pod("a", "ua", api.PodPending), 0)
	for _, ev := range []api.Event{
		{Reason: "Pulling", Message: `Pulling image "x"`},
		{Reason: "Pulled", Message: `Successfully pulled image "x" in 1s (1s including waiting). Image size: 5 bytes.`},
		{Reason: "Pulled", Message: `Container image "x" already present on machine`},
		{Reason: "Failed", Message: `Failed to pull image "y": not found`},
		{Reason: "Failed", Message: `Error: ErrImagePull`},
	} {
		s.addEventLocked(e, ev, true)
	}
	// Events read back at a start are not pulls of this daemon's life.
	s.addEventLocked(e, api.Event{Reason: "Pulled", Message: `Successfully pulled image "z"`}, false)
	s.mu.Unlock()
	if v := testutil.ToFloat64(s.metrics.pulls.WithLabelValues("success")); v != 1 {
		t.Errorf("successful pulls: %v", v)
	}
	if v := testutil.ToFloat64(s.metrics.pulls.WithLabelValues("failure")); v != 1 {
		t.Errorf("failed pulls: %v", v)
	}
}

func testServer(t *testing.T) (*Server, context.CancelFunc) {
	t.Helper()
	cfg := state.DefaultConfig()
	cfg.StateDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := New(ctx, Options{Config: cfg, Log: slog.New(slog.DiscardHandler), Node: "node"})
	if err != nil {
		t.Fatal(err)
	}
	return s, cancel
}

func get(t *testing.T, h http.Handler, url string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	return rec.Code, rec.Body.String()
}

// The health endpoints answer as the API server's: "ok", the checks with ?verbose, a 500
// naming the failed check, ?exclude; /readyz fails once the daemon shuts down.
func TestHealth(t *testing.T) {
	s, cancel := testServer(t)
	h := s.metrics.instrument(s.Mux) // authentication needs a connection: tested in integration
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/readyz/shutdown", "/healthz/ping"} {
		if code, body := get(t, h, path); code != 200 || body != "ok" {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	if code, body := get(t, h, "/readyz?verbose"); code != 200 || body != "[+]ping ok\n[+]state-directory ok\n[+]shutdown ok\nreadyz check passed\n" {
		t.Errorf("/readyz?verbose: %d %q", code, body)
	}
	if err := os.RemoveAll(s.cfg.PodsDir()); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, h, "/healthz"); code != 500 || body != "[+]ping ok\n[-]state-directory failed: reason withheld\nhealthz check failed\n" {
		t.Errorf("/healthz without a state directory: %d %q", code, body)
	}
	if code, body := get(t, h, "/healthz?exclude=state-directory&verbose"); code != 200 || !strings.Contains(body, "[+]state-directory excluded: ok\n") {
		t.Errorf("/healthz?exclude: %d %q", code, body)
	}
	cancel()
	if code, body := get(t, h, "/readyz?exclude=state-directory"); code != 500 || !strings.Contains(body, "[-]shutdown failed") {
		t.Errorf("/readyz after shutdown: %d %q", code, body)
	}
	if code, _ := get(t, h, "/livez?exclude=state-directory"); code != 200 {
		t.Errorf("/livez after shutdown: %d", code)
	}
}

// /metrics serves the pods by phase, the requests and their latencies.
func TestMetricsEndpoint(t *testing.T) {
	s, _ := testServer(t)
	h := s.metrics.instrument(s.Mux)
	s.store.mu.Lock()
	e := s.store.entryLocked("default", "a")
	p := pod("a", "ua", api.PodRunning)
	p.Status.ContainerStatuses = []api.ContainerStatus{{Name: "c", RestartCount: 3}}
	s.store.setPodLocked(e, p, 0)
	s.store.mu.Unlock()
	get(t, h, "/api/v1/namespaces/default/pods/a")
	get(t, h, "/api/v1/namespaces/default/pods/nope")
	code, body := get(t, h, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`minipod_pods{phase="Running"} 1` + "\n",
		`minipod_pods{phase="Pending"} 0` + "\n",
		`minipod_container_restarts{container="c",namespace="default",pod="a"} 3` + "\n",
		`apiserver_request_total{code="200",resource="pods",subresource="",verb="GET"} 1` + "\n",
		`apiserver_request_total{code="404",resource="pods",subresource="",verb="GET"} 1` + "\n",
		`apiserver_request_duration_seconds_count{resource="pods",subresource="",verb="GET"} 2` + "\n",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
