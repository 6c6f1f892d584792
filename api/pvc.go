package api

import (
	_ "embed"
	"reflect"
	"strings"
	"sync"
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

// loadPersistentVolumeClaim decodes a PersistentVolumeClaim document (its apiVersion and kind
// checked by LoadObjects, the multi-document loader, whose kind registry holds it) as a Pod is
// decoded: unknown and unsupported fields refused with their paths, status ignored,
// Kubernetes' defaults applied, validated as the API server validates a claim. `minipod run`
// then makes its volume (volume.Claims.Create) before it starts pods.
//
// Supported: metadata (name, namespace, labels, annotations), spec.accessModes,
// spec.resources, spec.storageClassName (kept, not used: one host has one kind of storage)
// and spec.volumeMode Filesystem. selector, volumeName, dataSource and dataSourceRef choose or
// fill a PersistentVolume, of which one host has none: "not supported yet".
func loadPersistentVolumeClaim(obj map[string]any) (Object, error) {
	errs := &InvalidError{}
	c := &fieldChecker{}
	c.checkObject(obj, knownPVCFields(), supportedPVCFields(), nil, "")
	for _, fe := range c.errs {
		fe.Detail = strings.Replace(fe.Detail, "not a Kubernetes Pod field", "not a Kubernetes PersistentVolumeClaim field", 1)
		errs.Errs = append(errs.Errs, fe)
	}
	if c.typeErrs {
		return nil, errs
	}
	pvc := &PersistentVolumeClaim{}
	if err := strictDecode(obj, pvc); err != nil {
		return nil, err
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
