package api

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The API server's resource name sets (pkg/apis/core/helper/helpers.go).
var (
	standardResources = map[string]bool{
		"cpu": true, "memory": true, "ephemeral-storage": true,
		"requests.cpu": true, "requests.memory": true, "requests.ephemeral-storage": true,
		"limits.cpu": true, "limits.memory": true, "limits.ephemeral-storage": true,
		"pods": true, "resourcequotas": true, "services": true, "replicationcontrollers": true,
		"secrets": true, "configmaps": true, "persistentvolumeclaims": true, "storage": true,
		"requests.storage": true, "services.nodeports": true, "services.loadbalancers": true,
	}
	integerResources = map[string]bool{
		"pods": true, "resourcequotas": true, "services": true, "replicationcontrollers": true,
		"secrets": true, "configmaps": true, "persistentvolumeclaims": true,
		"services.nodeports": true, "services.loadbalancers": true,
	}
	standardContainerResources = map[string]bool{ResourceCPU: true, ResourceMemory: true, ResourceEphemeralStorage: true}
)

func isStandardResourceName(name string) bool {
	return standardResources[name] || strings.HasPrefix(name, ResourceHugePagesPrefix) || strings.HasPrefix(name, "requests."+ResourceHugePagesPrefix)
}

// isNativeResource: no domain, or a kubernetes.io one.
func isNativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")
}

// isExtendedResourceName: a device plugin's resource, e.g. example.com/gpu.
func isExtendedResourceName(name string) bool {
	if isNativeResource(name) || strings.HasPrefix(name, "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+name)) == 0
}

// isOvercommitAllowed: a request may be below the limit.
func isOvercommitAllowed(name string) bool {
	return isNativeResource(name) && !IsHugePageResourceName(name)
}

func isIntegerResourceName(name string) bool {
	return integerResources[name] || isExtendedResourceName(name)
}

// validateResources checks every container's resources and the pod-level
// resources as the API server does, then refuses what nothing on this host provides: huge
// pages and extended resources.
func validateResources(s *PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, group := range []struct {
		name string
		list []Container
	}{{"containers", s.Containers}, {"initContainers", s.InitContainers}} {
		for i := range group.list {
			c := &group.list[i]
			idx := fp.Child(group.name).Index(i)
			rp := idx.Child("resources")
			errs = append(errs, validateResourceRequirements(&c.Resources, validateContainerResourceName, rp)...)
			errs = append(errs, refuseUnprovided(&c.Resources, rp, false)...)
		}
	}
	if r := s.Resources; r != nil {
		rp := fp.Child("resources")
		errs = append(errs, validateResourceRequirements(r, validatePodResourceName, rp)...)
		errs = append(errs, validatePodResourceConsistency(s, rp)...)
		errs = append(errs, refuseUnprovided(r, rp, true)...)
	}
	return errs
}

// validateResourceRequirements is the API server's validateResourceRequirements, with the
// names in order so that the messages are too.
func validateResourceRequirements(r *ResourceRequirements, nameFn func(string, *field.Path) field.ErrorList, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fp.Child("limits"), fp.Child("requests")
	limCPUOrMemory, reqCPUOrMemory, limHugePages, reqHugePages := false, false, false, false
	for _, name := range slices.Sorted(maps.Keys(r.Limits)) {
		q, p := r.Limits[name], limPath.Key(name)
		errs = append(errs, nameFn(name, p)...)
		errs = append(errs, validateResourceQuantityValue(name, q, p)...)
		if IsHugePageResourceName(name) {
			limHugePages = true
			errs = append(errs, validateHugePageValue(name, q, p)...)
		}
		limCPUOrMemory = limCPUOrMemory || name == ResourceCPU || name == ResourceMemory
	}
	for _, name := range slices.Sorted(maps.Keys(r.Requests)) {
		q, p := r.Requests[name], reqPath.Key(name)
		errs = append(errs, nameFn(name, p)...)
		errs = append(errs, validateResourceQuantityValue(name, q, p)...)
		if lim, ok := r.Limits[name]; ok {
			// The field is the requests map itself, as in Kubernetes.
			if q.Cmp(lim) != 0 && !isOvercommitAllowed(name) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
			} else if q.Cmp(lim) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
			}
		} else if !isOvercommitAllowed(name) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if IsHugePageResourceName(name) {
			reqHugePages = true
			errs = append(errs, validateHugePageValue(name, q, p)...)
		}
		reqCPUOrMemory = reqCPUOrMemory || name == ResourceCPU || name == ResourceMemory
	}
	if !limCPUOrMemory && !reqCPUOrMemory && (limHugePages || reqHugePages) {
		errs = append(errs, field.Forbidden(fp, "HugePages require cpu or memory"))
	}
	return errs
}

// validateResourceName is the API server's: a qualified name, standard unless it has a domain.
func validateResourceName(name string, fp *field.Path) field.ErrorList {
	errs := invalidEach(fp, name, validation.IsQualifiedName(name))
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(name, "/") && !isStandardResourceName(name) {
		errs = append(errs, field.Invalid(fp, name, "must be a standard resource type or fully qualified"))
	}
	return errs
}

func validateContainerResourceName(name string, fp *field.Path) field.ErrorList {
	errs := validateResourceName(name, fp)
	if !strings.Contains(name, "/") {
		if !standardContainerResources[name] && !IsHugePageResourceName(name) {
			errs = append(errs, field.Invalid(fp, name, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(name) && !isExtendedResourceName(name) {
		errs = append(errs, field.Invalid(fp, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

func validatePodResourceName(name string, fp *field.Path) field.ErrorList {
	if errs := validateResourceName(name, fp); len(errs) > 0 {
		return errs
	}
	if !IsSupportedPodLevelResource(name) {
		return field.ErrorList{field.NotSupported(fp, name, []string{ResourceCPU, ResourceHugePagesPrefix, ResourceMemory})}
	}
	return nil
}

func validateResourceQuantityValue(name string, q resource.Quantity, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(fp, q.String(), "must be greater than or equal to 0"))
	}
	if isIntegerResourceName(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fp, q.String(), "must be an integer"))
	}
	return errs
}

// validateHugePageValue: a whole number of pages (IsHugePageResourceValueDivisible).
func validateHugePageValue(name string, q resource.Quantity, fp *field.Path) field.ErrorList {
	page, err := resource.ParseQuantity(strings.TrimPrefix(name, ResourceHugePagesPrefix))
	if err == nil && page.Sign() > 0 && page.MilliValue()%1000 == 0 && q.Value()%page.Value() == 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(fp, q.String(), fmt.Sprintf("%s is not positive integer multiple of %s", q.String(), name))}
}

// validatePodResourceConsistency: pod-level requests cover what the containers request
// together, a pod-level huge page limit covers their limits, and no container's limit
// exceeds the pod's (the odd field path of the last is Kubernetes').
func validatePodResourceConsistency(s *PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	reqs := AggregateContainerRequests(s)
	for _, name := range slices.Sorted(maps.Keys(reqs)) {
		podReq, ok := s.Resources.Requests[name]
		if ctr := reqs[name]; ok && ctr.Cmp(podReq) > 0 {
			errs = append(errs, field.Invalid(fp.Child("requests").Key(name), podReq.String(), fmt.Sprintf("must be greater than or equal to aggregate container requests of %s", ctr.String())))
		}
	}
	lims := AggregateContainerLimits(s)
	for _, name := range slices.Sorted(maps.Keys(lims)) {
		podLim, ok := s.Resources.Limits[name]
		if ctr := lims[name]; ok && IsHugePageResourceName(name) && ctr.Cmp(podLim) > 0 {
			errs = append(errs, field.Invalid(fp.Child("limits").Key(name), podLim.String(), fmt.Sprintf("must be greater than or equal to aggregate container limits of %s", ctr.String())))
		}
	}
	for i := range s.Containers {
		l := s.Containers[i].Resources.Limits
		for _, name := range slices.Sorted(maps.Keys(l)) {
			podLim, ok := s.Resources.Limits[name]
			if ctr := l[name]; ok && ctr.Cmp(podLim) > 0 {
				errs = append(errs, field.Invalid(fp.Child("containers").Index(i).Key(name).Child("limits"), ctr.String(), fmt.Sprintf("must be less than or equal to pod limits of %s", podLim.String())))
			}
		}
	}
	return errs
}

// validateResizePolicy is the API server's: cpu or memory once each, a known restart policy,
// NotRequired only when the pod never restarts (validateContainerHostFields says where it
// may be set). Minipod accepts it and never resizes.
func validateResizePolicy(policies []ContainerResizePolicy, podRestart RestartPolicy, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, p := range policies {
		if seen[p.ResourceName] {
			errs = append(errs, field.Duplicate(fp.Index(i), p.ResourceName))
		}
		seen[p.ResourceName] = true
		switch p.ResourceName {
		case ResourceCPU, ResourceMemory:
		case "":
			errs = append(errs, field.Required(fp, ""))
		default:
			errs = append(errs, field.NotSupported(fp, p.ResourceName, []string{ResourceCPU, ResourceMemory}))
		}
		switch p.RestartPolicy {
		case ResizeRestartPolicyNotRequired, ResizeRestartPolicyRestartContainer:
		case "":
			errs = append(errs, field.Required(fp, ""))
		default:
			errs = append(errs, field.NotSupported(fp, p.RestartPolicy, []ResourceResizeRestartPolicy{ResizeRestartPolicyNotRequired, ResizeRestartPolicyRestartContainer}))
		}
		if podRestart == RestartPolicyNever && p.RestartPolicy != ResizeRestartPolicyNotRequired {
			errs = append(errs, field.Invalid(fp, p.RestartPolicy, "must be 'NotRequired' when `restartPolicy` is 'Never'"))
		}
	}
	return errs
}

// refuseUnprovided refuses resources this host cannot give a pod, once per name: huge pages
// (none are set aside for pods; the kubelet would reject the pod as OutOfhugepages-<size>)
// and extended resources (no device plugin advertises any; at pod level they are invalid
// already).
func refuseUnprovided(r *ResourceRequirements, fp *field.Path, podLevel bool) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for _, l := range []struct {
		name string
		list ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		for _, name := range slices.Sorted(maps.Keys(l.list)) {
			if seen[name] {
				continue
			}
			seen[name] = true
			detail := ""
			switch {
			case IsHugePageResourceName(name):
				detail = "not supported: this host sets no huge pages aside for pods"
			case isExtendedResourceName(name) && !podLevel:
				detail = "not supported: no device plugin on this host provides extended resources"
			default:
				continue
			}
			errs = append(errs, &field.Error{Type: field.ErrorTypeNotSupported, Field: fp.Child(l.name).Key(name).String(), BadValue: name, Detail: detail})
		}
	}
	return errs
}
