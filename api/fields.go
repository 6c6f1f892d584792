package api

import (
	_ "embed"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// k8sPodFields lists every JSON field path of Kubernetes' core/v1 Pod, generated from
// k8s.io/api by TestKnownFieldsUpToDate. It is a text file rather than a reflection over
// k8s.io/api at run time because linking k8s.io/api costs every process ~7 MB of RSS.
//
//go:embed k8s_pod_fields.txt
var k8sPodFields string

// fieldNode is one JSON field in a tree of field paths. The element of a list of objects is
// the child named "[]". A node without children is a leaf: a scalar, a list of scalars, a
// map (opaque: its keys are data, not field names) or a type with its own JSON encoding.
type fieldNode struct {
	children map[string]*fieldNode
	typ      reflect.Type // Go type of the value; set only in the tree built by reflection
}

func (n *fieldNode) child(name string) *fieldNode {
	if n == nil {
		return nil
	}
	return n.children[name]
}

// insert adds a path in the notation of k8s_pod_fields.txt and returns its node.
func (n *fieldNode) insert(path string) *fieldNode {
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		n = n.add(name)
		for range strings.Count("["+rest, "[]") {
			n = n.add("[]")
		}
	}
	return n
}

func (n *fieldNode) add(name string) *fieldNode {
	if n.children == nil {
		n.children = map[string]*fieldNode{}
	}
	c := n.children[name]
	if c == nil {
		c = &fieldNode{}
		n.children[name] = c
	}
	return c
}

// knownFields is the tree of all Kubernetes Pod fields.
var knownFields = sync.OnceValue(func() *fieldNode { return listedFields(k8sPodFields) })

// supportedFields is the tree of the fields minipod implements, derived from its own types so
// that adding a field to types.go is all it takes to accept it in manifests.
// It lives as long as the process.
var supportedFields = sync.OnceValue(func() *fieldNode { return typeFields(reflect.TypeFor[Pod]()) })

// listedFields is the tree of the field paths of a file like k8s_pod_fields.txt.
func listedFields(list string) *fieldNode {
	root := &fieldNode{}
	for _, line := range strings.Split(list, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			root.insert(line)
		}
	}
	return root
}

// typeFields is the tree of the JSON fields of struct type t, each with its Go type: the
// fields walkFields finds, with one subtree per struct type, shared wherever the type appears
// (the fields of a container under containers, initContainers and ephemeralContainers).
func typeFields(t reflect.Type) *fieldNode {
	b := &treeBuilder{done: map[reflect.Type]map[string]*fieldNode{}, expanding: map[reflect.Type]bool{}}
	return &fieldNode{children: b.fields(deref(t))}
}

// treeBuilder builds the supported tree, as walkFields walks it.
type treeBuilder struct {
	done      map[reflect.Type]map[string]*fieldNode
	expanding map[reflect.Type]bool
}

// fields returns the nodes of struct type t's fields; nil for a type nested inside itself,
// which walkFields does not expand again.
func (b *treeBuilder) fields(t reflect.Type) map[string]*fieldNode {
	if c, ok := b.done[t]; ok {
		return c
	}
	if b.expanding[t] {
		return nil
	}
	b.expanding[t] = true
	c := map[string]*fieldNode{}
	structFields(t, func(name string, ft reflect.Type) {
		n := &fieldNode{typ: ft}
		c[name] = n
		et := deref(ft)
		for et.Kind() == reflect.Slice || et.Kind() == reflect.Array {
			n.children = map[string]*fieldNode{"[]": {}}
			n = n.children["[]"]
			et = deref(et.Elem())
		}
		if et.Kind() == reflect.Struct && !hasOwnEncoding(et) {
			n.children = b.fields(et)
		}
	})
	delete(b.expanding, t)
	b.done[t] = c
	return c
}

// fieldPaths returns the sorted JSON field paths of t in the notation of k8s_pod_fields.txt.
func fieldPaths(t reflect.Type) []string {
	var paths []string
	walkFields(t, func(path string, _ reflect.Type) { paths = append(paths, path) })
	slices.Sort(paths)
	return slices.Compact(paths)
}

// walkFields calls fn for every JSON field reachable from struct type t, as encoding/json sees
// them: embedded structs without a name and `,inline` fields are flattened, "-" is skipped,
// types with their own JSON or text encoding (Quantity, IntOrString, Time) are leaves, and map
// values are opaque. A type nested inside itself is not expanded again.
func walkFields(t reflect.Type, fn func(path string, t reflect.Type)) {
	expanding := map[reflect.Type]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		expanding[t] = true
		defer delete(expanding, t)
		structFields(t, func(name string, ft reflect.Type) {
			path := prefix + name
			fn(path, ft)
			et := deref(ft)
			for et.Kind() == reflect.Slice || et.Kind() == reflect.Array {
				path += "[]"
				et = deref(et.Elem())
			}
			if et.Kind() == reflect.Struct && !hasOwnEncoding(et) && !expanding[et] {
				walk(et, path+".")
			}
		})
	}
	walk(deref(t), "")
}

// structFields calls fn for each JSON field of struct type t.
func structFields(t reflect.Type, fn func(name string, t reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := slices.Contains(strings.Split(opts, ","), "inline") || (f.Anonymous && name == "")
		if ft := deref(f.Type); inline && ft.Kind() == reflect.Struct && !hasOwnEncoding(ft) {
			structFields(ft, fn)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fn(name, f.Type)
	}
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// hasOwnEncoding reports whether encoding/json decodes t with t's own method.
func hasOwnEncoding(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler)
}
