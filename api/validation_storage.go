package api

import (
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateStorageSources is the persistentVolumeClaim and image cases of the API server's
// validateVolumeSource (pkg/apis/core/validation/validation.go): at most one source per
// volume, a claimName, a reference and a known pullPolicy. sources counts the sources seen
// so far and is returned updated.
func validateStorageSources(v *Volume, idx *field.Path, sources int) (int, field.ErrorList) {
	var errs field.ErrorList
	if c := v.PersistentVolumeClaim; c != nil {
		cp := idx.Child("persistentVolumeClaim")
		if sources++; sources > 1 {
			errs = append(errs, field.Forbidden(cp, "may not specify more than 1 volume type"))
		} else if c.ClaimName == "" {
			errs = append(errs, field.Required(cp.Child("claimName"), ""))
		} else {
			// Kubernetes only requires a claimName here, but a claim that is not a valid
			// PersistentVolumeClaim name cannot exist; minipod creates the claim's volume, and
			// its name becomes a directory name.
			errs = append(errs, invalidEach(cp.Child("claimName"), c.ClaimName, validation.IsDNS1123Subdomain(c.ClaimName))...)
		}
	}
	if im := v.Image; im != nil {
		ip := idx.Child("image")
		if sources++; sources > 1 {
			errs = append(errs, field.Forbidden(ip, "may not specify more than 1 volume type"))
		} else {
			// validateImageVolumeSource.
			if im.Reference == "" {
				errs = append(errs, field.Required(ip.Child("reference"), ""))
			}
			errs = append(errs, validatePullPolicy(im.PullPolicy, ip.Child("pullPolicy"))...)
		}
	}
	return sources, errs
}

// validatePullPolicy is the API server's validatePullPolicy.
func validatePullPolicy(p PullPolicy, fp *field.Path) field.ErrorList {
	switch p {
	case PullAlways, PullIfNotPresent, PullNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fp, "")}
	}
	return field.ErrorList{field.NotSupported(fp, p, []PullPolicy{PullAlways, PullIfNotPresent, PullNever})}
}

var accessModes = []PersistentVolumeAccessMode{ReadOnlyMany, ReadWriteMany, ReadWriteOnce, ReadWriteOncePod}

// ValidatePersistentVolumeClaim checks a defaulted claim as the API server does
// (ValidatePersistentVolumeClaim and ValidatePersistentVolumeClaimSpec), with its messages: a
// DNS-1123 subdomain name in a namespace, at least one known access mode (ReadWriteOncePod
// alone), a positive storage request. It returns an *InvalidError or nil.
func ValidatePersistentVolumeClaim(c *PersistentVolumeClaim) error {
	errs := &InvalidError{}
	errs.add(validateMeta(&c.Metadata, field.NewPath("metadata"))...)
	sp := field.NewPath("spec")
	am := sp.Child("accessModes")
	if len(c.Spec.AccessModes) == 0 {
		errs.add(field.Required(am, "at least 1 access mode is required"))
	}
	rwop := false
	for _, m := range c.Spec.AccessModes {
		switch m {
		case ReadWriteOncePod:
			rwop = true
		case ReadOnlyMany, ReadWriteMany, ReadWriteOnce:
		default:
			errs.add(field.NotSupported(am, m, accessModes))
		}
	}
	if rwop && len(c.Spec.AccessModes) > 1 {
		errs.add(field.Forbidden(am, "may not use ReadWriteOncePod with other access modes"))
	}
	rp := sp.Child("resources").Key(ResourceStorage)
	if q, ok := c.Spec.Resources.Requests[ResourceStorage]; !ok {
		errs.add(field.Required(rp, ""))
	} else if q.Cmp(resource.Quantity{}) <= 0 {
		// ValidatePositiveQuantityValue (a negative one is also not non-negative).
		if q.Sign() < 0 {
			errs.add(field.Invalid(rp, q.String(), "must be greater than or equal to 0"))
		}
		errs.add(field.Invalid(rp, q.String(), "must be greater than zero"))
	}
	// A minipod volume is a directory: a raw block device cannot be one.
	if m := c.Spec.VolumeMode; m != nil && *m != PersistentVolumeFilesystem {
		errs.add(field.NotSupported(sp.Child("volumeMode"), *m, []PersistentVolumeMode{PersistentVolumeFilesystem}))
	}
	return errs.orNil()
}
