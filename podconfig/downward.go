// Package podconfig computes what a pod's containers take from ConfigMaps, Secrets and the
// downward API, as the kubelet computes it: a container's environment
// (makeEnvironmentVariables, pkg/kubelet/kubelet_pods.go) and the files of configMap, secret,
// downwardAPI and projected volumes (MakePayload of pkg/volume/configmap and secret,
// CollectData of pkg/volume/downwardapi, collectData of pkg/volume/projected). It is pure:
// objects come from a Source, the host's facts in Facts, so every rule is table-tested.
package podconfig

import (
	"fmt"
	"maps"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/minipod/minipod/api"
)

// Source gives the ConfigMaps and Secrets of a namespace. A missing object is an
// *api.NotFoundError.
type Source interface {
	ConfigMap(namespace, name string) (*api.ConfigMap, error)
	Secret(namespace, name string) (*api.Secret, error)
}

// Facts are what the downward API takes from outside the pod's spec and metadata.
type Facts struct {
	NodeName string
	PodIPs   []string
	HostIPs  []string
	// Allocatable is the node's allocatable cpu, memory and ephemeral-storage, what a
	// container's unset limits are reported as.
	Allocatable api.ResourceList
}

// Event is what the kubelet would record about the pod while computing its configuration.
type Event struct {
	Type, Reason, Message string
}

// FieldValue is the value of a downward API field of the pod (podFieldSelectorRuntimeValue):
// the node's name, the service account, the pod's and host's addresses, and what
// ExtractFieldPathAsString reads from the metadata. fs is validated.
func FieldValue(fs *api.ObjectFieldSelector, pod *api.Pod, facts Facts) (string, error) {
	p := api.DownwardAPIFieldPath(fs)
	podIPs := sortIPs(facts.PodIPs)
	switch p {
	case "spec.nodeName":
		// On its node, a pod's spec.nodeName is the node's name.
		if pod.Spec.NodeName != "" {
			return pod.Spec.NodeName, nil
		}
		return facts.NodeName, nil
	case "spec.serviceAccountName":
		// The ServiceAccount admission plugin names "default" when the pod names none.
		if sa := pod.Spec.ServiceAccount(); sa != "" {
			return sa, nil
		}
		return "default", nil
	case "status.hostIP":
		if len(facts.HostIPs) == 0 {
			return "", fmt.Errorf("no host IP")
		}
		return facts.HostIPs[0], nil
	case "status.hostIPs":
		return strings.Join(facts.HostIPs, ","), nil
	case "status.podIP":
		if len(podIPs) == 0 {
			return "", nil
		}
		return podIPs[0], nil
	case "status.podIPs":
		return strings.Join(podIPs, ","), nil
	}
	return extractFieldPathAsString(&pod.Metadata, p)
}

// sortIPs puts IPv4 first, the node's family on a single-stack IPv4 host (sortPodIPs).
func sortIPs(ips []string) []string {
	out := slices.Clone(ips)
	slices.SortStableFunc(out, func(a, b string) int {
		return boolInt(isV6(a)) - boolInt(isV6(b))
	})
	return out
}

func isV6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && !a.Is4In6()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// extractFieldPathAsString is pkg/fieldpath's ExtractFieldPathAsString.
func extractFieldPathAsString(m *api.ObjectMeta, fieldPath string) (string, error) {
	if p, subscript, ok := api.SplitMaybeSubscriptedPath(fieldPath); ok {
		switch p {
		case "metadata.annotations":
			if errs := validation.IsQualifiedName(strings.ToLower(subscript)); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return m.Annotations[subscript], nil
		case "metadata.labels":
			if errs := validation.IsQualifiedName(subscript); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return m.Labels[subscript], nil
		}
		return "", fmt.Errorf("fieldPath %q does not support subscript", fieldPath)
	}
	switch fieldPath {
	case "metadata.annotations":
		return FormatMap(m.Annotations), nil
	case "metadata.labels":
		return FormatMap(m.Labels), nil
	case "metadata.name":
		return m.Name, nil
	case "metadata.namespace":
		return m.Namespace, nil
	case "metadata.uid":
		return m.UID, nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", fieldPath)
}

// FormatMap is pkg/fieldpath's: key="value" lines (Go-quoted values), sorted by key.
func FormatMap(m map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
	}
	return b.String()
}

// limitsDefaults is what unset limits are reported as (defaultPodLimitsForDownwardAPI): the
// pod-level limits of cpu and memory where set, else the node's allocatable.
func limitsDefaults(pod *api.Pod, allocatable api.ResourceList) api.ResourceList {
	out := maps.Clone(allocatable)
	if out == nil {
		out = api.ResourceList{}
	}
	if r := pod.Spec.Resources; r != nil {
		for _, name := range []string{api.ResourceCPU, api.ResourceMemory} {
			if q, ok := r.Limits[name]; ok && !q.IsZero() {
				if _, has := out[name]; has {
					out[name] = q.DeepCopy()
				}
			}
		}
	}
	return out
}

// mergeLimits is MergeContainerResourceLimits: a container's unset (or zero) cpu, memory and
// ephemeral-storage limits become the defaults. The container is copied.
func mergeLimits(c api.Container, defaults api.ResourceList) api.Container {
	limits := maps.Clone(c.Resources.Limits)
	if limits == nil {
		limits = api.ResourceList{}
	}
	for _, name := range []string{api.ResourceCPU, api.ResourceMemory, api.ResourceEphemeralStorage} {
		if q, ok := limits[name]; !ok || q.IsZero() {
			if d, ok := defaults[name]; ok {
				limits[name] = d.DeepCopy()
			}
		}
	}
	c.Resources.Limits = limits
	return c
}

// ResourceValue is the value of a container's resource (containerResourceRuntimeValue for
// an env var, whose container is self unless the selector names one; CollectData for a
// file, whose selector names it), with unset limits reported as the pod-level limits or the
// node's allocatable.
func ResourceValue(fs *api.ResourceFieldSelector, pod *api.Pod, self *api.Container, allocatable api.ResourceList) (string, error) {
	defaults := limitsDefaults(pod, allocatable)
	var c api.Container
	if fs.ContainerName == "" {
		if self == nil {
			return "", fmt.Errorf("container %s not found", fs.ContainerName)
		}
		c = mergeLimits(*self, defaults)
	} else {
		// findContainerInPod: regular containers first, then init containers. Only the
		// regular ones of the pod have their limits defaulted (defaultPodLimitsForDownwardAPI).
		found := false
		for _, rc := range pod.Spec.Containers {
			if rc.Name == fs.ContainerName {
				c, found = mergeLimits(rc, defaults), true
				break
			}
		}
		if !found {
			for _, ic := range pod.Spec.InitContainers {
				if ic.Name == fs.ContainerName {
					c, found = ic, true
					break
				}
			}
		}
		if !found {
			return "", fmt.Errorf("container %s not found", fs.ContainerName)
		}
	}
	return extractContainerResourceValue(fs, &c)
}

// extractContainerResourceValue is component-helpers' ExtractContainerResourceValue: the
// quantity divided by the divisor (default 1), rounded up, in integer arithmetic.
func extractContainerResourceValue(fs *api.ResourceFieldSelector, c *api.Container) (string, error) {
	divisor := fs.Divisor
	if divisor.Cmp(resource.Quantity{}) == 0 {
		divisor = resource.MustParse("1")
	}
	var list api.ResourceList
	name := ""
	switch {
	case strings.HasPrefix(fs.Resource, "limits."):
		list, name = c.Resources.Limits, strings.TrimPrefix(fs.Resource, "limits.")
	case strings.HasPrefix(fs.Resource, "requests."):
		list, name = c.Resources.Requests, strings.TrimPrefix(fs.Resource, "requests.")
	}
	switch {
	case name == api.ResourceCPU, name == api.ResourceMemory, name == api.ResourceEphemeralStorage, api.IsHugePageResourceName(name):
	default:
		return "", fmt.Errorf("Unsupported container resource : %v", fs.Resource)
	}
	q := list[name]
	return convertResourceToString(&q, divisor)
}

// convertResourceToString is component-helpers' convertResourceToString: the ceiling of
// value / divisor, computed exactly (its checked int64 arithmetic at the resource's scale
// gives the same for every value that fits).
func convertResourceToString(value *resource.Quantity, divisor resource.Quantity) (string, error) {
	v, ok := new(big.Rat).SetString(value.AsDec().String())
	d, ok2 := new(big.Rat).SetString(divisor.AsDec().String())
	if !ok || !ok2 {
		return "", fmt.Errorf("value %s or divisor %s is not a number", value.String(), divisor.String())
	}
	if d.Sign() == 0 {
		return "", fmt.Errorf("divisor must not be zero")
	}
	r := new(big.Rat).Quo(v, d)
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return "", fmt.Errorf("value %s is too large to be represented", value.String())
	}
	return strconv.FormatInt(q.Int64(), 10), nil
}
