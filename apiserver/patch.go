package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/state"
)

// Updates (PUT) and patches (JSON patch, merge patch, strategic merge patch, apply) of a pod,
// within what the API server lets a pod update change (pkg/apis/core/validation
// ValidatePodUpdate) and what minipod can honour: labels and annotations, which the pod's
// monitor writes into its status (monitorapi setMetadata). The API server also lets an update
// change container images (the kubelet then restarts the container with the new image),
// lower activeDeadlineSeconds and add tolerations; minipod refuses those with Forbidden, as
// the monitor cannot do them yet.
//
// Server-side apply is served as a strategic merge of the applied configuration, without
// managed fields: what an apply sets is set, but fields an earlier apply set and this one
// leaves out are not removed.

// podUpdateForbidden is ValidatePodUpdate's message for a spec change it does not allow.
const podUpdateForbidden = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

func (s *Server) patchPod(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	cur, _ := s.store.get(ns, name)
	if cur == nil {
		if ct == "application/apply-patch+yaml" {
			// An apply creates what does not exist.
			r.Header.Set("Content-Type", "application/yaml")
			if rn, _ := rawMeta(body); rn != name {
				writeError(w, errBadRequest(fmt.Sprintf("metadata.name: Invalid value: %q: the name of the object (%s) does not match the name on the URL (%s)", rn, rn, name)))
				return
			}
			s.createPod(w, r)
			return
		}
		writeError(w, errNotFound(podsResource, name))
		return
	}
	if patched, ok := s.patchedPod(w, r, cur, body); ok {
		s.update(w, r, cur, patched)
	}
}

func (s *Server) updatePod(w http.ResponseWriter, r *http.Request) {
	if cur, body, ok := s.podToReplace(w, r); ok {
		s.update(w, r, cur, body)
	}
}

// patchedPod is the pod as served with the request's patch applied (of pods and of
// pods/ephemeralcontainers); false: the error is written.
func (s *Server) patchedPod(w http.ResponseWriter, r *http.Request, cur *api.Pod, body []byte) ([]byte, bool) {
	orig, err := json.Marshal(s.out(cur))
	if err != nil {
		writeError(w, errInternal(err))
		return nil, false
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	patched, err := applyPatch(ct, body, corev1.Pod{}, orig)
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	return patched, true
}

// podToReplace reads a PUT's object and the pod it replaces, which must exist and have the
// URL's name and namespace; false: the error is written.
func (s *Server) podToReplace(w http.ResponseWriter, r *http.Request) (*api.Pod, []byte, bool) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	body, err := readObject(r)
	if err != nil {
		writeError(w, err)
		return nil, nil, false
	}
	cur, _ := s.store.get(ns, name)
	if cur == nil {
		writeError(w, errNotFound(podsResource, name))
		return nil, nil, false
	}
	if rn, rns := rawMeta(body); rn != name || (rns != "" && rns != ns) {
		writeError(w, errBadRequest("the name or namespace of the object does not match the request"))
		return nil, nil, false
	}
	return cur, body, true
}

// update applies a new version of the pod (the whole object) if only what may change changed.
func (s *Server) update(w http.ResponseWriter, r *http.Request, cur *api.Pod, body []byte) {
	name := cur.Metadata.Name
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var meta struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	yaml.Unmarshal(body, &meta)
	if rv := meta.Metadata.ResourceVersion; rv != "" && rv != cur.Metadata.ResourceVersion {
		writeError(w, errConflict(podsResource, name, "the object has been modified; please apply your changes to the latest version and try again"))
		return
	}
	next, err := decodePod(w, r, body)
	if err != nil {
		writeError(w, err)
		return
	}
	if next.Spec.NodeName == s.node && cur.Spec.NodeName == "" {
		next.Spec.NodeName = ""
	}
	var errs []api.FieldError
	immutable := func(field string, a, b string) {
		if a != b {
			errs = append(errs, api.FieldError{Field: field, Detail: fmt.Sprintf("Invalid value: %q: field is immutable", b)})
		}
	}
	immutable("metadata.namespace", cur.Metadata.Namespace, next.Metadata.Namespace)
	if next.Metadata.UID != "" {
		immutable("metadata.uid", cur.Metadata.UID, next.Metadata.UID)
	}
	if !reflect.DeepEqual(cur.Spec, next.Spec) {
		errs = append(errs, specChangeErrors(&cur.Spec, &next.Spec)...)
	}
	if len(errs) > 0 {
		writeError(w, errInvalid("Pod", name, errs))
		return
	}
	if maps.Equal(cur.Metadata.Labels, next.Metadata.Labels) && maps.Equal(cur.Metadata.Annotations, next.Metadata.Annotations) {
		writeJSON(w, http.StatusOK, s.out(cur))
		return
	}
	if dry {
		out := s.out(cur)
		out.Metadata.Labels, out.Metadata.Annotations = next.Metadata.Labels, next.Metadata.Annotations
		writeJSON(w, http.StatusOK, out)
		return
	}
	if err := s.setMetadata(cur, next.Metadata.Labels, next.Metadata.Annotations); err != nil {
		writeError(w, err)
		return
	}
	p := s.awaitMetadata(cur, next.Metadata.Labels, next.Metadata.Annotations)
	writeJSON(w, http.StatusOK, s.out(p))
}

// specChangeErrors says why a spec change is refused: Kubernetes' message for what it never
// allows, minipod's for what Kubernetes allows and minipod cannot do yet.
func specChangeErrors(cur, next *api.PodSpec) []api.FieldError {
	// What Kubernetes allows, set back to compare the rest.
	munged := *next
	munged.Containers = append([]api.Container(nil), next.Containers...)
	munged.InitContainers = append([]api.Container(nil), next.InitContainers...)
	var errs []api.FieldError
	notYet := func(field string) {
		errs = append(errs, api.FieldError{Field: field, Detail: "Forbidden: minipod cannot change this in a running pod yet (the kubelet would restart the container with the new image)"})
	}
	for i := range munged.Containers {
		if i < len(cur.Containers) && munged.Containers[i].Image != cur.Containers[i].Image {
			notYet(fmt.Sprintf("spec.containers[%d].image", i))
			munged.Containers[i].Image = cur.Containers[i].Image
		}
	}
	for i := range munged.InitContainers {
		if i < len(cur.InitContainers) && munged.InitContainers[i].Image != cur.InitContainers[i].Image {
			notYet(fmt.Sprintf("spec.initContainers[%d].image", i))
			munged.InitContainers[i].Image = cur.InitContainers[i].Image
		}
	}
	if !reflect.DeepEqual(munged.ActiveDeadlineSeconds, cur.ActiveDeadlineSeconds) {
		errs = append(errs, api.FieldError{Field: "spec.activeDeadlineSeconds", Detail: "Forbidden: minipod cannot change the active deadline of a running pod yet"})
		munged.ActiveDeadlineSeconds = cur.ActiveDeadlineSeconds
	}
	if !reflect.DeepEqual(munged, *cur) {
		errs = append(errs, api.FieldError{Field: "spec", Detail: "Forbidden: " + podUpdateForbidden + "\n" + cmp.Diff(*cur, munged)})
	}
	return errs
}

// setMetadata has the pod's monitor write the new labels and annotations; a pod whose monitor
// has ended has its status file rewritten here, under the pod's lock so that no monitor
// starts meanwhile.
func (s *Server) setMetadata(p *api.Pod, labels, annotations map[string]string) error {
	dir := s.cfg.PodDir(p.Metadata.Namespace, p.Metadata.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := monitorapi.NewClient(dir).SetMetadata(ctx, monitorapi.Metadata{Labels: labels, Annotations: annotations})
	if err == nil || !monitorapi.IsKind(err, monitorapi.Unavailable) {
		if err != nil {
			return fromMonitor(err, p.Metadata.Name)
		}
		return nil
	}
	f, err := os.Open(filepath.Join(dir, state.LockFile))
	if err != nil {
		return errNotFound(podsResource, p.Metadata.Name)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errConflict(podsResource, p.Metadata.Name, "the pod's monitor is starting or stopping; try again")
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	st, err := state.ReadStatus(dir)
	if err != nil {
		return errInternal(err)
	}
	if st.Metadata.UID != p.Metadata.UID {
		return errConflict(podsResource, p.Metadata.Name, "the object has been modified; please apply your changes to the latest version and try again")
	}
	st.Metadata.Labels, st.Metadata.Annotations = labels, annotations
	st.Metadata.ResourceVersion = state.FormatRV(s.clock.Next())
	if err := atomicfile.WriteJSON(filepath.Join(dir, state.StatusFile), st, 0o644); err != nil {
		return errInternal(err)
	}
	s.store.rescan()
	return nil
}

// awaitMetadata waits until the store has the pod with the new metadata (its monitor's next
// status), at most a few seconds.
func (s *Server) awaitMetadata(p *api.Pod, labels, annotations map[string]string) *api.Pod {
	deadline := time.After(5 * time.Second)
	for {
		cur, changed := s.store.get(p.Metadata.Namespace, p.Metadata.Name)
		if cur == nil || cur.Metadata.UID != p.Metadata.UID {
			return p
		}
		if maps.Equal(cur.Metadata.Labels, labels) && maps.Equal(cur.Metadata.Annotations, annotations) {
			return cur
		}
		select {
		case <-changed:
		case <-deadline:
			return cur
		}
	}
}

// patcher returns what applies a patch of content type ct to an object's JSON, as the API
// server's patch handler (k8s.io/apiserver pkg/endpoints/handlers/patch.go) picks one per
// type; schema is the typed object a strategic merge follows. A patch that cannot be read is
// BadRequest, an unknown type UnsupportedMediaType, and one that does not apply Invalid.
func patcher(ct string, body []byte, schema any) (func(orig []byte) ([]byte, error), error) {
	var apply func(orig []byte) ([]byte, error)
	switch ct {
	case "application/json-patch+json":
		p, err := jsonpatch.DecodePatch(body)
		if err != nil {
			return nil, errBadRequest(err.Error())
		}
		apply = p.Apply
	case "application/merge-patch+json":
		apply = func(orig []byte) ([]byte, error) { return jsonpatch.MergePatch(orig, body) }
	case "application/strategic-merge-patch+json":
		apply = func(orig []byte) ([]byte, error) { return strategicpatch.StrategicMergePatch(orig, body, schema) }
	case "application/apply-patch+yaml":
		js, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, errBadRequest(err.Error())
		}
		apply = func(orig []byte) ([]byte, error) { return strategicpatch.StrategicMergePatch(orig, js, schema) }
	default:
		return nil, errUnsupportedMediaType(ct)
	}
	return func(orig []byte) ([]byte, error) {
		b, err := apply(orig)
		if err != nil {
			return nil, newStatus(http.StatusUnprocessableEntity, "Invalid", fmt.Sprintf("the request is invalid: %v", err), nil)
		}
		return b, nil
	}, nil
}

// applyPatch applies a patch of content type ct to orig at once (see patcher).
func applyPatch(ct string, body []byte, schema any, orig []byte) ([]byte, error) {
	patch, err := patcher(ct, body, schema)
	if err != nil {
		return nil, err
	}
	return patch(orig)
}
