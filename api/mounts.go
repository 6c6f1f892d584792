package api

import (
	"path"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MountPropagationMode is volumeMounts[].mountPropagation.
type MountPropagationMode string

const (
	// MountPropagationNone: a private mount (OCI rprivate), the default.
	MountPropagationNone MountPropagationMode = "None"
	// MountPropagationHostToContainer: mounts made on the host below the volume later are
	// seen in the container (OCI rslave).
	MountPropagationHostToContainer MountPropagationMode = "HostToContainer"
	// MountPropagationBidirectional: HostToContainer, and mounts the container makes there are
	// seen on the host (OCI rshared); privileged containers only.
	MountPropagationBidirectional MountPropagationMode = "Bidirectional"
)

// RecursiveReadOnlyMode is volumeMounts[].recursiveReadOnly.
type RecursiveReadOnlyMode string

const (
	RecursiveReadOnlyDisabled   RecursiveReadOnlyMode = "Disabled"
	RecursiveReadOnlyIfPossible RecursiveReadOnlyMode = "IfPossible"
	RecursiveReadOnlyEnabled    RecursiveReadOnlyMode = "Enabled"
)

// validateMountFields holds the API server's rules for subPathExpr, mountPropagation and
// recursiveReadOnly (ValidateVolumeMounts with validateMountPropagation and
// validateMountRecursiveReadOnly, pkg/apis/core/validation/validation.go). The paths name
// the mount's index, where Kubernetes (a quirk) names the list.
func validateMountFields(c *Container, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
	for i, m := range c.VolumeMounts {
		idx := fp.Index(i)
		if m.SubPathExpr != "" {
			sp := idx.Child("subPathExpr")
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(sp, m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			if path.IsAbs(m.SubPathExpr) {
				errs = append(errs, field.Invalid(sp, m.SubPathExpr, "must be a relative path"))
			}
			errs = append(errs, validateNoBacksteps(m.SubPathExpr, sp)...)
		}
		if mp := m.MountPropagation; mp != nil {
			pp := idx.Child("mountPropagation")
			switch *mp {
			case MountPropagationNone, MountPropagationHostToContainer:
			case MountPropagationBidirectional:
				if !privileged {
					errs = append(errs, field.Forbidden(pp, "Bidirectional mount propagation is available only to privileged containers"))
				}
			default:
				errs = append(errs, field.NotSupported(pp, *mp, []MountPropagationMode{
					MountPropagationBidirectional, MountPropagationHostToContainer, MountPropagationNone}))
			}
		}
		if r := m.RecursiveReadOnly; r != nil {
			rp := idx.Child("recursiveReadOnly")
			switch *r {
			case RecursiveReadOnlyDisabled:
			case RecursiveReadOnlyEnabled, RecursiveReadOnlyIfPossible:
				if !m.ReadOnly {
					errs = append(errs, field.Forbidden(rp, "may only be specified when readOnly is true"))
				}
				if m.MountPropagation != nil && *m.MountPropagation != MountPropagationNone {
					errs = append(errs, field.Forbidden(rp, "may only be specified when mountPropagation is None or not specified"))
				}
			default:
				errs = append(errs, field.NotSupported(rp, *r, []RecursiveReadOnlyMode{
					RecursiveReadOnlyDisabled, RecursiveReadOnlyEnabled, RecursiveReadOnlyIfPossible}))
			}
		}
	}
	return errs
}
