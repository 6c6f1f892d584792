package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/objects"
	"github.com/minipod/minipod/state"
)

// ConfigMaps and Secrets, served as the API server serves them (pkg/registry/core/configmap,
// pkg/registry/core/secret: strategy.go, and the generic registry's create, update, patch and
// delete), from the one store of package objects that `minipod run` and the pods' monitors
// use: an object created through the API is the one `minipod get configmaps` lists and a
// pod's volume projects, and one created by the CLI is served here.
//
// Their changes go into the store's one change log (store.go) with the pods' and events',
// so that list and watch have the pods' resourceVersion semantics. A write through the API
// takes its version from the clock, stores it in the object's file and logs it at once; a
// change made by someone else (the CLI) is noticed through inotify on the store's
// directories and logged with a version of the daemon's. At start the objects are read with
// the version their file has (or the start's), as the pods are.

// objEntry is an object as served, and its content without the version, to tell a change
// made elsewhere from one already logged.
type objEntry struct {
	obj api.Object
	sum string
}

// objKind is how one stored kind is served.
type objKind struct {
	kind     string // ConfigMap
	res      resource
	singular string
	columns  []metav1.TableColumnDefinition
	cells    func(o api.Object) []any // the cells before Age
	fields   func(o api.Object) fields.Set
	patchTo  any // the typed object strategic merge patches follow
}

// Columns of the API server's printers (pkg/printers/internalversion/printers.go
// configMapColumnDefinitions, printConfigMap; secretColumnDefinitions, printSecret).
var (
	configMapKind = &objKind{kind: "ConfigMap", res: resource{"", "configmaps"}, singular: "configmap",
		columns: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
			{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
			{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
		},
		cells: func(o api.Object) []any {
			cm := o.(*api.ConfigMap)
			return []any{cm.Metadata.Name, int64(len(cm.Data) + len(cm.BinaryData))}
		},
		// pkg/registry/core/configmap/strategy.go SelectableFields: the object meta's.
		fields: func(o api.Object) fields.Set {
			m := o.GetMeta()
			return fields.Set{"metadata.name": m.Name, "metadata.namespace": m.Namespace}
		},
		patchTo: corev1.ConfigMap{},
	}
	secretKind = &objKind{kind: "Secret", res: resource{"", "secrets"}, singular: "secret",
		columns: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
			{Name: "Type", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["type"]},
			{Name: "Data", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["data"]},
			{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
		},
		cells: func(o api.Object) []any {
			s := o.(*api.Secret)
			return []any{s.Metadata.Name, string(s.Type), int64(len(s.Data))}
		},
		// pkg/registry/core/secret/strategy.go SelectableFields: the object meta's and type.
		fields: func(o api.Object) fields.Set {
			m := o.GetMeta()
			return fields.Set{"metadata.name": m.Name, "metadata.namespace": m.Namespace, "type": string(o.(*api.Secret).Type)}
		},
		patchTo: corev1.Secret{},
	}
	objKinds = []*objKind{configMapKind, secretKind}
)

func (k *objKind) empty() api.Object {
	if k == configMapKind {
		return &api.ConfigMap{APIVersion: "v1", Kind: "ConfigMap"}
	}
	return &api.Secret{APIVersion: "v1", Kind: "Secret", Type: api.SecretTypeOpaque}
}

func objKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// objSum is an object's content without its version.
func objSum(o api.Object) string {
	c := copyObject(o)
	c.GetMeta().ResourceVersion = ""
	b, _ := json.Marshal(c)
	return string(b)
}

// copyObject is a deep copy (through JSON: the objects are small).
func copyObject(o api.Object) api.Object {
	var c api.Object
	switch o.(type) {
	case *api.ConfigMap:
		c = &api.ConfigMap{}
	default:
		c = &api.Secret{}
	}
	b, _ := json.Marshal(o)
	json.Unmarshal(b, c)
	return c
}

// objectsState is the daemon's side of the object store: the store, and a mutex that
// orders the daemon's writes with its rescans, so that a rescan never logs an older file
// over a write it has not seen.
type objectsState struct {
	store *objects.Store
	mu    sync.Mutex
}

// loadObjects reads every object before the daemon serves anything.
func (s *store) loadObjects(st *objects.Store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs = map[string]objEntry{}
	for _, k := range objKinds {
		list, _ := st.List(k.kind, "")
		for _, o := range list {
			rv, err := state.ParseRV(o.GetMeta().ResourceVersion)
			if err != nil || rv == 0 || rv > s.current {
				rv = s.current
			}
			o.GetMeta().ResourceVersion = state.FormatRV(rv)
			s.objs[objKey(k.kind, o.GetMeta().Namespace, o.GetMeta().Name)] = objEntry{obj: o, sum: objSum(o)}
		}
	}
}

// noteObjectLocked logs o (nil: key deleted, old being the object that was) unless it is
// what is served already, and returns the object as served.
func (s *store) noteObjectLocked(key string, o api.Object) api.Object {
	old, had := s.objs[key]
	if o == nil {
		if !had {
			return nil
		}
		rv := max(s.clock.Next(), s.current+1)
		gone := copyObject(old.obj)
		gone.GetMeta().ResourceVersion = state.FormatRV(rv)
		s.appendLocked(change{rv: rv, typ: evDeleted, obj: gone})
		delete(s.objs, key)
		return gone
	}
	sum := objSum(o)
	if had && old.sum == sum {
		return old.obj
	}
	rv, _ := state.ParseRV(o.GetMeta().ResourceVersion)
	if rv <= s.current || (had && old.obj.GetMeta().ResourceVersion == o.GetMeta().ResourceVersion) {
		rv = s.clock.Next() // a change made elsewhere: the file's version, if any, is not one of ours
	}
	rv = max(rv, s.current+1)
	snap := copyObject(o)
	snap.GetMeta().ResourceVersion = state.FormatRV(rv)
	typ := evModified
	if !had {
		typ = evAdded
	}
	s.appendLocked(change{rv: rv, typ: typ, obj: snap})
	s.objs[key] = objEntry{obj: snap, sum: sum}
	return snap
}

// rescanObjects logs whatever changed in the object store since it was last read.
func (s *Server) rescanObjects() {
	s.objects.mu.Lock()
	defer s.objects.mu.Unlock()
	found := map[string]api.Object{}
	for _, k := range objKinds {
		list, err := s.objects.store.List(k.kind, "")
		if err != nil {
			s.log.Error("read objects", "kind", k.kind, "err", err)
			return
		}
		for _, o := range list {
			found[objKey(k.kind, o.GetMeta().Namespace, o.GetMeta().Name)] = o
		}
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	keys := make([]string, 0, len(found))
	for key := range found {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		st.noteObjectLocked(key, found[key])
	}
	for key := range st.objs {
		if _, ok := found[key]; !ok {
			st.noteObjectLocked(key, nil)
		}
	}
}

// followObjects rescans the object store whenever one of its directories changes, until the
// daemon's context ends. The directories are watched with inotify: the store's, each kind's,
// and each namespace's (added as they appear).
func (s *Server) followObjects() error {
	root := s.objects.store.Dir("ConfigMap", "x")
	root = filepath.Dir(filepath.Dir(root))
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("watch objects: %w", err)
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CLOSE_WRITE | unix.IN_ONLYDIR
	addWatches := func() {
		unix.InotifyAddWatch(fd, root, mask)
		for _, k := range objKinds {
			kd := filepath.Dir(s.objects.store.Dir(k.kind, "x"))
			if _, err := unix.InotifyAddWatch(fd, kd, mask); err != nil {
				continue
			}
			ents, _ := os.ReadDir(kd)
			for _, e := range ents {
				if e.IsDir() {
					unix.InotifyAddWatch(fd, filepath.Join(kd, e.Name()), mask)
				}
			}
		}
	}
	addWatches()
	f := os.NewFile(uintptr(fd), "inotify")
	go func() {
		<-s.ctx.Done()
		f.Close()
	}()
	go func() {
		buf := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			dirs := false
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				if ev.Mask&(unix.IN_ISDIR|unix.IN_Q_OVERFLOW) != 0 {
					dirs = true
				}
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
			if dirs {
				addWatches() // before the rescan, so that nothing written in a new directory is missed
			}
			s.rescanObjects()
		}
	}()
	s.rescanObjects() // what changed between the load and the watches
	return nil
}

// objectRoutes registers configmaps and secrets.
func (s *Server) objectRoutes(m *http.ServeMux) {
	for _, k := range objKinds {
		r := k.res.name
		m.HandleFunc("GET /api/v1/"+r, s.objList(k))
		m.HandleFunc("GET /api/v1/namespaces/{ns}/"+r, s.objList(k))
		m.HandleFunc("POST /api/v1/namespaces/{ns}/"+r, s.objCreate(k))
		m.HandleFunc("GET /api/v1/namespaces/{ns}/"+r+"/{name}", s.objGet(k))
		m.HandleFunc("PUT /api/v1/namespaces/{ns}/"+r+"/{name}", s.objUpdate(k))
		m.HandleFunc("PATCH /api/v1/namespaces/{ns}/"+r+"/{name}", s.objPatch(k))
		m.HandleFunc("DELETE /api/v1/namespaces/{ns}/"+r+"/{name}", s.objDelete(k))
	}
}

// served returns the object as served, or nil.
func (s *Server) served(k *objKind, ns, name string) api.Object {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	e, ok := s.store.objs[objKey(k.kind, ns, name)]
	if !ok {
		return nil
	}
	return e.obj
}

func (s *Server) objGet(k *objKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := s.served(k, r.PathValue("ns"), r.PathValue("name"))
		if o == nil {
			writeError(w, errNotFound(k.res, r.PathValue("name")))
			return
		}
		if wantsTable(r) {
			writeJSON(w, http.StatusOK, objTable(r, k, []api.Object{o}, state.FormatRV(s.store.currentRV())))
			return
		}
		writeJSON(w, http.StatusOK, o)
	}
}

func (s *Server) objMatcher(k *objKind, r *http.Request) (func(api.Object) bool, error) {
	ls, fs, err := selectors(r, k.fields(k.empty()))
	if err != nil {
		return nil, err
	}
	ns := r.PathValue("ns")
	return func(o api.Object) bool {
		m := o.GetMeta()
		return o.GetKind() == k.kind && (ns == "" || m.Namespace == ns) &&
			ls.Matches(labels.Set(m.Labels)) && fs.Matches(k.fields(o))
	}, nil
}

func (s *Server) objList(k *objKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		match, err := s.objMatcher(k, r)
		if err != nil {
			writeError(w, err)
			return
		}
		q := r.URL.Query()
		if q.Get("watch") == "true" || q.Get("watch") == "1" {
			s.watch(w, r, watchObjects(k, match))
			return
		}
		s.store.mu.Lock()
		items := []api.Object{}
		for _, e := range s.store.objs {
			if match(e.obj) {
				items = append(items, e.obj)
			}
		}
		rv := s.store.current
		s.store.mu.Unlock()
		if err := checkListRV(q, rv); err != nil {
			writeError(w, err)
			return
		}
		sort.Slice(items, func(i, j int) bool {
			a, b := items[i].GetMeta(), items[j].GetMeta()
			return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
		})
		if wantsTable(r) {
			writeJSON(w, http.StatusOK, objTable(r, k, items, state.FormatRV(rv)))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"apiVersion": "v1", "kind": k.kind + "List",
			"metadata": metav1.ListMeta{ResourceVersion: state.FormatRV(rv)}, "items": items})
	}
}

func watchObjects(k *objKind, match func(api.Object) bool) watchFilter {
	return watchFilter{
		resource: k.res,
		pick: func(c change) (any, *api.Pod, bool) {
			if c.obj == nil || !match(c.obj) {
				return nil, nil, false
			}
			return c.obj, nil, true
		},
		snapshot: func(st *store) []change {
			var out []change
			for _, e := range st.objs {
				if e.obj.GetKind() == k.kind {
					out = append(out, change{typ: evAdded, obj: e.obj})
				}
			}
			return out
		},
		bookmark: func(rv string) any {
			o := k.empty()
			o.GetMeta().ResourceVersion = rv
			return o
		},
		table: func(r *http.Request, obj any) any {
			return objTable(r, k, []api.Object{obj.(api.Object)}, "")
		},
	}
}

// objTable is the Table kubectl get asks for.
func objTable(r *http.Request, k *objKind, items []api.Object, rv string) *metav1.Table {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, ColumnDefinitions: k.columns, Rows: []metav1.TableRow{}}
	t.ResourceVersion = rv
	now := time.Now()
	include := ""
	if r != nil {
		include = r.URL.Query().Get("includeObject")
	}
	for _, o := range items {
		age := "<unknown>"
		if ts := o.GetMeta().CreationTimestamp; ts != nil {
			age = kubeprint.Since(ts.Time, now)
		}
		row := metav1.TableRow{Cells: append(k.cells(o), age)}
		var obj any
		switch include {
		case "None":
		case "Object":
			obj = o
		default:
			obj = map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.GetMeta()}
		}
		if obj != nil {
			b, _ := json.Marshal(obj)
			row.Object = runtime.RawExtension{Raw: b}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// decodeObject decodes a ConfigMap or Secret from a request body as the API server's decoder
// does with the request's fieldValidation (unknown fields: an error with Strict, warnings
// with Warn, dropped with Ignore), then defaults and validates it (api.LoadObjects: the API
// server's ValidateConfigMap and ValidateSecret, stringData folded into data).
func decodeObject(w http.ResponseWriter, r *http.Request, k *objKind, body []byte) (api.Object, error) {
	fv, err := fieldValidation(r)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := yaml.Unmarshal(body, &raw); err != nil {
		return nil, errBadRequest(fmt.Sprintf("couldn't get version/kind; json parse error: %v", err))
	}
	if raw == nil {
		return nil, errBadRequest("Object 'Kind' is missing in '" + string(body) + "'")
	}
	if kind, _ := raw["kind"].(string); kind != k.kind {
		return nil, errBadRequest(fmt.Sprintf("the body of the request is a %q, not a %s", kind, k.kind))
	}
	name, _ := rawMeta(body)
	for range 2 {
		b, _ := json.Marshal(raw)
		objs, err := api.LoadObjects(b)
		if err == nil {
			o := objs[0]
			if s, ok := o.(*api.Secret); ok && s.Type == api.SecretTypeServiceAccountToken {
				return nil, errInvalid(k.kind, name, []api.FieldError{{Field: "type",
					Detail: "Forbidden: a service account token Secret is filled by the Kubernetes API server's token controller, which minipod does not have"}})
			}
			return o, nil
		}
		var ie *api.InvalidError
		if !errors.As(err, &ie) {
			return nil, errBadRequest(err.Error())
		}
		var unknown, rest []api.FieldError
		for _, fe := range ie.Errs {
			if strings.HasPrefix(fe.Detail, "unknown field") {
				unknown = append(unknown, fe)
			} else {
				rest = append(rest, fe)
			}
		}
		if len(unknown) == 0 {
			return nil, errInvalid(k.kind, name, rest)
		}
		quoted := make([]string, len(unknown))
		for i, fe := range unknown {
			quoted[i] = fmt.Sprintf("unknown field %q", fe.Field)
		}
		switch fv {
		case "Strict":
			return nil, errBadRequest("strict decoding error: " + strings.Join(quoted, ", "))
		case "Warn":
			for _, q := range quoted {
				addWarning(w, q)
			}
		}
		for _, fe := range unknown {
			dropPath(raw, strings.Split(fe.Field, "."))
		}
	}
	return nil, errBadRequest("the object could not be decoded")
}

// dropPath deletes a field, named by its path, from a decoded object.
func dropPath(m map[string]any, path []string) {
	for len(path) > 1 {
		next, ok := m[path[0]].(map[string]any)
		if !ok {
			return
		}
		m, path = next, path[1:]
	}
	delete(m, path[0])
}

func checkContentType(r *http.Request) error {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	switch ct {
	case "", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf":
		return nil
	}
	return errUnsupportedMediaType(ct)
}

func (s *Server) objCreate(k *objKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkContentType(r); err != nil {
			writeError(w, err)
			return
		}
		body, err := readObject(r)
		if err != nil {
			writeError(w, err)
			return
		}
		s.createObject(w, r, k, body)
	}
}

// createObject is the generic registry's Create: AlreadyExists if the name is taken.
func (s *Server) createObject(w http.ResponseWriter, r *http.Request, k *objKind, body []byte) {
	ns := r.PathValue("ns")
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, rawNS := rawMeta(body); rawNS != "" && rawNS != ns {
		writeError(w, errBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	o, err := decodeObject(w, r, k, body)
	if err != nil {
		writeError(w, err)
		return
	}
	m := o.GetMeta()
	m.Namespace = ns
	m.UID = state.NewUID()
	now := api.NewTime(time.Now())
	m.CreationTimestamp = &now
	m.ResourceVersion = ""
	if dry {
		if s.served(k, ns, m.Name) != nil {
			writeError(w, errAlreadyExists(k.res, m.Name))
			return
		}
		writeJSON(w, http.StatusCreated, o)
		return
	}
	s.objects.mu.Lock()
	defer s.objects.mu.Unlock()
	_, err = s.objects.store.Modify(k.kind, ns, m.Name, func(old api.Object) (api.Object, error) {
		if old != nil {
			return nil, errAlreadyExists(k.res, m.Name)
		}
		m.ResourceVersion = state.FormatRV(s.clock.Next())
		return o, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	s.store.mu.Lock()
	out := s.store.noteObjectLocked(objKey(k.kind, ns, m.Name), o)
	s.store.mu.Unlock()
	s.log.Info(k.singular+" created", k.singular, ns+"/"+m.Name)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) objUpdate(k *objKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkContentType(r); err != nil {
			writeError(w, err)
			return
		}
		body, err := readObject(r)
		if err != nil {
			writeError(w, err)
			return
		}
		ns, name := r.PathValue("ns"), r.PathValue("name")
		if rn, rns := rawMeta(body); rn != name || (rns != "" && rns != ns) {
			writeError(w, errBadRequest("the name or namespace of the object does not match the request"))
			return
		}
		s.updateObject(w, r, k, body, nil)
	}
}

// updateObject is the generic registry's Update (no create on update for these kinds): the
// new object replaces the stored one if its resourceVersion, when given, is the current one
// and the API server's update validation allows it (immutability, a Secret's type). patch,
// if set, makes the new object from the current one as served, under the store's lock.
func (s *Server) updateObject(w http.ResponseWriter, r *http.Request, k *objKind, body []byte, patch func(cur []byte) ([]byte, error)) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.objects.mu.Lock()
	defer s.objects.mu.Unlock()
	var result api.Object
	_, err = s.objects.store.Modify(k.kind, ns, name, func(old api.Object) (api.Object, error) {
		if old == nil {
			return nil, errNotFound(k.res, name)
		}
		// The version the old object is served at; "" if the daemon has not seen this
		// content yet (changed by the CLI a moment ago): any precondition then fails.
		curRV := ""
		s.store.mu.Lock()
		if e, ok := s.store.objs[objKey(k.kind, ns, name)]; ok && e.sum == objSum(old) {
			curRV = e.obj.GetMeta().ResourceVersion
		}
		s.store.mu.Unlock()
		served := copyObject(old)
		served.GetMeta().ResourceVersion = curRV
		b := body
		if patch != nil {
			cur, _ := json.Marshal(served)
			var err error
			if b, err = patch(cur); err != nil {
				return nil, err
			}
		}
		var meta struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
				UID             string `json:"uid"`
			} `json:"metadata"`
		}
		yaml.Unmarshal(b, &meta)
		if rv := meta.Metadata.ResourceVersion; rv != "" && rv != curRV {
			return nil, errConflict(k.res, name, "the object has been modified; please apply your changes to the latest version and try again")
		}
		if uid := meta.Metadata.UID; uid != "" && uid != old.GetMeta().UID {
			return nil, errConflict(k.res, name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, old.GetMeta().UID))
		}
		next, err := decodeObject(w, r, k, b)
		if err != nil {
			return nil, err
		}
		m := next.GetMeta()
		m.Namespace, m.UID, m.CreationTimestamp = ns, old.GetMeta().UID, old.GetMeta().CreationTimestamp
		m.ResourceVersion = ""
		var verr error
		switch next := next.(type) {
		case *api.ConfigMap:
			verr = api.ValidateConfigMapUpdate(next, old.(*api.ConfigMap))
		case *api.Secret:
			verr = api.ValidateSecretUpdate(next, old.(*api.Secret))
		}
		var ie *api.InvalidError
		if errors.As(verr, &ie) {
			return nil, errInvalid(k.kind, name, ie.Errs)
		}
		if objSum(next) == objSum(served) {
			result = served // nothing changes: the API server writes nothing either
			return nil, nil
		}
		if dry {
			m.ResourceVersion = curRV
			result = next
			return nil, nil
		}
		m.ResourceVersion = state.FormatRV(s.clock.Next())
		result = next
		return next, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	if !dry {
		s.store.mu.Lock()
		result = s.store.noteObjectLocked(objKey(k.kind, ns, name), result)
		s.store.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, result)
}

// objPatch serves JSON patch, merge patch, strategic merge patch and apply as the pods' do
// (patch.go): apply is a strategic merge of the applied configuration, and creates an object
// that does not exist.
func (s *Server) objPatch(k *objKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, name := r.PathValue("ns"), r.PathValue("name")
		body, err := readBody(r)
		if err != nil {
			writeError(w, err)
			return
		}
		ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		if ct == "application/apply-patch+yaml" && s.served(k, ns, name) == nil {
			// An apply creates what does not exist.
			js, err := yaml.YAMLToJSON(body)
			if err != nil {
				writeError(w, errBadRequest(err.Error()))
				return
			}
			if rn, _ := rawMeta(body); rn != name {
				writeError(w, errBadRequest(fmt.Sprintf("metadata.name: Invalid value: %q: the name of the object (%s) does not match the name on the URL (%s)", rn, rn, name)))
				return
			}
			s.createObject(w, r, k, js)
			return
		}
		patch, err := patcher(ct, body, k.patchTo)
		if err != nil {
			writeError(w, err)
			return
		}
		s.updateObject(w, r, k, nil, patch)
	}
}

// objDelete is the generic registry's Delete of an object without graceful deletion: gone at
// once; the answer is a Status of success naming it (ReturnDeletedObject is unset for these
// kinds).
func (s *Server) objDelete(k *objKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, name := r.PathValue("ns"), r.PathValue("name")
		o, err := deleteOptions(r)
		if err != nil {
			writeError(w, err)
			return
		}
		uid := ""
		check := func(old api.Object) error {
			uid = old.GetMeta().UID
			if pre := o.Preconditions; pre != nil {
				if pre.UID != nil && string(*pre.UID) != old.GetMeta().UID {
					return errConflict(k.res, name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *pre.UID, old.GetMeta().UID))
				}
				if pre.ResourceVersion != nil {
					if cur := s.served(k, ns, name); cur == nil || cur.GetMeta().ResourceVersion != *pre.ResourceVersion {
						return errConflict(k.res, name, fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", *pre.ResourceVersion, rvOf(cur)))
					}
				}
			}
			if len(o.DryRun) > 0 {
				return errDryRunDone
			}
			return nil
		}
		s.objects.mu.Lock()
		err = s.objects.store.DeleteIf(k.kind, ns, name, check)
		var nf *api.NotFoundError
		switch {
		case errors.As(err, &nf):
			err = errNotFound(k.res, name)
		case err == nil:
			s.store.mu.Lock()
			s.store.noteObjectLocked(objKey(k.kind, ns, name), nil)
			s.store.mu.Unlock()
		}
		s.objects.mu.Unlock()
		if err != nil && err != errDryRunDone {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status: metav1.StatusSuccess, Details: &metav1.StatusDetails{Name: name, Kind: k.res.name, UID: types.UID(uid)}})
	}
}

var errDryRunDone = errors.New("dry run")

func rvOf(o api.Object) string {
	if o == nil {
		return ""
	}
	return o.GetMeta().ResourceVersion
}
