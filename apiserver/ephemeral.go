package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
)

// pods/ephemeralcontainers, what `kubectl debug` writes to: get, patch and update, as the API
// server's EphemeralContainersREST (pkg/registry/core/pod/storage) with its strategy
// (podEphemeralContainersStrategy.PrepareForUpdate: of the new object only
// spec.ephemeralContainers is taken) and ValidatePodEphemeralContainersUpdate (containers
// may be added, never changed or removed). Each added container goes to the pod's monitor
// (monitorapi addEphemeralContainer), which records it and starts it in the pod.

func (s *Server) patchEphemeral(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	cur, _ := s.store.get(ns, name)
	if cur == nil {
		writeError(w, errNotFound(podsResource, name))
		return
	}
	if patched, ok := s.patchedPod(w, r, cur, body); ok {
		s.updateEphemeral(w, r, cur, patched)
	}
}

func (s *Server) putEphemeral(w http.ResponseWriter, r *http.Request) {
	if cur, body, ok := s.podToReplace(w, r); ok {
		s.updateEphemeral(w, r, cur, body)
	}
}

// updateEphemeral takes the ephemeral containers of the new pod (JSON or YAML), checks them
// against the pod's and adds the new ones, in order.
func (s *Server) updateEphemeral(w http.ResponseWriter, r *http.Request, cur *api.Pod, body []byte) {
	name := cur.Metadata.Name
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	js, err := yaml.YAMLToJSON(body)
	if err != nil {
		writeError(w, errBadRequest(err.Error()))
		return
	}
	var next struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Spec struct {
			EphemeralContainers []json.RawMessage `json:"ephemeralContainers"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(js, &next); err != nil {
		writeError(w, errBadRequest(fmt.Sprintf("decoding the pod: %v", err)))
		return
	}
	if rv := next.Metadata.ResourceVersion; rv != "" && rv != cur.Metadata.ResourceVersion {
		writeError(w, errConflict(podsResource, name, "the object has been modified; please apply your changes to the latest version and try again"))
		return
	}
	updated := *cur
	updated.Spec.EphemeralContainers = nil
	var added []json.RawMessage
	have := map[string]bool{}
	for _, ec := range cur.Spec.EphemeralContainers {
		have[ec.Name] = true
	}
	for i, raw := range next.Spec.EphemeralContainers {
		ec, err := api.DecodeEphemeralContainer(raw, i)
		if err != nil {
			writeError(w, invalidPod(name, err))
			return
		}
		updated.Spec.EphemeralContainers = append(updated.Spec.EphemeralContainers, *ec)
		if !have[ec.Name] {
			added = append(added, raw)
		}
	}
	if err := api.ValidateEphemeralContainersUpdate(&updated, cur); err != nil {
		writeError(w, invalidPod(name, err))
		return
	}
	if dry || len(added) == 0 {
		writeJSON(w, http.StatusOK, s.out(&updated))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	mc := monitorapi.NewClient(s.cfg.PodDir(cur.Metadata.Namespace, name))
	var p *api.Pod
	for _, raw := range added {
		if p, err = mc.AddEphemeralContainer(ctx, raw); err != nil {
			writeError(w, ephemeralError(err, name))
			return
		}
	}
	s.log.Info("ephemeral containers added", "pod", cur.Metadata.Namespace+"/"+name, "count", len(added))
	writeJSON(w, http.StatusOK, s.out(p))
}

// invalidPod is an Invalid status of the pod for an *api.InvalidError.
func invalidPod(name string, err error) error {
	var ie *api.InvalidError
	if errors.As(err, &ie) {
		return errInvalid("Pod", name, ie.Errs)
	}
	return errBadRequest(err.Error())
}

// ephemeralError maps the monitor's refusal of a container: Invalid keeps its causes.
func ephemeralError(err error, name string) error {
	var me *monitorapi.Error
	if errors.As(err, &me) && me.Kind == monitorapi.Invalid && len(me.Causes) > 0 {
		fes := make([]api.FieldError, len(me.Causes))
		for i, c := range me.Causes {
			fes[i] = api.FieldError{Field: c.Field, Detail: c.Message}
		}
		return errInvalid("Pod", name, fes)
	}
	return fromMonitor(err, name)
}
