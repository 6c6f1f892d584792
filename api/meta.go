package api

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// OwnerReference is metadata.ownerReferences[]: kept and shown, but nothing acts on it:
// no garbage collector runs on one host (see Warnings).
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// ManagedFieldsEntry is metadata.managedFields[], which the API server's field manager
// writes. minipod has no field manager: accepted in input and dropped.
type ManagedFieldsEntry struct {
	Manager     string          `json:"manager,omitempty"`
	Operation   string          `json:"operation,omitempty"`
	APIVersion  string          `json:"apiVersion,omitempty"`
	Time        *Time           `json:"time,omitempty"`
	FieldsType  string          `json:"fieldsType,omitempty"`
	FieldsV1    json.RawMessage `json:"fieldsV1,omitempty"`
	Subresource string          `json:"subresource,omitempty"`
}

// The API server's names.SimpleNameGenerator (k8s.io/apiserver/pkg/storage/names): the
// prefix, cut to leave room, and 5 random characters of utilrand's alphabet.
const (
	maxNameLength          = 63
	randomLength           = 5
	maxGeneratedNameLength = maxNameLength - randomLength
)

// nameAlphabet is apimachinery's util/rand alphabet (no vowels, no confusable characters);
// copied rather than imported to keep that package's generator out of the monitor.
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// GenerateName is SimpleNameGenerator.GenerateName.
func GenerateName(base string) string {
	if len(base) > maxGeneratedNameLength {
		base = base[:maxGeneratedNameLength]
	}
	b := []byte(base)
	for range randomLength {
		b = append(b, nameAlphabet[rand.IntN(len(nameAlphabet))])
	}
	return string(b)
}

// validGroupVersion is schema.ParseGroupVersion's rule with a version required: "v1" or
// "group/v1".
func validGroupVersion(s string) bool {
	parts := strings.Split(s, "/")
	return len(parts) <= 2 && parts[len(parts)-1] != ""
}

// prepareMetaForCreate does to the metadata of a pod to create what the API server does
// (the create handler, rest.BeforeCreate, the pod strategy's PrepareForCreate), so that the
// output of `kubectl get pod -o yaml` or `minipod get pod -o yaml` runs again:
//   - a name is generated from generateName when none is given;
//   - resourceVersion, selfLink, generation and managedFields, which the server sets, are
//     dropped: minipod tracks none of them. (The API server refuses a resourceVersion on
//     create; minipod ignores it, so that such output runs as it is, as podman kube play does.)
//   - uid and creationTimestamp are overwritten by pods.Create (FillObjectMetaSystemFields).
//
// ownerReferences and finalizers are kept, as the API server keeps them.
func prepareMetaForCreate(m *ObjectMeta) {
	if m.Name == "" && m.GenerateName != "" {
		m.Name = GenerateName(m.GenerateName)
	}
	m.ResourceVersion, m.SelfLink, m.Generation, m.ManagedFields = "", "", 0, nil
}

// validateMetaExtra is the part of the API server's ValidateObjectMeta (apimachinery
// pkg/api/validation/objectmeta.go) about generateName, ownerReferences and finalizers.
func validateMetaExtra(m *ObjectMeta, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g := m.GenerateName; g != "" {
		// ValidatePodName with prefix: a trailing dash is masked (maskTrailingDash).
		masked := g
		if len(masked) > 1 && strings.HasSuffix(masked, "-") {
			masked = masked[:len(masked)-2] + "a"
		}
		errs = append(errs, invalidEach(fp.Child("generateName"), g, validation.IsDNS1123Subdomain(masked))...)
	}
	controller := ""
	op := fp.Child("ownerReferences")
	for i, r := range m.OwnerReferences {
		idx := op.Index(i)
		switch {
		case r.APIVersion == "":
			errs = append(errs, field.Required(idx.Child("apiVersion"), "must not be empty"))
		case !validGroupVersion(r.APIVersion):
			errs = append(errs, field.Invalid(idx.Child("apiVersion"), r.APIVersion, "must be <group>/<version> or <version>"))
		}
		for _, f := range []struct{ name, v string }{{"kind", r.Kind}, {"name", r.Name}, {"uid", r.UID}} {
			if f.v == "" {
				errs = append(errs, field.Required(idx.Child(f.name), "must not be empty"))
			}
		}
		if r.Controller != nil && *r.Controller {
			if cur := r.Kind + "/" + r.Name; controller != "" {
				errs = append(errs, field.Invalid(op, field.OmitValueType{}, fmt.Sprintf(
					"Only one reference can have Controller set to true. Found \"true\" in references for %v and %v", controller, cur)))
			} else {
				controller = cur
			}
		}
	}
	fin := fp.Child("finalizers")
	orphan, del := false, false
	for _, f := range m.Finalizers {
		errs = append(errs, invalidEach(fin, f, validation.IsQualifiedName(f))...)
		orphan = orphan || f == "orphan"
		del = del || f == "foregroundDeletion"
	}
	if orphan && del {
		errs = append(errs, field.Invalid(fin, field.OmitValueType{}, "finalizer orphan and foregroundDeletion cannot be both set"))
	}
	return errs
}

// metaWarning names the metadata minipod keeps but does not act on.
func metaWarning(m *ObjectMeta) string {
	var kept []string
	if len(m.OwnerReferences) > 0 {
		kept = append(kept, "metadata.ownerReferences")
	}
	if len(m.Finalizers) > 0 {
		kept = append(kept, "metadata.finalizers")
	}
	if len(kept) == 0 {
		return ""
	}
	return strings.Join(kept, ", ") + ": kept but not acted on: no garbage collector or controller runs on one host"
}
