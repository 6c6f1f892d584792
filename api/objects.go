package api

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Object is a Kubernetes object a manifest may hold: a Pod, or an object pods use.
type Object interface {
	GetKind() string
	GetMeta() *ObjectMeta
}

func (p *Pod) GetKind() string            { return "Pod" }
func (p *Pod) GetMeta() *ObjectMeta       { return &p.Metadata }
func (c *ConfigMap) GetKind() string      { return "ConfigMap" }
func (c *ConfigMap) GetMeta() *ObjectMeta { return &c.Metadata }
func (s *Secret) GetKind() string         { return "Secret" }
func (s *Secret) GetMeta() *ObjectMeta    { return &s.Metadata }

func (c *PersistentVolumeClaim) GetKind() string      { return "PersistentVolumeClaim" }
func (c *PersistentVolumeClaim) GetMeta() *ObjectMeta { return &c.Metadata }

// kind is how one kind of object is read from a manifest.
type kind struct {
	// load decodes, defaults and validates an object whose apiVersion and kind are checked.
	load func(obj map[string]any) (Object, error)
}

// kinds are the kinds a manifest may hold. Another kind is added here with its loader.
var kinds = map[string]kind{
	"Pod":       {load: func(obj map[string]any) (Object, error) { return loadPod(obj) }},
	"ConfigMap": {load: loadConfigMap},
	"Secret":    {load: loadSecret},
	// Made a named volume by `run` (volume.Claims.Create): pvc.go.
	"PersistentVolumeClaim": {load: loadPersistentVolumeClaim},
}

// Kinds are the kinds LoadObjects accepts, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(kinds)) }

// LoadObjects decodes a manifest of one or more YAML documents (or JSON), as `kubectl apply`
// and `podman kube play` read them: each a v1 object of a supported kind, checked as Load
// checks a Pod, defaulted and validated like the API server. Every problem of every document
// is reported (an *InvalidError); with several documents, each problem names its document.
func LoadObjects(data []byte) ([]Object, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, invalidInput("empty manifest: expected a Pod, ConfigMap, Secret or PersistentVolumeClaim")
	}
	var objs []Object
	errs := &InvalidError{}
	for i, doc := range docs {
		o, err := loadDocument(doc)
		if err == nil {
			objs = append(objs, o)
			continue
		}
		ie := err.(*InvalidError)
		if len(docs) == 1 {
			return nil, ie
		}
		where := fmt.Sprintf("document %d", i+1)
		if k, n := docIdentity(doc); k != "" && n != "" {
			where += fmt.Sprintf(" (%s/%s)", strings.ToLower(k), n)
		}
		for _, fe := range ie.Errs {
			if fe.Field == "" {
				fe.Field = where
			} else {
				fe.Field = where + ": " + fe.Field
			}
			errs.Errs = append(errs.Errs, fe)
		}
	}
	if err := errs.orNil(); err != nil {
		return nil, err
	}
	return objs, nil
}

func loadDocument(doc []byte) (Object, error) {
	v, err := decodeDocument(doc)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalidInput("document is %s, expected an object", describe(v))
	}
	errs := &InvalidError{}
	errs.add(checkTypeMeta(obj, Kinds())...)
	if len(errs.Errs) > 0 {
		return nil, errs
	}
	return kinds[obj["kind"].(string)].load(obj)
}

// docIdentity is the kind and name a document says it has, for errors.
func docIdentity(doc []byte) (string, string) {
	v, err := decodeDocument(doc)
	if err != nil {
		return "", ""
	}
	obj, _ := v.(map[string]any)
	k, _ := obj["kind"].(string)
	md, _ := obj["metadata"].(map[string]any)
	n, _ := md["name"].(string)
	return k, n
}

// objectFields returns the trees of known and of supported fields of an object type other
// than Pod: its own fields, and metadata as a Pod's (so that metadata.ownerReferences is
// "not supported yet" and metadata.foo unknown).
func objectFields(t reflect.Type) (known, supported *fieldNode) {
	supported, known = &fieldNode{}, &fieldNode{}
	walkFields(t, func(path string, ft reflect.Type) {
		supported.insert(path).typ = ft
		if !strings.HasPrefix(path, "metadata.") {
			known.insert(path)
		}
	})
	known.children["metadata"] = knownFields().child("metadata")
	return known, supported
}

var (
	configMapFields = sync.OnceValues(func() (*fieldNode, *fieldNode) { return objectFields(reflect.TypeFor[ConfigMap]()) })
	secretFields    = sync.OnceValues(func() (*fieldNode, *fieldNode) { return objectFields(reflect.TypeFor[Secret]()) })
)

// checkFields runs the field checker over obj; it returns an error if the object cannot be
// decoded (unknown, unsupported or ill-typed fields).
func checkFields(obj map[string]any, trees func() (*fieldNode, *fieldNode)) error {
	known, supported := trees()
	c := &fieldChecker{}
	c.checkObject(obj, known, supported, nil, "")
	if len(c.errs) > 0 {
		return &InvalidError{Errs: c.errs}
	}
	return nil
}

// clearServerFields drops what the API server sets itself and ignores on create.
func clearServerFields(m *ObjectMeta) {
	m.UID = ""
	m.CreationTimestamp = nil
	m.DeletionTimestamp = nil
	m.DeletionGracePeriodSeconds = nil
	if m.Namespace == "" {
		m.Namespace = DefaultNamespace
	}
}

func loadConfigMap(obj map[string]any) (Object, error) {
	if err := checkFields(obj, configMapFields); err != nil {
		return nil, err
	}
	cm := &ConfigMap{}
	if err := strictDecode(obj, cm); err != nil {
		return nil, err
	}
	clearServerFields(&cm.Metadata)
	if err := ValidateConfigMap(cm); err != nil {
		return nil, err
	}
	return cm, nil
}

func loadSecret(obj map[string]any) (Object, error) {
	if err := checkFields(obj, secretFields); err != nil {
		return nil, err
	}
	s := &Secret{}
	if err := strictDecode(obj, s); err != nil {
		return nil, err
	}
	clearServerFields(&s.Metadata)
	SetSecretDefaults(s)
	if err := ValidateSecret(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NotFoundError is an object of the pod's namespace that does not exist, as the kubelet's
// object caches report it (configmap "x" not found).
type NotFoundError struct {
	Resource string // configmap, secret
	Name     string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Resource, e.Name) }
