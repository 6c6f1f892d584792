package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// EphemeralContainer is a Kubernetes v1 EphemeralContainer: a container added to a running
// pod (kubectl debug), never restarted, never part of the pod's phase or readiness. Its
// EphemeralContainerCommon has a Container's fields, of which validation allows a subset.
type EphemeralContainer struct {
	Container `json:",inline"`
	// TargetContainerName names the init or regular container whose PID namespace the
	// ephemeral container joins (when the pod does not share one PID namespace).
	TargetContainerName string `json:"targetContainerName,omitempty"`
}

// MirrorPodAnnotationKey marks a static pod's mirror pod, which takes no ephemeral
// containers.
const MirrorPodAnnotationKey = "kubernetes.io/config.mirror"

// setEphemeralDefaults is SetDefaults_EphemeralContainer: a Container's defaults.
func setEphemeralDefaults(s *PodSpec) {
	for i := range s.EphemeralContainers {
		setContainerDefaults(&s.EphemeralContainers[i].Container)
	}
}

// forbidEphemeralOnCreate is ValidatePodCreate's rule: ephemeral containers are only ever
// added through the ephemeralcontainers subresource of a pod that exists.
func forbidEphemeralOnCreate(p *Pod) field.ErrorList {
	if len(p.Spec.EphemeralContainers) == 0 {
		return nil
	}
	return field.ErrorList{field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "cannot be set on create")}
}

// validateEphemeralContainers is the API server's validateEphemeralContainers
// (pkg/apis/core/validation/validation.go): the rules all containers share, a name unique
// among every container of the pod (names holds the init and regular ones), a target that is
// an init or regular container, only the fields EphemeralContainerCommon may set
// (allowedEphemeralContainerFields), and no subPath.
func validateEphemeralContainers(s *PodSpec, volumes, names map[string]bool, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	targets := map[string]bool{}
	for _, list := range [][]Container{s.InitContainers, s.Containers} {
		for _, c := range list {
			targets[c.Name] = true
		}
	}
	for i := range s.EphemeralContainers {
		ec, idx := &s.EphemeralContainers[i], fp.Index(i)
		errs = append(errs, validateContainerCommon(&ec.Container, volumes, names, idx)...)
		if t := ec.TargetContainerName; t != "" && !targets[t] {
			errs = append(errs, field.NotFound(idx.Child("targetContainerName"), t))
		}
		errs = append(errs, forbidEphemeralFields(&ec.Container, idx)...)
		for j, m := range ec.VolumeMounts {
			// Subpaths are bind mounts that would outlive the container until the pod ends.
			if m.SubPath != "" {
				errs = append(errs, field.Forbidden(idx.Child("volumeMounts").Index(j).Child("subPath"), ephemeralForbidden))
			}
		}
	}
	return errs
}

const ephemeralForbidden = "cannot be set for an Ephemeral Container"

// forbidEphemeralFields is validateFieldAllowList with allowedEphemeralContainerFields: the
// fields an ephemeral container may not set, in the order of EphemeralContainerCommon.
func forbidEphemeralFields(c *Container, idx *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"ports", len(c.Ports) > 0},
		{"resources", !reflect.ValueOf(c.Resources).IsZero()},
		{"resizePolicy", len(c.ResizePolicy) > 0},
		{"restartPolicy", c.RestartPolicy != nil},
		{"livenessProbe", c.LivenessProbe != nil},
		{"readinessProbe", c.ReadinessProbe != nil},
		{"startupProbe", c.StartupProbe != nil},
		{"lifecycle", c.Lifecycle != nil},
	} {
		if f.set {
			errs = append(errs, field.Forbidden(idx.Child(f.name), ephemeralForbidden))
		}
	}
	return errs
}

// ephemeralAsContainers returns the containers of a pod's ephemeral containers, for the rules
// that treat every container alike.
func ephemeralAsContainers(s *PodSpec) []Container {
	var out []Container
	for i := range s.EphemeralContainers {
		out = append(out, s.EphemeralContainers[i].Container)
	}
	return out
}

// ValidateEphemeralContainersUpdate checks an update of a pod's ephemeral containers as the API
// server checks a write to the pods/ephemeralcontainers subresource
// (ValidatePodEphemeralContainersUpdate): the new pod is valid as a whole, a static pod takes
// none, and existing ephemeral containers are neither removed nor changed. newPod must differ
// from oldPod only in spec.ephemeralContainers (the subresource drops other changes). It
// returns an *InvalidError or nil.
func ValidateEphemeralContainersUpdate(newPod, oldPod *Pod) error {
	if _, ok := oldPod.Metadata.Annotations[MirrorPodAnnotationKey]; ok {
		errs := &InvalidError{}
		errs.add(field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers"))
		return errs
	}
	errs := &InvalidError{}
	errs.add(validateMeta(&newPod.Metadata, field.NewPath("metadata"))...)
	errs.add(validateSpec(&newPod.Spec, field.NewPath("spec"))...)
	errs.add(validateSecurity(newPod)...)
	fp := field.NewPath("spec", "ephemeralContainers")
	byName := map[string]*EphemeralContainer{}
	for i := range newPod.Spec.EphemeralContainers {
		byName[newPod.Spec.EphemeralContainers[i].Name] = &newPod.Spec.EphemeralContainers[i]
	}
	for i := range oldPod.Spec.EphemeralContainers {
		old := &oldPod.Spec.EphemeralContainers[i]
		switch n := byName[old.Name]; {
		case n == nil:
			errs.add(field.Forbidden(fp, fmt.Sprintf("existing ephemeral containers %q may not be removed", old.Name)))
		case !reflect.DeepEqual(old, n):
			errs.add(field.Forbidden(fp, fmt.Sprintf("existing ephemeral containers %q may not be changed", old.Name)))
		}
	}
	return errs.orNil()
}

// DecodeEphemeralContainer decodes one EphemeralContainer in Kubernetes' JSON shape, as the
// API server decodes a write to pods/ephemeralcontainers with strict field validation:
// unknown fields, fields minipod does not support and ill-typed values are refused, each
// named by its path as the container's (spec.ephemeralContainers[index]). The container is
// defaulted, not validated (see ValidateEphemeralContainersUpdate). Errors are *InvalidError.
func DecodeEphemeralContainer(data []byte, index int) (*EphemeralContainer, error) {
	fp := field.NewPath("spec", "ephemeralContainers").Index(index)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.Decode(new(any)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return nil, invalidInput("%s: %v", fp, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		errs := &InvalidError{}
		errs.add(typeError(fp, v, "an object"))
		return nil, errs
	}
	const pattern = "spec.ephemeralContainers[]"
	c := &fieldChecker{}
	known := knownFields().child("spec").child("ephemeralContainers").child("[]")
	supported := supportedFields().child("spec").child("ephemeralContainers").child("[]")
	c.checkObject(obj, known, supported, fp, pattern)
	if len(c.errs) > 0 {
		return nil, &InvalidError{Errs: c.errs}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, invalidInput("%s: re-encoding: %v", fp, err)
	}
	sd := json.NewDecoder(bytes.NewReader(b))
	sd.DisallowUnknownFields()
	ec := &EphemeralContainer{}
	if err := sd.Decode(ec); err != nil {
		return nil, invalidInput("%s: decoding: %v", fp, err)
	}
	setContainerDefaults(&ec.Container)
	return ec, nil
}
