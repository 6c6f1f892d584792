package apiserver

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// metrics are the daemon's Prometheus metrics, served on /metrics. The API's are the API
// server's (staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go: requestCounter,
// requestLatencies, with the labels its RequestInfo gives); the pods' are the kubelet's
// (pkg/kubelet/metrics/metrics.go: PodStartDuration) and kube-state-metrics' pod series,
// under minipod's own names. Each daemon has its own registry: nothing global.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latencies *prometheus.HistogramVec
	podStart  prometheus.Histogram
	pulls     *prometheus.CounterVec
}

// requestBuckets are apiserver_request_duration_seconds' buckets.
var requestBuckets = []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60}

// podStartBuckets are kubelet_pod_start_duration_seconds' buckets, below 0.5 s refined:
// a minipod pod of a present image starts in a tenth of a second.
var podStartBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600}

func newMetrics(s *store) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, API resource, subresource and HTTP response code.",
		}, []string{"verb", "resource", "subresource", "code"}),
		latencies: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, resource and subresource.",
			Buckets: requestBuckets,
		}, []string{"verb", "resource", "subresource"}),
		podStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "minipod_pod_start_duration_seconds",
			Help:    "Duration in seconds from the daemon seeing a pod for the first time (its creation, for a pod created through the API) to the pod running (kubelet_pod_start_duration_seconds).",
			Buckets: podStartBuckets,
		}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipod_image_pulls_total",
			Help: "Image pulls by the pods' monitors since the daemon started, by result (success, failure), as their events tell.",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.latencies, m.podStart, m.pulls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&podCollector{s: s})
	return m
}

// handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// instrument counts and times every request by its RequestInfo.
func (m *metrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		rw := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rw, r)
		verb, resource, sub := requestInfo(r)
		m.requests.WithLabelValues(verb, resource, sub, strconv.Itoa(rw.code)).Inc()
		m.latencies.WithLabelValues(verb, resource, sub).Observe(time.Since(t).Seconds())
	})
}

// requestInfo names a request as the API server's metrics do: the verb (GET of a collection
// is LIST, with watch=true WATCH; exec, attach and portforward are CONNECT), the resource
// and the subresource. Paths outside the API (discovery, OpenAPI, health) have no resource;
// anything unknown is "other", so that no label takes unbounded values (RequestInfoFactory,
// staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go; CleanVerb and
// cleanResource in metrics.go).
func requestInfo(r *http.Request) (verb, resource, subresource string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "api" || parts[1] != "v1" {
		return strings.ToUpper(r.Method), "", ""
	}
	parts = parts[2:]
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) > 2 {
		parts = parts[2:] // namespaces/{ns}/<resource>...
	}
	hasName := len(parts) >= 2
	if len(parts) >= 1 {
		resource = parts[0]
	}
	if len(parts) >= 3 {
		subresource = parts[2]
	}
	switch resource {
	case "", "namespaces", "pods", "events":
	default:
		resource = "other"
	}
	switch subresource {
	case "", "status", "log", "exec", "attach", "portforward", "ephemeralcontainers":
	default:
		subresource = "other"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		verb = "GET"
		if !hasName {
			verb = "LIST"
		}
		if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
			verb = "WATCH"
		}
	case http.MethodPost:
		verb = "POST"
	case http.MethodPut:
		verb = "PUT"
	case http.MethodPatch:
		verb = "PATCH"
	case http.MethodDelete:
		verb = "DELETE"
	default:
		verb = "other"
	}
	switch subresource {
	case "exec", "attach", "portforward":
		verb = "CONNECT"
	}
	return verb, resource, subresource
}

// observeStartLocked records a pod's start latency the first time the store sees it
// Running, if the store saw it before it ran (a pod already running at the daemon's start is
// not observed: when it was first seen is not known).
func (s *store) observeStartLocked(e *podEntry, p *api.Pod) {
	if s.metrics == nil || e.firstSeen.IsZero() || p.Status.Phase != api.PodRunning {
		return
	}
	s.metrics.podStart.Observe(time.Since(e.firstSeen).Seconds())
	e.firstSeen = time.Time{}
}

// countPull counts an image pull by the event the monitor reports it with (the kubelet's
// messages: pkg/kubelet/images/image_manager.go).
func (s *store) countPullLocked(ev api.Event) {
	if s.metrics == nil {
		return
	}
	switch {
	case ev.Reason == "Pulled" && strings.HasPrefix(ev.Message, "Successfully pulled image"):
		s.metrics.pulls.WithLabelValues("success").Inc()
	case ev.Reason == "Failed" && strings.HasPrefix(ev.Message, "Failed to pull image"):
		s.metrics.pulls.WithLabelValues("failure").Inc()
	}
}

// podCollector reports the pods as they are when scraped.
type podCollector struct{ s *store }

var (
	podsDesc = prometheus.NewDesc("minipod_pods",
		"Pods on this host by phase (kube-state-metrics' kube_pod_status_phase, summed).", []string{"phase"}, nil)
	restartsDesc = prometheus.NewDesc("minipod_container_restarts",
		"A container's restart count as its pod's status reports it (kube_pod_container_status_restarts_total).",
		[]string{"namespace", "pod", "container"}, nil)
	monitorRSSDesc = prometheus.NewDesc("minipod_monitor_resident_memory_bytes",
		"Resident memory of each running pod's monitor process.", []string{"namespace", "pod"}, nil)
)

func (c *podCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- podsDesc
	ch <- restartsDesc
	ch <- monitorRSSDesc
}

func (c *podCollector) Collect(ch chan<- prometheus.Metric) {
	all, _ := c.s.list("")
	phases := map[api.PodPhase]int{api.PodPending: 0, api.PodRunning: 0, api.PodSucceeded: 0, api.PodFailed: 0, api.PodUnknown: 0}
	for _, p := range all {
		phases[p.Status.Phase]++
		for _, cs := range append(append([]api.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.GaugeValue, float64(cs.RestartCount),
				p.Metadata.Namespace, p.Metadata.Name, cs.Name)
		}
		if rss, ok := monitorRSS(c.s.cfg.PodDir(p.Metadata.Namespace, p.Metadata.Name)); ok {
			ch <- prometheus.MustNewConstMetric(monitorRSSDesc, prometheus.GaugeValue, float64(rss),
				p.Metadata.Namespace, p.Metadata.Name)
		}
	}
	for phase, n := range phases {
		ch <- prometheus.MustNewConstMetric(podsDesc, prometheus.GaugeValue, float64(n), string(phase))
	}
}

// monitorRSS reads the resident memory of a pod's monitor, if it runs (it holds the pod's
// lock: a pid file of a monitor that is gone is not read).
func monitorRSS(dir string) (int64, bool) {
	if !state.MonitorAlive(dir) {
		return 0, false
	}
	pid, err := state.MonitorPID(dir)
	if err != nil {
		return 0, false
	}
	statm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "statm"))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(statm))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
