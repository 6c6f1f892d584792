package apiserver

import (
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/minipod/minipod/state"
)

// Namespaces are not objects of their own on one host: "default" always exists, and so does
// every namespace a pod is in. They are served Active, read-only.

func (s *Server) namespaces() []string {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	set := map[string]bool{"default": true}
	for _, e := range s.store.pods {
		if e.pod != nil {
			set[e.ns] = true
		}
	}
	var out []string
	for ns := range set {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

func namespaceObject(name string) corev1.Namespace {
	return corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
}

func (s *Server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	ls, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		writeError(w, errBadRequest(err.Error()))
		return
	}
	l := corev1.NamespaceList{TypeMeta: metav1.TypeMeta{Kind: "NamespaceList", APIVersion: "v1"}, Items: []corev1.Namespace{}}
	l.ResourceVersion = state.FormatRV(s.store.currentRV())
	for _, ns := range s.namespaces() {
		if o := namespaceObject(ns); ls.Matches(labels.Set(o.Labels)) {
			l.Items = append(l.Items, o)
		}
	}
	writeJSON(w, http.StatusOK, &l)
}

func (s *Server) getNamespace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("ns")
	if !slices.Contains(s.namespaces(), name) {
		writeError(w, errNotFound(namespacesResource, name))
		return
	}
	o := namespaceObject(name)
	writeJSON(w, http.StatusOK, &o)
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	ls, fs, err := selectors(r, eventFields(&eventObject{}))
	if err != nil {
		writeError(w, err)
		return
	}
	match := func(e *eventObject) bool {
		return (ns == "" || e.Namespace == ns) && ls.Matches(labels.Set(e.Labels)) && fs.Matches(eventFields(e))
	}
	q := r.URL.Query()
	if q.Get("watch") == "true" || q.Get("watch") == "1" {
		s.watch(w, r, watchEvents(match))
		return
	}
	all, rv := s.store.events(ns)
	if err := checkListRV(q, rv); err != nil {
		writeError(w, err)
		return
	}
	l := corev1.EventList{TypeMeta: metav1.TypeMeta{Kind: "EventList", APIVersion: "v1"}, Items: []corev1.Event{}}
	l.ResourceVersion = state.FormatRV(rv)
	for _, e := range all {
		if match(e) {
			l.Items = append(l.Items, *e)
		}
	}
	if wantsTable(r) {
		writeJSON(w, http.StatusOK, s.eventTable(r, l.Items, l.ResourceVersion))
		return
	}
	writeJSON(w, http.StatusOK, &l)
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	all, _ := s.store.events(r.PathValue("ns"))
	for _, e := range all {
		if e.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, e)
			return
		}
	}
	writeError(w, errNotFound(eventsResource, r.PathValue("name")))
}
