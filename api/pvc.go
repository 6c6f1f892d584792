package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// k8sPVCFields lists every JSON field path of core/v1 PersistentVolumeClaim, generated from
// k8s.io/api by TestKnownPVCFieldsUpToDate (as k8s_pod_fields.txt is for the Pod).
//
//go:embed k8s_pvc_fields.txt
var k8sPVCFields string

var (
	knownPVCFields     = sync.OnceValue(func() *fieldNode { return listedFields(k8sPVCFields) })
	supportedPVCFields = sync.OnceValue(func() *fieldNode { return typeFields(reflect.TypeFor[PersistentVolumeClaim]()) })
)

// LoadPersistentVolumeClaim decodes one PersistentVolumeClaim document (YAML or JSON) as Load
// decodes a Pod: unknown and unsupported fields refused with their paths, status ignored,
// Kubernetes' defaults applied, validated as the API server validates a claim. It is what a
// multi-document `minipod run` calls for `kind: PersistentVolumeClaim`, before
// volume.Claims.Create. On failure the error is an *InvalidError.
//
// Supported: metadata (name, namespace, labels, annotations), spec.accessModes,
// spec.resources, spec.storageClassName (kept, not used: one host has one kind of storage)
// and spec.volumeMode Filesystem. selector, volumeName, dataSource and dataSourceRef choose or
// fill a PersistentVolume, of which one host has none: "not supported yet".
func LoadPersistentVolumeClaim(data []byte) (*PersistentVolumeClaim, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, invalidInput("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidInput("%v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalidInput("manifest is %s, expected a PersistentVolumeClaim object", describe(v))
	}
	errs := &InvalidError{}
	errs.add(checkKind(obj, "PersistentVolumeClaim")...)
	if len(errs.Errs) > 0 {
		return nil, errs
	}
	c := &fieldChecker{}
	c.checkObject(obj, knownPVCFields(), supportedPVCFields(), nil, "")
	for _, fe := range c.errs {
		fe.Detail = strings.Replace(fe.Detail, "not a Kubernetes Pod field", "not a Kubernetes PersistentVolumeClaim field", 1)
		errs.Errs = append(errs.Errs, fe)
	}
	if c.typeErrs {
		return nil, errs
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, invalidInput("re-encoding manifest: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	pvc := &PersistentVolumeClaim{}
	if err := d.Decode(pvc); err != nil {
		return nil, invalidInput("decoding manifest: %v", err)
	}
	// Server-set fields, which the API server ignores on create.
	pvc.Status = PersistentVolumeClaimStatus{}
	pvc.Metadata.UID = ""
	pvc.Metadata.CreationTimestamp = nil
	pvc.Metadata.DeletionTimestamp = nil
	pvc.Metadata.DeletionGracePeriodSeconds = nil
	setClaimDefaults(pvc)
	if err := ValidatePersistentVolumeClaim(pvc); err != nil {
		errs.Errs = append(errs.Errs, err.(*InvalidError).Errs...)
	}
	if err := errs.orNil(); err != nil {
		return nil, err
	}
	return pvc, nil
}

// checkKind is checkTypeMeta for another kind of object of core/v1.
func checkKind(obj map[string]any, kind string) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct{ name, want string }{{"apiVersion", "v1"}, {"kind", kind}} {
		p := field.NewPath(f.name)
		switch v, ok := obj[f.name].(string); {
		case obj[f.name] == nil, ok && v == "":
			errs = append(errs, field.Required(p, ""))
		case !ok:
			errs = append(errs, typeError(p, obj[f.name], "a string"))
		case v != f.want:
			errs = append(errs, field.NotSupported(p, v, []string{f.want}))
		}
	}
	return errs
}
