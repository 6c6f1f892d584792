package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The API server's rules for the configuration fields (pkg/apis/core/validation/validation.go:
// validateEnvVarValueFrom, ValidateEnvFrom, validate*VolumeSource, validateProjectionSources,
// ValidateConfigMap, ValidateSecret and their Update variants), with its messages.

// MaxSecretSize bounds the data of a ConfigMap or a Secret (core.MaxSecretSize, 1 MiB).
const MaxSecretSize = 1 << 20

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// validEnvDownwardAPIFieldPathExpressions are the pod fields an environment variable may
// take; validVolumeDownwardAPIFieldPathExpressions those a downwardAPI file may (labels and
// annotations may change while the pod runs: a file follows, a variable could not).
var (
	validEnvDownwardAPIFieldPathExpressions = []string{"metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
	validVolumeDownwardAPIFieldPathExpressions = []string{"metadata.annotations", "metadata.labels",
		"metadata.name", "metadata.namespace", "metadata.uid"}
	validContainerResourceFieldPathExpressions = []string{"limits.cpu", "limits.ephemeral-storage", "limits.memory",
		"requests.cpu", "requests.ephemeral-storage", "requests.memory"}
)

// validateContainerConfig validates a container's env sources and envFrom. volumes are the
// pod's, for fileKeyRef.
func validateContainerConfig(c *Container, volumes []Volume, idx *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j := range c.Env {
		errs = append(errs, validateEnvVarValueFrom(&c.Env[j], volumes, idx.Child("env").Index(j).Child("valueFrom"))...)
	}
	errs = append(errs, validateEnvFrom(c.EnvFrom, idx.Child("envFrom"))...)
	return errs
}

func validateEnvVarValueFrom(ev *EnvVar, volumes []Volume, fp *field.Path) field.ErrorList {
	from := ev.ValueFrom
	if from == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if from.FieldRef != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(from.FieldRef, validEnvDownwardAPIFieldPathExpressions, fp.Child("fieldRef"))...)
	}
	if from.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateContainerResourceFieldSelector(from.ResourceFieldRef, fp.Child("resourceFieldRef"), false)...)
	}
	if from.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key, fp.Child("configMapKeyRef"))...)
	}
	if from.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(from.SecretKeyRef.Name, from.SecretKeyRef.Key, fp.Child("secretKeyRef"))...)
	}
	if from.FileKeyRef != nil {
		n++
		errs = append(errs, validateFileKeySelector(from.FileKeyRef, volumes, fp.Child("fileKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(fp, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(fp, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// validateObjectFieldSelector checks a downward API field: apiVersion v1
// (ConvertDownwardAPIFieldLabel), one of the paths allowed, or labels['key'] and
// annotations['key'] with a key that can be a label's.
func validateObjectFieldSelector(fs *ObjectFieldSelector, expressions []string, fp *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(fp.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(fp.Child("fieldPath"), "")}
	}
	internal, err := convertDownwardAPIFieldLabel(fs.APIVersion, fs.FieldPath)
	if err != nil {
		return field.ErrorList{field.Invalid(fp.Child("fieldPath"), fs.FieldPath, fmt.Sprintf("error converting fieldPath: %v", err))}
	}
	if p, subscript, ok := SplitMaybeSubscriptedPath(internal); ok {
		switch p {
		case "metadata.annotations":
			return invalidEach(fp, strings.ToLower(subscript), validation.IsQualifiedName(strings.ToLower(subscript)))
		case "metadata.labels":
			return invalidEach(fp, subscript, validation.IsQualifiedName(subscript))
		default:
			return field.ErrorList{field.Invalid(fp, p, "does not support subscript")}
		}
	}
	if !slices.Contains(expressions, internal) {
		return field.ErrorList{field.NotSupported(fp.Child("fieldPath"), internal, expressions)}
	}
	return nil
}

// convertDownwardAPIFieldLabel is pkg/apis/core/pods ConvertDownwardAPIFieldLabel: the pod
// fields the downward API knows at all, spec.host being spec.nodeName's old name.
func convertDownwardAPIFieldLabel(version, label string) (string, error) {
	if version != "v1" {
		return "", fmt.Errorf("unsupported pod version: %s", version)
	}
	if p, _, ok := SplitMaybeSubscriptedPath(label); ok {
		switch p {
		case "metadata.annotations", "metadata.labels":
			return label, nil
		}
		return "", fmt.Errorf("field label does not support subscript: %s", label)
	}
	switch label {
	case "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
		"status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return label, nil
	case "spec.host":
		return "spec.nodeName", nil
	}
	return "", fmt.Errorf("field label not supported: %s", label)
}

// DownwardAPIFieldPath is a valid fieldRef's path as the kubelet reads it (spec.host becomes
// spec.nodeName).
func DownwardAPIFieldPath(fs *ObjectFieldSelector) string {
	p, err := convertDownwardAPIFieldLabel(fs.APIVersion, fs.FieldPath)
	if err != nil {
		return fs.FieldPath
	}
	return p
}

// SplitMaybeSubscriptedPath is pkg/fieldpath's: "metadata.labels['key']" is
// ("metadata.labels", "key", true).
func SplitMaybeSubscriptedPath(fieldPath string) (string, string, bool) {
	s, ok := strings.CutSuffix(fieldPath, "']")
	if !ok {
		return fieldPath, "", false
	}
	p, subscript, ok := strings.Cut(s, "['")
	if !ok || p == "" {
		return fieldPath, "", false
	}
	return p, subscript, true
}

// validateContainerResourceFieldSelector: a container's requests or limits of cpu, memory,
// ephemeral-storage or a huge page size, with a divisor of that resource's units; a
// downwardAPI file must name its container.
func validateContainerResourceFieldSelector(fs *ResourceFieldSelector, fp *field.Path, volume bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(fp.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(fp.Child("resource"), ""))
	case !slices.Contains(validContainerResourceFieldPathExpressions, fs.Resource) && !isHugePagesResourceField(fs.Resource):
		errs = append(errs, field.NotSupported(fp.Child("resource"), fs.Resource, validContainerResourceFieldPathExpressions))
	}
	return append(errs, validateContainerResourceDivisor(fs.Resource, fs.Divisor, fp)...)
}

func isHugePagesResourceField(r string) bool {
	return strings.HasPrefix(r, "requests.hugepages-") || strings.HasPrefix(r, "limits.hugepages-")
}

var (
	validDivisorsCPU    = []string{"1m", "1"}
	validDivisorsOthers = []string{"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"}
)

// validateContainerResourceDivisor is the API server's, messages included.
func validateContainerResourceDivisor(rName string, divisor resource.Quantity, fp *field.Path) field.ErrorList {
	if divisor.Cmp(resource.Quantity{}) == 0 {
		return nil
	}
	d := divisor.String()
	const others = "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the %s resource"
	var errs field.ErrorList
	switch rName {
	case "limits.cpu", "requests.cpu":
		if !slices.Contains(validDivisorsCPU, d) {
			errs = append(errs, field.Invalid(fp.Child("divisor"), rName, "only divisor's values 1m and 1 are supported with the cpu resource"))
		}
	case "limits.memory", "requests.memory":
		if !slices.Contains(validDivisorsOthers, d) {
			errs = append(errs, field.Invalid(fp.Child("divisor"), rName, fmt.Sprintf(others, "memory")))
		}
	case "limits.ephemeral-storage", "requests.ephemeral-storage":
		if !slices.Contains(validDivisorsOthers, d) {
			errs = append(errs, field.Invalid(fp.Child("divisor"), rName, fmt.Sprintf(others, "local ephemeral storage")))
		}
	}
	if isHugePagesResourceField(rName) && !slices.Contains(validDivisorsOthers, d) {
		errs = append(errs, field.Invalid(fp.Child("divisor"), rName, fmt.Sprintf(others, "hugepages")))
	}
	return errs
}

// validateKeySelector is validateConfigMapKeySelector and validateSecretKeySelector.
func validateKeySelector(name, key string, fp *field.Path) field.ErrorList {
	errs := invalidEach(fp.Child("name"), name, validation.IsDNS1123Subdomain(name))
	if key == "" {
		errs = append(errs, field.Required(fp.Child("key"), ""))
	} else {
		errs = append(errs, invalidEach(fp.Child("key"), key, validation.IsConfigMapKey(key))...)
	}
	return errs
}

// validateFileKeySelector: the volume must be one of the pod's emptyDirs (the kubelet reads
// the file there before the container starts), the path relative and inside it, the key a
// variable name.
func validateFileKeySelector(s *FileKeySelector, volumes []Volume, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.VolumeName == "" {
		errs = append(errs, field.Required(fp.Child("volumeName"), ""))
	} else {
		errs = append(errs, invalidEach(fp.Child("volumeName"), s.VolumeName, validation.IsDNS1123Label(s.VolumeName))...)
		i := slices.IndexFunc(volumes, func(v Volume) bool { return v.Name == s.VolumeName })
		switch {
		case i < 0:
			errs = append(errs, field.NotFound(fp.Child("volumeName"), s.VolumeName))
		case volumes[i].EmptyDir == nil:
			errs = append(errs, field.Invalid(fp.Child("volumeName"), s.VolumeName, "must be an emptyDir volume"))
		}
	}
	if s.Path == "" {
		errs = append(errs, field.Required(fp.Child("path"), ""))
	} else {
		errs = append(errs, validateLocalDescendingPath(s.Path, fp.Child("path"))...)
	}
	if s.Key == "" {
		errs = append(errs, field.Required(fp.Child("key"), ""))
	} else {
		errs = append(errs, invalidEach(fp.Child("key"), s.Key, validation.IsRelaxedEnvVarName(s.Key))...)
	}
	return errs
}

// validateEnvFrom is ValidateEnvFrom (with the relaxed names of Kubernetes 1.34).
func validateEnvFrom(vars []EnvFromSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		idx := fp.Index(i)
		if ev.Prefix != "" {
			errs = append(errs, invalidEach(idx.Child("prefix"), ev.Prefix, validation.IsRelaxedEnvVarName(ev.Prefix))...)
		}
		n := 0
		if ev.ConfigMapRef != nil {
			n++
			errs = append(errs, validateObjectRef(ev.ConfigMapRef.Name, idx.Child("configMapRef"))...)
		}
		if ev.SecretRef != nil {
			n++
			errs = append(errs, validateObjectRef(ev.SecretRef.Name, idx.Child("secretRef"))...)
		}
		switch {
		case n == 0:
			errs = append(errs, field.Invalid(fp, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(fp, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateObjectRef is validateConfigMapEnvSource and validateSecretEnvSource: the name is
// checked with prefix set (ValidateConfigMapName(name, true)), so a trailing dash passes.
func validateObjectRef(name string, fp *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fp.Child("name"), "")}
	}
	masked := name
	if len(masked) > 1 && strings.HasSuffix(masked, "-") { // apimachinery's maskTrailingDash
		masked = masked[:len(masked)-2] + "a"
	}
	return invalidEach(fp.Child("name"), name, validation.IsDNS1123Subdomain(masked))
}

// validateConfigVolumeSources validates the configuration volume sources of v, counting them
// on from sources (the sources of v already seen), and returns the new count. The order, and
// the path of "more than 1 volume type" (downwarAPI, sic), are validateVolumeSource's.
func validateConfigVolumeSources(v *Volume, idx *field.Path, sources int) (int, field.ErrorList) {
	var errs field.ErrorList
	one := func(name string, set bool, validate func() field.ErrorList) {
		if !set {
			return
		}
		if sources > 0 {
			errs = append(errs, field.Forbidden(idx.Child(name), "may not specify more than 1 volume type"))
			return
		}
		sources++
		errs = append(errs, validate()...)
	}
	one("secret", v.Secret != nil, func() field.ErrorList {
		s, fp := v.Secret, idx.Child("secret")
		var errs field.ErrorList
		if s.SecretName == "" {
			errs = append(errs, field.Required(fp.Child("secretName"), ""))
		}
		errs = append(errs, validateFileMode(s.DefaultMode, fp.Child("defaultMode"))...)
		for i := range s.Items {
			errs = append(errs, validateKeyToPath(&s.Items[i], fp.Child("items").Index(i))...)
		}
		return errs
	})
	one("downwarAPI", v.DownwardAPI != nil, func() field.ErrorList {
		d, fp := v.DownwardAPI, idx.Child("downwardAPI")
		errs := validateFileMode(d.DefaultMode, fp.Child("defaultMode"))
		for i := range d.Items {
			// Sic: the items' errors name the volume source, not the item.
			errs = append(errs, validateDownwardAPIVolumeFile(&d.Items[i], fp)...)
		}
		return errs
	})
	one("configMap", v.ConfigMap != nil, func() field.ErrorList {
		c, fp := v.ConfigMap, idx.Child("configMap")
		var errs field.ErrorList
		if c.Name == "" {
			errs = append(errs, field.Required(fp.Child("name"), ""))
		}
		errs = append(errs, validateFileMode(c.DefaultMode, fp.Child("defaultMode"))...)
		for i := range c.Items {
			errs = append(errs, validateKeyToPath(&c.Items[i], fp.Child("items").Index(i))...)
		}
		return errs
	})
	one("projected", v.Projected != nil, func() field.ErrorList {
		fp := idx.Child("projected")
		return append(validateFileMode(v.Projected.DefaultMode, fp.Child("defaultMode")), validateProjectionSources(v.Projected, fp)...)
	})
	return sources, errs
}

func validateFileMode(m *int32, fp *field.Path) field.ErrorList {
	if m != nil && (*m > 0o777 || *m < 0) {
		return field.ErrorList{field.Invalid(fp, *m, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPath(kp *KeyToPath, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fp.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fp.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(kp.Path, fp.Child("path"))...)
	return append(errs, validateFileMode(kp.Mode, fp.Child("mode"))...)
}

func validateDownwardAPIVolumeFile(f *DownwardAPIVolumeFile, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(fp.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(f.Path, fp.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(f.FieldRef, validVolumeDownwardAPIFieldPathExpressions, fp.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fp, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, validateContainerResourceFieldSelector(f.ResourceFieldRef, fp.Child("resourceFieldRef"), true)...)
	default:
		errs = append(errs, field.Required(fp, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(f.Mode, fp.Child("mode"))...)
}

// validateLocalNonReservedPath: relative, no '..' element, not starting with '..' (the
// atomic writer keeps those names for itself).
func validateLocalNonReservedPath(p string, fp *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(p, fp)
	if strings.HasPrefix(p, "..") && !strings.HasPrefix(p, "../") {
		errs = append(errs, field.Invalid(fp, p, "must not start with '..'"))
	}
	return errs
}

// validateProjectionSources is the API server's, with the sources that need an API server
// refused with the reason (the API server accepts them; a kubelet could not run the pod
// without one either).
func validateProjectionSources(p *ProjectedVolumeSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := map[string]bool{}
	addPath := func(pth string, bad any) {
		if paths[pth] {
			errs = append(errs, field.Invalid(fp, bad, "conflicting duplicate paths"))
		}
		paths[pth] = true
	}
	for i, src := range p.Sources {
		n := 0
		sp := fp.Child("sources").Index(i)
		if s := src.Secret; s != nil {
			n++
			if s.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			for j := range s.Items {
				errs = append(errs, validateKeyToPath(&s.Items[j], sp.Child("secret", "items").Index(j))...)
				if s.Items[j].Path != "" {
					addPath(s.Items[j].Path, s.Name)
				}
			}
		}
		if c := src.ConfigMap; c != nil {
			n++
			if c.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			for j := range c.Items {
				errs = append(errs, validateKeyToPath(&c.Items[j], sp.Child("configMap", "items").Index(j))...)
				if c.Items[j].Path != "" {
					addPath(c.Items[j].Path, c.Name)
				}
			}
		}
		if d := src.DownwardAPI; d != nil {
			n++
			for j := range d.Items {
				errs = append(errs, validateDownwardAPIVolumeFile(&d.Items[j], sp.Child("downwardAPI"))...)
				if d.Items[j].Path != "" {
					addPath(d.Items[j].Path, d.Items[j].Path)
				}
			}
		}
		for _, u := range []struct {
			name string
			set  bool
			what string
		}{
			{"serviceAccountToken", src.ServiceAccountToken != nil, "a service account token is issued by the Kubernetes API server"},
			{"clusterTrustBundle", src.ClusterTrustBundle != nil, "cluster trust bundles are objects of the Kubernetes API server"},
			{"podCertificate", src.PodCertificate != nil, "pod certificates are issued through the Kubernetes API server"},
		} {
			if u.set {
				n++
				errs = append(errs, field.Forbidden(sp.Child(u.name), u.what+", which minipod does not have"))
			}
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

// ValidateConfigMap is the API server's: its metadata, keys (of data and binaryData, not
// both), at most MaxSecretSize bytes of values.
func ValidateConfigMap(cm *ConfigMap) error {
	errs := &InvalidError{}
	errs.add(validateMeta(&cm.Metadata, field.NewPath("metadata"))...)
	total := 0
	for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
		p := field.NewPath("data").Key(k)
		errs.add(invalidEach(p, k, validation.IsConfigMapKey(k))...)
		if _, dup := cm.BinaryData[k]; dup {
			errs.add(field.Invalid(p, k, "duplicate of key present in binaryData"))
		}
		total += len(cm.Data[k])
	}
	for _, k := range slices.Sorted(maps.Keys(cm.BinaryData)) {
		errs.add(invalidEach(field.NewPath("binaryData").Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(cm.BinaryData[k])
	}
	if total > MaxSecretSize {
		errs.add(field.TooLong(field.NewPath(""), "", MaxSecretSize))
	}
	return errs.orNil()
}

// ValidateSecret is the API server's: metadata, keys, size, and the keys its type requires.
func ValidateSecret(s *Secret) error {
	errs := &InvalidError{}
	errs.add(validateMeta(&s.Metadata, field.NewPath("metadata"))...)
	data := field.NewPath("data")
	total := 0
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		errs.add(invalidEach(data.Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(s.Data[k])
	}
	if total > MaxSecretSize {
		errs.add(field.TooLong(data, "", MaxSecretSize))
	}
	has := func(k string) bool { _, ok := s.Data[k]; return ok }
	validJSON := func(k string) {
		if !has(k) {
			errs.add(field.Required(data.Key(k), ""))
			return
		}
		if err := json.Unmarshal(s.Data[k], &map[string]any{}); err != nil {
			errs.add(field.Invalid(data.Key(k), "<secret contents redacted>", err.Error()))
		}
	}
	switch s.Type {
	case SecretTypeServiceAccountToken:
		if s.Metadata.Annotations[ServiceAccountNameKey] == "" {
			errs.add(field.Required(field.NewPath("metadata", "annotations").Key(ServiceAccountNameKey), ""))
		}
	case SecretTypeDockercfg:
		validJSON(DockerConfigKey)
	case SecretTypeDockerConfigJSON:
		validJSON(DockerConfigJSONKey)
	case SecretTypeBasicAuth:
		if !has(BasicAuthUsernameKey) && !has(BasicAuthPasswordKey) {
			errs.add(field.Required(data.Key(BasicAuthUsernameKey), ""), field.Required(data.Key(BasicAuthPasswordKey), ""))
		}
	case SecretTypeSSHAuth:
		if len(s.Data[SSHAuthPrivateKey]) == 0 {
			errs.add(field.Required(data.Key(SSHAuthPrivateKey), ""))
		}
	case SecretTypeTLS:
		if !has(TLSCertKey) {
			errs.add(field.Required(data.Key(TLSCertKey), ""))
		}
		if !has(TLSPrivateKeyKey) {
			errs.add(field.Required(data.Key(TLSPrivateKeyKey), ""))
		}
	}
	return errs.orNil()
}

const immutableMsg = "field is immutable when `immutable` is set"

// ValidateConfigMapUpdate is the API server's check of a ConfigMap replacing old: an
// immutable one keeps its data and stays immutable.
func ValidateConfigMapUpdate(cm, old *ConfigMap) error {
	errs := &InvalidError{}
	if old.Immutable != nil && *old.Immutable {
		if cm.Immutable == nil || !*cm.Immutable {
			errs.add(field.Forbidden(field.NewPath("immutable"), immutableMsg))
		}
		if !equalMaps(cm.Data, old.Data) {
			errs.add(field.Forbidden(field.NewPath("data"), immutableMsg))
		}
		if !reflect.DeepEqual(normalBytes(cm.BinaryData), normalBytes(old.BinaryData)) {
			errs.add(field.Forbidden(field.NewPath("binaryData"), immutableMsg))
		}
	}
	if err := ValidateConfigMap(cm); err != nil {
		errs.Errs = append(errs.Errs, err.(*InvalidError).Errs...)
	}
	return errs.orNil()
}

// ValidateSecretUpdate is the API server's check of a Secret replacing old: its type never
// changes; an immutable one keeps its data and stays immutable.
func ValidateSecretUpdate(s, old *Secret) error {
	errs := &InvalidError{}
	if s.Type != old.Type {
		errs.add(field.Invalid(field.NewPath("type"), s.Type, "field is immutable"))
	}
	if old.Immutable != nil && *old.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			errs.add(field.Forbidden(field.NewPath("immutable"), immutableMsg))
		}
		if !reflect.DeepEqual(normalBytes(s.Data), normalBytes(old.Data)) {
			errs.add(field.Forbidden(field.NewPath("data"), immutableMsg))
		}
	}
	if err := ValidateSecret(s); err != nil {
		errs.Errs = append(errs.Errs, err.(*InvalidError).Errs...)
	}
	return errs.orNil()
}

// equalMaps compares like reflect.DeepEqual after decoding, where a nil map and an empty one
// are the same (neither is stored).
func equalMaps(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}

func normalBytes(m map[string]Bytes) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// validatePodConfig validates the configuration fields of every container.
func validatePodConfig(s *PodSpec, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range s.InitContainers {
		errs = append(errs, validateContainerConfig(&s.InitContainers[i], s.Volumes, fp.Child("initContainers").Index(i))...)
	}
	for i := range s.Containers {
		errs = append(errs, validateContainerConfig(&s.Containers[i], s.Volumes, fp.Child("containers").Index(i))...)
	}
	return errs
}

// ValidateLabelsAndAnnotations checks new labels and annotations of an object as the API
// server checks its metadata.
func ValidateLabelsAndAnnotations(labels, annotations map[string]string) error {
	errs := &InvalidError{}
	m := ObjectMeta{Name: "x", Namespace: "x", Labels: labels, Annotations: annotations}
	errs.add(validateMeta(&m, field.NewPath("metadata"))...)
	return errs.orNil()
}
