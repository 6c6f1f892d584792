package apiserver

import (
	"net/http"
	"runtime"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"

	"github.com/minipod/minipod/apiserver/openapi"
)

// Discovery as the API server serves it (staging/src/k8s.io/apiserver/pkg/endpoints/discovery):
// the legacy documents (/api, /apis, /api/v1) and the aggregated ones client-go asks for first
// (Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList), /version,
// and OpenAPI v3 (/openapi/v3 lists the documents, each behind a URL with its hash).

// KubernetesVersion is the Kubernetes release whose API minipod serves: the one of go.mod's
// k8s.io/api.
const KubernetesVersion = "v1.37.2"

const aggregatedV2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// apiResource is one resource in discovery.
type apiResource struct {
	name, singular, kind string
	namespaced           bool
	verbs                []string
	shortNames           []string
	categories           []string
	subresources         []apiSubresource
}

type apiSubresource struct {
	name, kind string
	verbs      []string
}

var v1Resources = []apiResource{
	{name: "configmaps", singular: "configmap", kind: "ConfigMap", namespaced: true,
		verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}, shortNames: []string{"cm"}},
	{name: "events", singular: "event", kind: "Event", namespaced: true, verbs: []string{"get", "list", "watch"}, shortNames: []string{"ev"}},
	{name: "namespaces", singular: "namespace", kind: "Namespace", verbs: []string{"get", "list"}, shortNames: []string{"ns"}},
	{name: "pods", singular: "pod", kind: "Pod", namespaced: true,
		verbs:      []string{"create", "delete", "get", "list", "patch", "update", "watch"},
		shortNames: []string{"po"}, categories: []string{"all"},
		subresources: []apiSubresource{
			{"attach", "PodAttachOptions", []string{"create", "get"}},
			{"ephemeralcontainers", "Pod", []string{"get", "patch", "update"}},
			{"exec", "PodExecOptions", []string{"create", "get"}},
			{"log", "Pod", []string{"get"}},
			{"portforward", "PodPortForwardOptions", []string{"create", "get"}},
			{"status", "Pod", []string{"get"}},
		}},
	{name: "secrets", singular: "secret", kind: "Secret", namespaced: true,
		verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
}

func (s *Server) discoveryRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api", s.apiRoot)
	m.HandleFunc("GET /api/{$}", s.apiRoot)
	m.HandleFunc("GET /apis", s.apisRoot)
	m.HandleFunc("GET /apis/{$}", s.apisRoot)
	m.HandleFunc("GET /api/v1", s.apiV1)
	m.HandleFunc("GET /api/v1/{$}", s.apiV1)
	m.HandleFunc("GET /version", s.version)
	m.HandleFunc("GET /version/{$}", s.version)
	m.HandleFunc("GET /openapi/v3", s.openAPIRoot)
	m.HandleFunc("GET /openapi/v3/api/v1", s.openAPIV1)
}

func wantsAggregated(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if strings.Contains(part, "as=APIGroupDiscoveryList") && strings.Contains(part, "v=v2") && !strings.Contains(part, "v=v2beta1") {
			return true
		}
	}
	return false
}

func writeAggregated(w http.ResponseWriter, l *apidiscoveryv2.APIGroupDiscoveryList) {
	l.TypeMeta = metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Content-Type", aggregatedV2)
	b, _ := jsonMarshal(l)
	w.Write(b)
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		var rs []apidiscoveryv2.APIResourceDiscovery
		for _, res := range v1Resources {
			d := apidiscoveryv2.APIResourceDiscovery{
				Resource:         res.name,
				ResponseKind:     &metav1.GroupVersionKind{Version: "v1", Kind: res.kind},
				Scope:            apidiscoveryv2.ScopeCluster,
				SingularResource: res.singular,
				Verbs:            res.verbs,
				ShortNames:       res.shortNames,
				Categories:       res.categories,
			}
			if res.namespaced {
				d.Scope = apidiscoveryv2.ScopeNamespace
			}
			for _, sub := range res.subresources {
				d.Subresources = append(d.Subresources, apidiscoveryv2.APISubresourceDiscovery{
					Subresource: sub.name, ResponseKind: &metav1.GroupVersionKind{Version: "v1", Kind: sub.kind}, Verbs: sub.verbs})
			}
			rs = append(rs, d)
		}
		writeAggregated(w, &apidiscoveryv2.APIGroupDiscoveryList{Items: []apidiscoveryv2.APIGroupDiscovery{{
			Versions: []apidiscoveryv2.APIVersionDiscovery{{Version: "v1", Resources: rs, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}},
		}}})
		return
	}
	writeJSON(w, http.StatusOK, &metav1.APIVersions{
		TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
	})
}

func (s *Server) apisRoot(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		writeAggregated(w, &apidiscoveryv2.APIGroupDiscoveryList{Items: []apidiscoveryv2.APIGroupDiscovery{}})
		return
	}
	writeJSON(w, http.StatusOK, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}})
}

func (s *Server) apiV1(w http.ResponseWriter, r *http.Request) {
	l := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1"}
	for _, res := range v1Resources {
		l.APIResources = append(l.APIResources, metav1.APIResource{Name: res.name, SingularName: res.singular,
			Namespaced: res.namespaced, Kind: res.kind, Verbs: res.verbs, ShortNames: res.shortNames, Categories: res.categories})
		for _, sub := range res.subresources {
			l.APIResources = append(l.APIResources, metav1.APIResource{Name: res.name + "/" + sub.name,
				Namespaced: res.namespaced, Kind: sub.kind, Verbs: sub.verbs})
		}
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	major, minor, _ := strings.Cut(strings.TrimPrefix(KubernetesVersion, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	writeJSON(w, http.StatusOK, &version.Info{
		Major: major, Minor: minor, GitVersion: KubernetesVersion + "+minipod",
		GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
	})
}

func (s *Server) openAPIRoot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"paths": map[string]any{
		"api/v1": map[string]string{"serverRelativeURL": "/openapi/v3/api/v1?hash=" + openapi.V1Hash},
	}})
}

func (s *Server) openAPIV1(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Etag", `"`+openapi.V1Hash+`"`)
	if r.URL.Query().Get("hash") == openapi.V1Hash {
		h.Set("Cache-Control", "public, immutable")
		h.Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
	}
	w.Write(openapi.V1)
}
