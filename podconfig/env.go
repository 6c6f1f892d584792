package podconfig

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/minipod/minipod/api"
)

// EnvInput is what a container's environment depends on.
type EnvInput struct {
	Pod       *api.Pod
	Container *api.Container
	Facts     Facts
	Objects   Source
	// OpenEnvFile opens a file of one of the pod's volumes for fileKeyRef and says where it
	// is on the host (for messages); ErrNoVolume if the pod has no such volume.
	OpenEnvFile func(volume, path string) (io.ReadCloser, string, error)
}

// ErrNoVolume is OpenEnvFile's answer for a volume the pod does not have.
var ErrNoVolume = errors.New("no such volume")

// orderedEnv is the kubelet's tmpEnv map with an order: a variable keeps the place where it
// was first set, so that the environment is the same at every start (the kubelet's is in
// map order).
type orderedEnv struct {
	names []string
	vals  map[string]string
}

func (e *orderedEnv) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.names = append(e.names, k)
	}
	e.vals[k] = v
}

// Env computes a container's environment as the kubelet's makeEnvironmentVariables does:
// envFrom first, in order (a later source's key wins; names with the prefix; keys that are
// not variable names skipped with an InvalidEnvironmentVariableNames event), then env in
// order, each replacing a variable of the same name: a value with $(VAR) expanded from the
// variables so far, or a value from its source. A missing required ConfigMap, Secret or key
// is an error with the kubelet's message (the container waits with
// CreateContainerConfigError); an optional one leaves the variable out.
func Env(in *EnvInput) ([]api.EnvVar, []Event, error) {
	pod, c := in.Pod, in.Container
	ns := pod.Metadata.Namespace
	env := &orderedEnv{vals: map[string]string{}}
	var events []Event
	configMaps := map[string]*api.ConfigMap{}
	secrets := map[string]*api.Secret{}
	getConfigMap := func(name string) (*api.ConfigMap, error) {
		if cm, ok := configMaps[name]; ok {
			return cm, nil
		}
		cm, err := in.Objects.ConfigMap(ns, name)
		if err == nil {
			configMaps[name] = cm
		}
		return cm, err
	}
	getSecret := func(name string) (*api.Secret, error) {
		if s, ok := secrets[name]; ok {
			return s, nil
		}
		s, err := in.Objects.Secret(ns, name)
		if err == nil {
			secrets[name] = s
		}
		return s, err
	}

	for _, from := range c.EnvFrom {
		var data map[string]string
		var what, name string
		switch {
		case from.ConfigMapRef != nil:
			what, name = "configMap", from.ConfigMapRef.Name
			cm, err := getConfigMap(name)
			if err != nil {
				if isNotFound(err) && isTrue(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, nil, err
			}
			data = cm.Data
		case from.SecretRef != nil:
			what, name = "secret", from.SecretRef.Name
			s, err := getSecret(name)
			if err != nil {
				if isNotFound(err) && isTrue(from.SecretRef.Optional) {
					continue
				}
				return nil, nil, err
			}
			data = make(map[string]string, len(s.Data))
			for k, v := range s.Data {
				data[k] = string(v)
			}
		default:
			continue
		}
		var invalid []string
		for _, k := range slices.Sorted(maps.Keys(data)) {
			key := from.Prefix + k
			if len(validation.IsRelaxedEnvVarName(key)) > 0 {
				invalid = append(invalid, key)
				continue
			}
			env.set(key, data[k])
		}
		if len(invalid) > 0 {
			events = append(events, Event{Type: api.EventWarning, Reason: "InvalidEnvironmentVariableNames",
				Message: fmt.Sprintf("Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
					strings.Join(invalid, ", "), what, ns, name)})
		}
	}

	for _, ev := range c.Env {
		val := ev.Value
		switch from := ev.ValueFrom; {
		case val != "":
			val = Expand(val, env.vals)
		case from == nil:
		case from.FieldRef != nil:
			v, err := FieldValue(from.FieldRef, pod, in.Facts)
			if err != nil {
				return nil, nil, err
			}
			val = v
		case from.ResourceFieldRef != nil:
			v, err := ResourceValue(from.ResourceFieldRef, pod, c, in.Facts.Allocatable)
			if err != nil {
				return nil, nil, err
			}
			val = v
		case from.ConfigMapKeyRef != nil:
			ref := from.ConfigMapKeyRef
			cm, err := getConfigMap(ref.Name)
			if err != nil {
				if isNotFound(err) && isTrue(ref.Optional) {
					continue
				}
				return nil, nil, err
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				if isTrue(ref.Optional) {
					continue
				}
				return nil, nil, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, ns, ref.Name)
			}
			val = v
		case from.SecretKeyRef != nil:
			ref := from.SecretKeyRef
			s, err := getSecret(ref.Name)
			if err != nil {
				if isNotFound(err) && isTrue(ref.Optional) {
					continue
				}
				return nil, nil, err
			}
			v, ok := s.Data[ref.Key]
			if !ok {
				if isTrue(ref.Optional) {
					continue
				}
				return nil, nil, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, ns, ref.Name)
			}
			val = string(v)
		case from.FileKeyRef != nil:
			v, skip, err := fileKeyValue(in, from.FileKeyRef)
			if err != nil {
				return nil, nil, err
			}
			if skip {
				continue
			}
			val = v
		}
		env.set(ev.Name, val)
	}

	out := make([]api.EnvVar, len(env.names))
	for i, n := range env.names {
		out[i] = api.EnvVar{Name: n, Value: env.vals[n]}
	}
	return out, events, nil
}

// fileKeyValue is the kubelet's fileKeyRef case: the key's value in the env file, or skip for
// an optional key that is absent (or empty: the kubelet cannot tell them apart).
func fileKeyValue(in *EnvInput, f *api.FileKeySelector) (string, bool, error) {
	if in.OpenEnvFile == nil {
		return "", false, fmt.Errorf("cannot find the volume %q referenced by FileKeyRef", f.VolumeName)
	}
	r, hostPath, err := in.OpenEnvFile(f.VolumeName, f.Path)
	if errors.Is(err, ErrNoVolume) {
		return "", false, fmt.Errorf("cannot find the volume %q referenced by FileKeyRef", f.VolumeName)
	}
	if err != nil {
		// The kubelet logs the cause and reports this much.
		return "", false, fmt.Errorf("couldn't parse env file")
	}
	defer r.Close()
	v, err := ParseEnvFile(r, f.Key)
	if err != nil {
		return "", false, fmt.Errorf("couldn't parse env file")
	}
	if v == "" {
		if isTrue(f.Optional) {
			return "", true, nil
		}
		return "", false, fmt.Errorf("environment variable key %q not found in file %q", f.Key, hostPath)
	}
	return v, false, nil
}

// ParseEnvFile is the kubelet's ParseEnv (pkg/kubelet/util/env): a strict subset of POSIX
// shell syntax where every value is in single quotes (kept literally, newlines included),
// comments and blank lines are skipped, no space may precede '=', and a space after it
// makes the value empty. It returns the value of key, "" if absent.
func ParseEnvFile(r io.Reader, key string) (string, error) {
	sc := bufio.NewScanner(r)
	lineNum := 0
	for sc.Scan() {
		lineNum++
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		eq := strings.Index(line, "=")
		if eq == -1 {
			return "", fmt.Errorf("invalid environment variable format at line %d: missing '='", lineNum)
		}
		namePart := line[:eq]
		name := strings.TrimRight(namePart, " \t")
		if name == "" {
			return "", fmt.Errorf("invalid environment variable format at line %d: empty variable name", lineNum)
		}
		if namePart != name {
			return "", fmt.Errorf("invalid environment variable format at line %d: whitespace before '=' is not allowed", lineNum)
		}
		valuePart := line[eq+1:]
		trimmed := strings.TrimLeft(valuePart, " \t")
		if valuePart != trimmed {
			// As in a shell: KEY= 'v' assigns the empty string.
			if name == key {
				return "", nil
			}
			continue
		}
		if !strings.HasPrefix(trimmed, "'") {
			return "", fmt.Errorf("invalid environment variable format at line %d: value must be enclosed in single quotes", lineNum)
		}
		var value strings.Builder
		rest := trimmed[1:]
		start := lineNum
		for {
			if i := strings.Index(rest, "'"); i != -1 {
				value.WriteString(rest[:i])
				after := strings.TrimLeft(rest[i+1:], " \t")
				if after != "" && !strings.HasPrefix(after, "#") {
					return "", fmt.Errorf("invalid environment variable format at line %d: unexpected content after closing quote", lineNum)
				}
				if name == key {
					return value.String(), nil
				}
				break
			}
			value.WriteString(rest)
			value.WriteString("\n")
			if !sc.Scan() {
				return "", fmt.Errorf("invalid environment variable format starting at line %d: unclosed single quote", start)
			}
			lineNum++
			rest = sc.Text()
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("error reading environment variable file: %w", err)
	}
	return "", nil
}

func isNotFound(err error) bool {
	var nf *api.NotFoundError
	return errors.As(err, &nf)
}

func isTrue(b *bool) bool { return b != nil && *b }

// Expand implements Kubernetes' $(VAR) syntax (third_party/forked/golang/expansion): $(NAME)
// becomes the value of NAME if defined and stays literal otherwise, $$ becomes $, and any
// other $ is literal.
func Expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
