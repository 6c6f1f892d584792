package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// FieldError is one problem in a manifest.
type FieldError struct {
	Field  string // JSON path such as "spec.containers[1].name"; empty if the problem is the whole input
	Detail string // e.g. `Duplicate value: "web"` or "not supported yet"
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Detail
	}
	return e.Field + ": " + e.Detail
}

// InvalidError lists every problem found in a manifest, each naming its field path.
type InvalidError struct {
	Errs []FieldError
}

// Error prints one problem per line.
func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// add appends Kubernetes-style validation errors.
func (e *InvalidError) add(errs ...*field.Error) {
	for _, fe := range errs {
		e.Errs = append(e.Errs, FieldError{Field: fe.Field, Detail: fe.ErrorBody()})
	}
}

// orNil returns e as an error, or a nil error (not a typed nil) if e holds no problem.
func (e *InvalidError) orNil() error {
	if len(e.Errs) == 0 {
		return nil
	}
	return e
}

// invalidInput reports input that is not a single JSON object, on one line (yaml's own
// errors span several).
func invalidInput(format string, args ...any) error {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	return &InvalidError{Errs: []FieldError{{Detail: msg}}}
}

// Load decodes a Kubernetes v1 Pod manifest (YAML or JSON), rejects unknown and unsupported
// fields, applies Kubernetes' defaults and validates it like the API server. On failure the
// error is an *InvalidError.
func Load(data []byte) (*Pod, error) {
	p, _, err := LoadLenient(data, false)
	return p, err
}

// LoadLenient is Load, except that with ignoreUnknown, fields Kubernetes does not have are
// dropped and returned (as the API server's fieldValidation=Warn or Ignore) instead of failing.
func LoadLenient(data []byte, ignoreUnknown bool) (*Pod, []string, error) {
	obj, err := parseDocument(data)
	if err != nil {
		return nil, nil, err
	}
	errs := &InvalidError{}
	errs.add(checkTypeMeta(obj, []string{"Pod"})...)
	if len(errs.Errs) > 0 {
		return nil, nil, errs // not a Pod: its fields would only add noise
	}
	return loadPodLenient(obj, ignoreUnknown)
}

// loadPod decodes a Pod whose type meta is checked.
func loadPod(obj map[string]any) (*Pod, error) {
	p, _, err := loadPodLenient(obj, false)
	return p, err
}

// loadPodLenient is loadPod; with ignoreUnknown, unknown fields are dropped and returned.
func loadPodLenient(obj map[string]any, ignoreUnknown bool) (*Pod, []string, error) {
	errs := &InvalidError{}
	c := &fieldChecker{ignoreUnknown: ignoreUnknown}
	c.checkObject(obj, knownFields(), supportedFields(), nil, "")
	errs.Errs = append(errs.Errs, c.errs...)
	if c.typeErrs {
		// The values that failed were dropped; validating the rest would add bogus
		// "Required value" errors for them.
		return nil, nil, errs
	}

	p := &Pod{}
	if err := strictDecode(obj, p); err != nil {
		return nil, nil, err
	}
	// Server-set output fields, which the API server ignores on create too.
	p.Status = PodStatus{}
	p.Metadata.DeletionTimestamp = nil
	p.Metadata.DeletionGracePeriodSeconds = nil
	prepareMetaForCreate(&p.Metadata)

	SetDefaults(p)
	if err := Validate(p); err != nil {
		errs.Errs = append(errs.Errs, err.(*InvalidError).Errs...)
	}
	if err := errs.orNil(); err != nil {
		return nil, nil, err
	}
	return p, c.unknown, nil
}

// strictDecode decodes a checked generic object into v. Only supported, well-typed fields
// remain, so it fails only on a bug here.
func strictDecode(obj map[string]any, v any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return invalidInput("re-encoding manifest: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidInput("decoding manifest: %v", err)
	}
	return nil
}

// parseDocument converts YAML or JSON holding exactly one object to a generic JSON object
// (see decodeObject).
func parseDocument(data []byte) (map[string]any, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	switch len(docs) {
	case 0:
		return nil, invalidInput("empty manifest: expected a Pod")
	case 1:
	default:
		return nil, invalidInput("more than one YAML document: a manifest holds exactly one Pod")
	}
	v, err := decodeDocument(docs[0])
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalidInput("manifest is %s, expected a Pod object", describe(v))
	}
	return obj, nil
}

// splitDocuments splits YAML (or JSON) into its documents, as JSON, leaving out empty ones.
func splitDocuments(data []byte) ([][]byte, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	// kubectl's document splitter, so "---" means what it means to kubectl.
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, invalidInput("%v", err)
		}
		// Strict: duplicate keys are an error, as in the API server's strict decoding.
		j, err := yaml.YAMLToJSONStrict(d)
		if err != nil {
			return nil, invalidInput("%v", err)
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue // only comments, or an empty document between "---" lines
		}
		docs = append(docs, j)
	}
}

// decodeDocument decodes one JSON document to a generic value, with numbers as json.Number
// so that integers keep their exact value and type checks can tell 1 from 1.5.
func decodeDocument(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidInput("%v", err)
	}
	return v, nil
}

// checkTypeMeta checks that obj is a v1 object of one of the kinds.
func checkTypeMeta(obj map[string]any, kinds []string) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		want []string
	}{{"apiVersion", []string{"v1"}}, {"kind", kinds}} {
		p := field.NewPath(f.name)
		switch v, ok := obj[f.name].(string); {
		case obj[f.name] == nil:
			errs = append(errs, field.Required(p, ""))
		case !ok:
			errs = append(errs, typeError(p, obj[f.name], "a string"))
		case v == "":
			errs = append(errs, field.Required(p, ""))
		case !slices.Contains(f.want, v):
			errs = append(errs, field.NotSupported(p, v, f.want))
		}
	}
	return errs
}

// acceptedDefaults are unsupported fields accepted when they hold Kubernetes' default value,
// because generated manifests (kubectl create/run --dry-run -o yaml, kubectl get -o yaml)
// carry them and minipod behaves the same as with the default. Empty values need no entry:
// those count as absent anyway (so securityContext: {} and resources: {} load).
var acceptedDefaults = map[string]func(v any) bool{}

func equals(want string) func(any) bool {
	return func(v any) bool { return v == want }
}

// fieldChecker walks a generic manifest against the tree of Kubernetes fields and the tree
// of supported ones, recording problems and deleting every field that must not reach the
// strict decoder (ignored, unknown, unsupported or ill-typed ones).
type fieldChecker struct {
	errs     []FieldError
	typeErrs bool
	// ignoreUnknown drops unknown fields, listing them in unknown, instead of reporting them.
	ignoreUnknown bool
	unknown       []string
}

func (c *fieldChecker) report(path *field.Path, detail string) {
	c.errs = append(c.errs, FieldError{Field: path.String(), Detail: detail})
}

// checkObject checks obj, the value of a supported field whose nodes in the two trees are
// known and supported. pattern is the path with "[]" for indices, as in acceptedDefaults.
func (c *fieldChecker) checkObject(obj map[string]any, known, supported *fieldNode, path *field.Path, pattern string) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		p, pat := field.NewPath(k), k
		if path != nil {
			p, pat = path.Child(k), pattern+"."+k
		}
		kn, sn := known.child(k), supported.child(k)
		switch {
		case pat == "status":
			delete(obj, k) // output, ignored like kubectl ignores it
		case kn == nil && sn == nil:
			if c.ignoreUnknown {
				c.unknown = append(c.unknown, p.String())
			} else {
				c.report(p, fmt.Sprintf("unknown field %q (not a Kubernetes Pod field)", k))
			}
			delete(obj, k)
		case sn == nil:
			if !isEmpty(v) && !(acceptedDefaults[pat] != nil && acceptedDefaults[pat](v)) {
				c.report(p, refusal(pat))
			}
			delete(obj, k)
		default:
			if kn == nil {
				kn = sn
			}
			if !c.checkValue(v, kn, sn, p, pat) {
				delete(obj, k)
			}
		}
	}
}

// checkValue checks the value of a supported field and reports whether it is well-typed.
func (c *fieldChecker) checkValue(v any, known, supported *fieldNode, path *field.Path, pattern string) bool {
	if v == nil {
		return true // null is absent, whatever the type
	}
	var typ reflect.Type
	if supported != nil {
		typ = supported.typ
	}
	if err := checkType(v, typ, path); err != nil {
		c.errs = append(c.errs, FieldError{Field: err.Field, Detail: err.ErrorBody()})
		c.typeErrs = true
		return false
	}
	if typ != nil && hasOwnEncoding(deref(typ)) {
		return true // decoded whole by its own method (Quantity, UnprovidedSource, ...)
	}
	switch v := v.(type) {
	case map[string]any:
		if len(known.children) > 0 {
			c.checkObject(v, known, supported, path, pattern)
		}
	case []any:
		if elem := known.child("[]"); elem != nil {
			selem := supported.child("[]")
			for i, e := range v {
				if !c.checkValue(e, elem, selem, path.Index(i), pattern+"[]") {
					v[i] = nil
				}
			}
		}
	}
	return true
}

// checkType checks that the generic value v can be decoded into Go type t (nil: unknown, no
// check), so that a mistyped value is reported with its full path rather than by
// encoding/json, whose errors drop list indices.
func checkType(v any, t reflect.Type, path *field.Path) *field.Error {
	if v == nil || t == nil {
		return nil
	}
	t = deref(t)
	if hasOwnEncoding(t) {
		b, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b)
		}
		if err != nil {
			bad := shortValue(v)
			if t == reflect.TypeFor[Bytes]() {
				bad = "<secret contents redacted>" // binary data is not echoed
			}
			return field.Invalid(path, bad, err.Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return typeError(path, v, "a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return typeError(path, v, "a boolean")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return typeError(path, v, "an integer")
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); errors.Is(err, strconv.ErrRange) {
			return field.Invalid(path, n, fmt.Sprintf("must fit in %d bits", t.Bits()))
		} else if err != nil {
			return field.Invalid(path, n, "must be an integer")
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return typeError(path, v, "a list")
		}
		if et := deref(t.Elem()); et.Kind() != reflect.Struct || hasOwnEncoding(et) {
			for i, e := range l {
				if err := checkType(e, et, path.Index(i)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return typeError(path, v, "an object")
		}
		if et := deref(t.Elem()); et.Kind() != reflect.Struct || hasOwnEncoding(et) {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if err := checkType(m[k], et, path.Key(k)); err != nil {
					return err
				}
			}
		}
	case reflect.Struct:
		if _, ok := v.(map[string]any); !ok {
			return typeError(path, v, "an object")
		}
	}
	return nil
}

func typeError(path *field.Path, v any, want string) *field.Error {
	return field.TypeInvalid(path, shortValue(v), fmt.Sprintf("must be %s, not %s", want, describe(v)))
}

// shortValue keeps objects and lists out of error messages.
func shortValue(v any) any {
	switch v.(type) {
	case map[string]any, []any:
		return field.OmitValueType{}
	}
	return v
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// isEmpty reports whether v is null, "", [] or an object of only empty values: such a field
// is as good as absent.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, e := range v {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	}
	return false
}

// MaxInputSize bounds a manifest, or any other input file minipod reads whole: the
// Kubernetes API server's limit on a request body (3 MiB).
const MaxInputSize = 3 << 20

// ReadInput reads all of r, refusing, before it is read whole, input larger than
// MaxInputSize. name says what is read, for the error.
func ReadInput(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxInputSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes (the API server's limit on a request)", name, MaxInputSize)
	}
	return b, nil
}
