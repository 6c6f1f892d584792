package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// out is the pod as the API serves it: typed, and bound to this node as the scheduler would
// have bound it (spec.nodeName), which describe and -o wide show.
func (s *Server) out(p *api.Pod) *api.Pod {
	c := *p
	c.APIVersion, c.Kind = "v1", "Pod"
	if c.Spec.NodeName == "" {
		c.Spec.NodeName = s.node
	}
	return &c
}

// podList is a v1 PodList.
type podList struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   metav1.ListMeta `json:"metadata"`
	Items      []*api.Pod      `json:"items"`
}

func (s *Server) getPod(w http.ResponseWriter, r *http.Request) {
	p, _ := s.store.get(r.PathValue("ns"), r.PathValue("name"))
	if p == nil {
		writeError(w, errNotFound(podsResource, r.PathValue("name")))
		return
	}
	if wantsTable(r) {
		s.writeTable(w, r, []*api.Pod{p}, state.FormatRV(s.store.currentRV()))
		return
	}
	writeJSON(w, http.StatusOK, s.out(p))
}

// podFields are the fields a pod field selector may name (pkg/registry/core/pod/strategy.go
// ToSelectableFields).
func podFields(p *api.Pod, node string) fields.Set {
	nodeName := p.Spec.NodeName
	if nodeName == "" {
		nodeName = node
	}
	ips := ""
	for i, ip := range p.Status.PodIPs {
		if i > 0 {
			ips += ","
		}
		ips += ip.IP
	}
	return fields.Set{
		"metadata.name":            p.Metadata.Name,
		"metadata.namespace":       p.Metadata.Namespace,
		"spec.nodeName":            nodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.podIPs":            ips,
		"status.nominatedNodeName": "",
	}
}

// selectors parses labelSelector and fieldSelector; a field the resource cannot select by is
// refused as the API server refuses it.
func selectors(r *http.Request, known fields.Set) (labels.Selector, fields.Selector, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, nil, errBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return nil, nil, errBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	for _, req := range fs.Requirements() {
		if _, ok := known[req.Field]; !ok {
			return nil, nil, errBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return ls, fs, nil
}

func (s *Server) podMatcher(r *http.Request) (func(*api.Pod) bool, error) {
	ls, fs, err := selectors(r, podFields(&api.Pod{}, ""))
	if err != nil {
		return nil, err
	}
	ns := r.PathValue("ns")
	return func(p *api.Pod) bool {
		return (ns == "" || p.Metadata.Namespace == ns) &&
			ls.Matches(labels.Set(p.Metadata.Labels)) && fs.Matches(podFields(p, s.node))
	}, nil
}

func (s *Server) listPods(w http.ResponseWriter, r *http.Request) {
	match, err := s.podMatcher(r)
	if err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	if q.Get("watch") == "true" || q.Get("watch") == "1" {
		s.watch(w, r, watchPods(match))
		return
	}
	all, rv := s.store.list(r.PathValue("ns"))
	if err := checkListRV(q, rv); err != nil {
		writeError(w, err)
		return
	}
	items := []*api.Pod{}
	for _, p := range all {
		if match(p) {
			items = append(items, p)
		}
	}
	if wantsTable(r) {
		s.writeTable(w, r, items, state.FormatRV(rv))
		return
	}
	l := &podList{APIVersion: "v1", Kind: "PodList", Metadata: metav1.ListMeta{ResourceVersion: state.FormatRV(rv)}, Items: make([]*api.Pod, len(items))}
	for i, p := range items {
		l.Items[i] = s.out(p)
	}
	writeJSON(w, http.StatusOK, l)
}

// checkListRV applies a list's resourceVersion and resourceVersionMatch as the API server's
// watch cache does: the list is always the latest state, which is never older than asked for;
// an Exact version other than the latest is compacted history (410).
func checkListRV(q map[string][]string, current uint64) error {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	rvs, match := get("resourceVersion"), get("resourceVersionMatch")
	rv, err := state.ParseRV(rvs)
	if err != nil {
		return errBadRequest(fmt.Sprintf("invalid resource version: %s", rvs))
	}
	switch match {
	case "", "NotOlderThan":
		if match != "" && rvs == "" {
			return errBadRequest("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
		}
		if rv > current {
			return newStatus(http.StatusGatewayTimeout, metav1.StatusReasonTimeout,
				fmt.Sprintf("Timeout: Too large resource version: %d, current: %d", rv, current), &metav1.StatusDetails{RetryAfterSeconds: 1})
		}
	case "Exact":
		if rv != current {
			return errGone(fmt.Sprintf("too old resource version: %d (%d)", rv, current))
		}
	default:
		return errBadRequest(fmt.Sprintf("resourceVersionMatch: Unsupported value: %q: supported values: \"Exact\", \"NotOlderThan\"", match))
	}
	return nil
}

// readBody reads a request body within the API server's 3 MiB limit.
func readBody(r *http.Request) ([]byte, error) {
	b, err := api.ReadInput(r.Body, "request body")
	if err != nil {
		return nil, newStatus(http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge, err.Error(), nil)
	}
	return b, nil
}

// fieldValidation returns the request's fieldValidation (the API server's default: Warn).
func fieldValidation(r *http.Request) (string, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "":
		return "Warn", nil
	case "Strict", "Warn", "Ignore":
		return v, nil
	default:
		return "", errBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %s", v))
	}
}

// decodePod decodes a pod from a request body as the API server's strict decoder does,
// validating and defaulting it with minipod's rules (package api). Unknown fields fail with
// Strict, are named in Warning headers with Warn, and dropped with Ignore.
func decodePod(w http.ResponseWriter, r *http.Request, body []byte) (*api.Pod, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/yaml") && !strings.HasPrefix(ct, "application/merge-patch") && !strings.HasPrefix(ct, "application/strategic-merge-patch") && !strings.HasPrefix(ct, "application/json-patch") && !strings.HasPrefix(ct, "application/apply-patch") {
		return nil, errUnsupportedMediaType(ct)
	}
	fv, err := fieldValidation(r)
	if err != nil {
		return nil, err
	}
	p, unknown, err := api.LoadLenient(body, true)
	if err != nil {
		var ie *api.InvalidError
		if errors.As(err, &ie) {
			name := rawName(body)
			return nil, errInvalid("Pod", name, ie.Errs)
		}
		return nil, errBadRequest(err.Error())
	}
	if len(unknown) > 0 {
		quoted := make([]string, len(unknown))
		for i, u := range unknown {
			quoted[i] = fmt.Sprintf("unknown field %q", u)
		}
		switch fv {
		case "Strict":
			return nil, errBadRequest("strict decoding error: " + strings.Join(quoted, ", "))
		case "Warn":
			for _, q := range quoted {
				addWarning(w, q)
			}
		}
	}
	return p, nil
}

// rawName reads metadata.name and metadata.namespace as given, before defaults.
func rawMeta(body []byte) (name, namespace string) {
	var m struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	yaml.Unmarshal(body, &m)
	return m.Metadata.Name, m.Metadata.Namespace
}

func rawName(body []byte) string { n, _ := rawMeta(body); return n }

// addWarning adds a Warning header as the API server does (299, agent "-").
func addWarning(w http.ResponseWriter, msg string) {
	w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
}

func dryRun(r *http.Request) (bool, error) {
	for _, v := range r.URL.Query()["dryRun"] {
		if v != "All" {
			return false, errBadRequest(fmt.Sprintf("dryRun: Unsupported value: %q: supported values: \"All\"", v))
		}
		return true, nil
	}
	return false, nil
}

func (s *Server) createPod(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ns := r.PathValue("ns")
	body, err := readObject(r)
	if err != nil {
		writeError(w, err)
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	_, rawNS := rawMeta(body)
	if rawNS != "" && rawNS != ns {
		writeError(w, errBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	p, err := decodePod(w, r, body)
	if err != nil {
		writeError(w, err)
		return
	}
	p.Metadata.Namespace = ns
	p.Metadata.UID, p.Metadata.CreationTimestamp = "", nil
	for _, warn := range api.Warnings(p) {
		addWarning(w, warn)
	}
	if dry {
		if cur, _ := s.store.get(ns, p.Metadata.Name); cur != nil {
			writeError(w, errAlreadyExists(podsResource, p.Metadata.Name))
			return
		}
		p.Metadata.UID = state.NewUID()
		now := api.NewTime(time.Now())
		p.Metadata.CreationTimestamp = &now
		p.Status = api.PodStatus{Phase: api.PodPending, QOSClass: api.ComputePodQOS(&p.Spec)}
		writeJSON(w, http.StatusCreated, s.out(p))
		return
	}
	h, err := pods.Create(s.cfg, p)
	var rejected *pods.RejectedError
	switch {
	case errors.As(err, &rejected):
		// The kubelet rejected it: the pod exists, Failed, as in a cluster.
		writeJSON(w, http.StatusCreated, s.out(s.store.created(rejected.Pod, start)))
		return
	case errors.Is(err, pods.ErrPodExists):
		writeError(w, errAlreadyExists(podsResource, p.Metadata.Name))
		return
	case err != nil:
		writeError(w, errInternal(err))
		return
	}
	s.log.Info("pod created", "pod", ns+"/"+p.Metadata.Name, "uid", h.Pod.Metadata.UID)
	created := s.store.created(&h.Pod, start)
	writeJSON(w, http.StatusCreated, s.out(created))
}

// deleteOptions reads DeleteOptions from the body or the query.
func deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	o := &metav1.DeleteOptions{}
	body, err := readObject(r)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := yaml.UnmarshalStrict(body, o); err != nil {
			return nil, errBadRequest(fmt.Sprintf("invalid delete options: %v", err))
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		g, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errBadRequest(fmt.Sprintf("gracePeriodSeconds: %v", err))
		}
		o.GracePeriodSeconds = &g
	}
	if v := q.Get("propagationPolicy"); v != "" {
		pp := metav1.DeletionPropagation(v)
		o.PropagationPolicy = &pp
	}
	if len(q["dryRun"]) > 0 {
		o.DryRun = q["dryRun"]
	}
	if o.PropagationPolicy != nil {
		switch *o.PropagationPolicy {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return nil, errBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q", *o.PropagationPolicy))
		}
	}
	if g := o.GracePeriodSeconds; g != nil && *g < 0 {
		// The API server treats a negative grace period as the pod's own (rest.BeforeDelete).
		o.GracePeriodSeconds = nil
	}
	return o, nil
}

// deletePod deletes a pod gracefully (pkg/registry/core/pod/strategy.go CheckGracefulDelete):
// it is marked with deletionTimestamp, stopped within its grace period, and goes once
// stopped; a pod that is not running goes at once. The answer is the pod as marked.
// Dependents (propagationPolicy) there are none.
func (s *Server) deletePod(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	o, err := deleteOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	p, _ := s.store.get(ns, name)
	if p == nil {
		writeError(w, errNotFound(podsResource, name))
		return
	}
	if pre := o.Preconditions; pre != nil {
		if pre.UID != nil && string(*pre.UID) != p.Metadata.UID {
			writeError(w, errConflict(podsResource, name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *pre.UID, p.Metadata.UID)))
			return
		}
		if pre.ResourceVersion != nil && *pre.ResourceVersion != p.Metadata.ResourceVersion {
			writeError(w, errConflict(podsResource, name, fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", *pre.ResourceVersion, p.Metadata.ResourceVersion)))
			return
		}
	}
	grace := int64(30)
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	if o.GracePeriodSeconds != nil {
		grace = *o.GracePeriodSeconds
	}
	if prev := p.Metadata.DeletionGracePeriodSeconds; prev != nil && *prev < grace {
		grace = *prev // a later delete may only shorten the grace period
	}
	out := s.out(p)
	if out.Metadata.DeletionTimestamp == nil || o.GracePeriodSeconds != nil {
		t := api.NewTime(time.Now().Add(time.Duration(grace) * time.Second))
		out.Metadata.DeletionTimestamp = &t
		out.Metadata.DeletionGracePeriodSeconds = &grace
	}
	if len(o.DryRun) > 0 {
		writeJSON(w, http.StatusOK, out)
		return
	}
	if err := pods.Delete(s.cfg, ns, name, &grace, false); err != nil {
		if errors.Is(err, pods.ErrPodNotFound) {
			writeError(w, errNotFound(podsResource, name))
			return
		}
		writeError(w, errInternal(err))
		return
	}
	s.log.Info("pod deleted", "pod", ns+"/"+name, "grace", grace)
	writeJSON(w, http.StatusOK, out)
}

// readAll reads a small request body.
func readAll(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, api.MaxInputSize)) }
