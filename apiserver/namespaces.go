package apiserver

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/minipod/minipod/kubeprint"

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
	for _, e := range s.store.objs {
		set[e.obj.GetMeta().Namespace] = true
	}
	var out []string
	for ns := range set {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// namespaceObject is a namespace, created (as far as anyone can tell) when minipod was first
// used since boot: when the resource version clock's epoch was fixed.
func (s *Server) namespaceObject(name string) corev1.Namespace {
	var created metav1.Time
	if fi, err := os.Stat(filepath.Join(s.cfg.StateDir, state.RVEpochFile)); err == nil {
		created = metav1.NewTime(fi.ModTime().Truncate(time.Second))
	}
	return corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: created, Labels: map[string]string{"kubernetes.io/metadata.name": name}},
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
		if o := s.namespaceObject(ns); ls.Matches(labels.Set(o.Labels)) {
			l.Items = append(l.Items, o)
		}
	}
	if wantsTable(r) {
		writeJSON(w, http.StatusOK, namespaceTable(r, l.Items, l.ResourceVersion))
		return
	}
	writeJSON(w, http.StatusOK, &l)
}

func (s *Server) getNamespace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("ns")
	if !slices.Contains(s.namespaces(), name) {
		writeError(w, errNotFound(namespacesResource, name))
		return
	}
	o := s.namespaceObject(name)
	if wantsTable(r) {
		writeJSON(w, http.StatusOK, namespaceTable(r, []corev1.Namespace{o}, ""))
		return
	}
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

// namespaceTable has the API server's namespace columns (printNamespace): Name, Status, Age.
func namespaceTable(r *http.Request, nss []corev1.Namespace, rv string) *metav1.Table {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, Rows: []metav1.TableRow{},
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
			{Name: "Status", Type: "string", Description: "The status of the namespace"},
			{Name: "Age", Type: "string", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
		}}
	t.ResourceVersion = rv
	for i := range nss {
		ns := &nss[i]
		row := metav1.TableRow{Cells: []any{ns.Name, string(ns.Status.Phase), kubeprint.Since(ns.CreationTimestamp.Time, time.Now())}}
		if r.URL.Query().Get("includeObject") != "None" {
			b, _ := json.Marshal(map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": ns.ObjectMeta})
			row.Object = runtime.RawExtension{Raw: b}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
