package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/kubeprint"
)

// The Table form kubectl get asks for (Accept: application/json;as=Table;v=v1;g=meta.k8s.io),
// with the columns of the API server's pod printer (pkg/printers/internalversion/printers.go
// podColumnDefinitions, printPod); the cells are kubeprint's.

var podColumnDefinitions = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
	{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
	{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
	{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	{Name: "IP", Type: "string", Priority: 1, Description: "IP address of the pod"},
	{Name: "Node", Type: "string", Priority: 1, Description: "Name of the node the pod is assigned to"},
	{Name: "Nominated Node", Type: "string", Priority: 1, Description: "Name of the node the pod is nominated to"},
	{Name: "Readiness Gates", Type: "string", Priority: 1, Description: "Readiness gates of the pod"},
}

func wantsTable(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if strings.Contains(part, "as=Table") && strings.Contains(part, "g=meta.k8s.io") {
			return true
		}
	}
	return false
}

// table renders pods as a Table. The row's object is what includeObject asks for: the
// object's metadata (PartialObjectMetadata, the default), the object, or nothing.
func (s *Server) table(r *http.Request, pods []*api.Pod, rv string, watch bool) *metav1.Table {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, Rows: []metav1.TableRow{}}
	t.ResourceVersion = rv
	if !watch || true {
		t.ColumnDefinitions = podColumnDefinitions
	}
	include := r.URL.Query().Get("includeObject")
	now := time.Now()
	for _, p := range pods {
		row := kubeprint.Pod(p, now)
		ip := p.Status.PodIP
		if ip == "" {
			ip = "<none>"
		}
		node := p.Spec.NodeName
		if node == "" {
			node = s.node
		}
		gates := "<none>"
		if n := len(p.Spec.ReadinessGates); n > 0 {
			gates = readinessGates(p)
		}
		tr := metav1.TableRow{Cells: []any{row.Name, row.Ready, row.Status, row.Restarts, row.Age, ip, node, "<none>", gates}}
		var obj any
		switch include {
		case "None":
		case "Object":
			obj = s.out(p)
		default:
			obj = partialMetadata(s.out(p))
		}
		if obj != nil {
			b, _ := json.Marshal(obj)
			tr.Object = runtime.RawExtension{Raw: b}
		}
		t.Rows = append(t.Rows, tr)
	}
	return t
}

// readinessGates is printPod's "n/m" of readiness gate conditions that are true.
func readinessGates(p *api.Pod) string {
	total, ok := len(p.Spec.ReadinessGates), 0
	for _, g := range p.Spec.ReadinessGates {
		for _, c := range p.Status.Conditions {
			if string(c.Type) == string(g.ConditionType) && c.Status == api.ConditionTrue {
				ok++
			}
		}
	}
	return itoa(ok) + "/" + itoa(total)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// partialMetadata is the pod's PartialObjectMetadata (meta.k8s.io/v1).
func partialMetadata(p *api.Pod) map[string]any {
	return map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": p.Metadata}
}

func (s *Server) writeTable(w http.ResponseWriter, r *http.Request, pods []*api.Pod, rv string) {
	writeJSON(w, http.StatusOK, s.table(r, pods, rv, false))
}

// eventColumnDefinitions are the API server's event printer's (printEvent).
var eventColumnDefinitions = []metav1.TableColumnDefinition{
	{Name: "Last Seen", Type: "string", Description: "The last time this event was observed."},
	{Name: "Type", Type: "string", Description: "Type of this event (Normal, Warning), new types could be added in the future."},
	{Name: "Reason", Type: "string", Description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."},
	{Name: "Object", Type: "string", Description: "The object this Event is about."},
	{Name: "Subobject", Type: "string", Priority: 1, Description: "The subobject this Event is about, e.g. a container of a pod."},
	{Name: "Source", Type: "string", Priority: 1, Description: "The component reporting this event."},
	{Name: "Message", Type: "string", Description: "A human-readable description of the status of this operation."},
	{Name: "First Seen", Type: "string", Priority: 1, Description: "The first time this event was observed."},
	{Name: "Count", Type: "string", Priority: 1, Description: "The number of times this event has occurred."},
	{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: "Name of the event."},
}

func (s *Server) eventTable(r *http.Request, evs []corev1.Event, rv string) *metav1.Table {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, ColumnDefinitions: eventColumnDefinitions, Rows: []metav1.TableRow{}}
	t.ResourceVersion = rv
	now := time.Now()
	for i := range evs {
		e := &evs[i]
		src := e.Source.Component
		if e.Source.Host != "" {
			src += ", " + e.Source.Host
		}
		row := metav1.TableRow{Cells: []any{
			kubeprint.Since(e.LastTimestamp.Time, now), e.Type, e.Reason,
			"pod/" + e.InvolvedObject.Name, e.InvolvedObject.FieldPath, src, e.Message,
			kubeprint.Since(e.FirstTimestamp.Time, now), itoa(int(e.Count)), e.Name,
		}}
		if r.URL.Query().Get("includeObject") != "None" {
			b, _ := json.Marshal(map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": e.ObjectMeta})
			row.Object = runtime.RawExtension{Raw: b}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
