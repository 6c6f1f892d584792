package api

// setResourceDefaults applies the API server's resource defaults, in its order
// (SetObjectDefaults_Pod): SetDefaults_Pod first (requests default to limits, then the
// pod-level defaults of pkg/apis/core/v1/defaults.go), then SetDefaults_ResourceList on every
// list (values rounded up to the milli scale).
func setResourceDefaults(p *Pod) {
	s := &p.Spec
	for _, list := range [][]Container{s.Containers, s.InitContainers} {
		for i := range list {
			defaultRequestsToLimits(&list[i].Resources)
		}
	}
	defaultHugePagePodLimits(s)
	defaultPodRequests(s)
	defaultPodLimits(s)
	for _, list := range [][]Container{s.InitContainers, s.Containers} {
		for i := range list {
			roundUpToMilli(list[i].Resources.Limits)
			roundUpToMilli(list[i].Resources.Requests)
		}
	}
	if r := s.Resources; r != nil {
		roundUpToMilli(r.Limits)
		roundUpToMilli(r.Requests)
	}
}

// defaultRequestsToLimits: a limit without a request makes the request equal to it
// (SetDefaults_Pod).
func defaultRequestsToLimits(r *ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

// roundUpToMilli is SetDefaults_ResourceList: values are rounded up to the milli scale.
func roundUpToMilli(l ResourceList) {
	for name, q := range l {
		q.RoundUp(-3)
		l[name] = q
	}
}

// defaultHugePagePodLimits: with pod-level resources set, container huge page limits add up
// to a pod-level limit where the pod sets neither its limit nor its request.
func defaultHugePagePodLimits(s *PodSpec) {
	r := s.Resources
	if r == nil || len(r.Limits) == 0 && len(r.Requests) == 0 {
		return
	}
	lims := r.Limits
	if lims == nil {
		lims = ResourceList{}
	}
	for name, q := range AggregateContainerLimits(s) {
		if !IsHugePageResourceName(name) {
			continue
		}
		if _, ok := r.Requests[name]; ok {
			continue
		}
		if _, ok := lims[name]; !ok {
			lims[name] = q.DeepCopy()
		}
	}
	if len(lims) > 0 {
		r.Limits = lims
	}
}

// defaultPodRequests: with pod-level limits set, a pod-level request not given defaults to
// the containers' aggregate request for that resource, else to the pod-level limit.
func defaultPodRequests(s *PodSpec) {
	r := s.Resources
	if r == nil || len(r.Limits) == 0 {
		return
	}
	reqs := r.Requests
	if reqs == nil {
		reqs = ResourceList{}
	}
	for name, q := range AggregateContainerRequests(s) {
		if _, ok := reqs[name]; !ok && IsSupportedPodLevelResource(name) && isOvercommitAllowed(name) {
			reqs[name] = q.DeepCopy()
		}
	}
	for name, q := range r.Limits {
		if _, ok := reqs[name]; !ok && IsSupportedPodLevelResource(name) {
			reqs[name] = q.DeepCopy()
		}
	}
	if len(reqs) > 0 {
		r.Requests = reqs
	}
}

// defaultPodLimits: with pod-level requests but no pod-level limits, the pod's limit for a
// resource is the containers' aggregate limit when every container has one.
func defaultPodLimits(s *PodSpec) {
	if IsPodLevelLimitsSet(s) || !IsPodLevelRequestsSet(s) {
		return
	}
	r := s.Resources
	lims := r.Limits
	if lims == nil {
		lims = ResourceList{}
	}
	for name, q := range AggregateContainerLimits(s) {
		if _, ok := lims[name]; ok || !IsSupportedPodLevelResource(name) || !isOvercommitAllowed(name) || !allContainersHaveLimit(s, name) {
			continue
		}
		lims[name] = q.DeepCopy()
	}
	if len(lims) > 0 {
		r.Limits = lims
	}
}

func allContainersHaveLimit(s *PodSpec, name string) bool {
	for _, list := range [][]Container{s.InitContainers, s.Containers} {
		for i := range list {
			if _, ok := list[i].Resources.Limits[name]; !ok {
				return false
			}
		}
	}
	return true
}
