package apiserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/objects"
	"github.com/minipod/minipod/state"
)

func TestObjectTables(t *testing.T) {
	created := api.NewTime(time.Now().Add(-90 * time.Second))
	cm := &api.ConfigMap{Metadata: api.ObjectMeta{Name: "c", CreationTimestamp: &created},
		Data: map[string]string{"a": "1"}, BinaryData: map[string]api.Bytes{"b": api.Bytes("x")}}
	sec := &api.Secret{Metadata: api.ObjectMeta{Name: "s", CreationTimestamp: &created}, Type: api.SecretTypeTLS,
		Data: map[string]api.Bytes{"tls.crt": nil, "tls.key": nil}}
	for _, tc := range []struct {
		k       *objKind
		o       api.Object
		columns []string
		cells   []any
	}{
		{configMapKind, cm, []string{"Name", "Data", "Age"}, []any{"c", int64(2), "90s"}},
		{secretKind, sec, []string{"Name", "Type", "Data", "Age"}, []any{"s", "kubernetes.io/tls", int64(2), "90s"}},
	} {
		r := httptest.NewRequest("GET", "/?includeObject=None", nil)
		tab := objTable(r, tc.k, []api.Object{tc.o}, "7")
		var cols []string
		for _, c := range tab.ColumnDefinitions {
			cols = append(cols, c.Name)
		}
		if !reflect.DeepEqual(cols, tc.columns) || len(tab.Rows) != 1 || !reflect.DeepEqual(tab.Rows[0].Cells, tc.cells) || tab.ResourceVersion != "7" {
			t.Errorf("%s table: columns %v, rows %+v", tc.k.kind, cols, tab.Rows)
		}
		if tab.Rows[0].Object.Raw != nil {
			t.Errorf("includeObject=None carries the object")
		}
	}
}

func TestDecodeObject(t *testing.T) {
	for _, tc := range []struct {
		name, k, fv, body string
		code              int32
		msg               string // the error's message, or a field of the decoded object
	}{
		{"configmap", "ConfigMap", "Strict", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}`, 0, ""},
		{"unknown field strict", "ConfigMap", "Strict", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"dta":{}}`, 400, `strict decoding error: unknown field "dta"`},
		{"unknown field ignored", "ConfigMap", "Ignore", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","bogus":1},"dta":{}}`, 0, ""},
		{"bad key", "ConfigMap", "Strict", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"a/b":"v"}}`, 422,
			`ConfigMap "a" is invalid: data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`},
		{"too big", "ConfigMap", "Strict", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"a":"` + strings.Repeat("x", 1<<20+1) + `"}}`, 422,
			`ConfigMap "a" is invalid: []: Too long: may not be more than 1048576 bytes`},
		{"wrong kind", "Secret", "Strict", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`, 400, `the body of the request is a "ConfigMap", not a Secret`},
		{"tls", "Secret", "Strict", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"t"},"type":"kubernetes.io/tls","data":{"tls.crt":"eA=="}}`, 422,
			`Secret "t" is invalid: data[tls.key]: Required value`},
		{"dockerconfigjson", "Secret", "Strict", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"d"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"eA=="}}`, 422,
			`Secret "d" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character 'x' looking for beginning of value`},
		{"basic-auth", "Secret", "Strict", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b"},"type":"kubernetes.io/basic-auth"}`, 422,
			`Secret "b" is invalid: [data[username]: Required value, data[password]: Required value]`},
		{"ssh-auth", "Secret", "Strict", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"kubernetes.io/ssh-auth"}`, 422,
			`Secret "s" is invalid: data[ssh-privatekey]: Required value`},
		{"service account token", "Secret", "Strict", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","annotations":{"kubernetes.io/service-account.name":"x"}},"type":"kubernetes.io/service-account-token"}`, 422,
			`Secret "s" is invalid: type: Forbidden: a service account token Secret is filled by the Kubernetes API server's token controller, which minipod does not have`},
		{"stringData", "Secret", "Strict", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"a":"eA=="},"stringData":{"a":"y","b":"z"}}`, 0, `{"a":"eQ==","b":"eg=="}`},
	} {
		k := configMapKind
		if tc.k == "Secret" {
			k = secretKind
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/?fieldValidation="+tc.fv, nil)
		o, err := decodeObject(w, r, k, []byte(tc.body))
		if tc.code == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if s, ok := o.(*api.Secret); ok {
				b, _ := json.Marshal(s.Data)
				if string(b) != tc.msg || s.StringData != nil || s.Type != api.SecretTypeOpaque {
					t.Errorf("%s: data %s, stringData %v, type %q", tc.name, b, s.StringData, s.Type)
				}
			}
			continue
		}
		se, ok := err.(*statusError)
		if !ok || se.s.Code != tc.code || se.s.Message != tc.msg {
			t.Errorf("%s: got %v, want %d %q", tc.name, err, tc.code, tc.msg)
		}
	}
}

// Objects written elsewhere (the CLI) are logged by content, with versions above every one
// before; a write the daemon logged itself is not logged again by a rescan.
func TestObjectChangesLogged(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.StateDir, cfg.Root = t.TempDir(), t.TempDir()
	clock, err := state.OpenRVClock(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t.Context(), cfg, clock, nil, "node")
	s := &Server{cfg: cfg, clock: clock, store: st, ctx: t.Context(), objects: &objectsState{store: objects.Open(cfg.ObjectsDir())}}
	st.loadObjects(s.objects.store)
	start := st.current
	_, sub, _, _ := st.subscribe(start, nil)

	cm := &api.ConfigMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: api.ObjectMeta{Name: "a", Namespace: "default"}, Data: map[string]string{"k": "1"}}
	if _, err := s.objects.store.Apply([]api.Object{cm}, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.rescanObjects()
	s.rescanObjects()
	cm2 := *cm
	cm2.Data = map[string]string{"k": "2"}
	s.objects.store.Apply([]api.Object{&cm2}, time.Now())
	s.rescanObjects()
	os.Remove(filepath.Join(s.objects.store.Dir("ConfigMap", "default"), "a.json"))
	s.rescanObjects()

	var got []string
	last := start
	for len(sub.ch) > 0 {
		c := <-sub.ch
		if c.rv <= last {
			t.Errorf("version %d after %d", c.rv, last)
		}
		last = c.rv
		got = append(got, c.typ+" "+c.obj.(*api.ConfigMap).Data["k"])
	}
	if want := []string{"ADDED 1", "MODIFIED 2", "DELETED 2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("changes: %v, want %v", got, want)
	}
}

// The API's writes: create, a conflicting update, an update, and the same content again.
func TestObjectWrites(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.StateDir, cfg.Root = t.TempDir(), t.TempDir()
	s, err := New(t.Context(), Options{Config: cfg, Node: "node"})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, ct, body string) (int, map[string]any) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		s.Mux.ServeHTTP(w, r)
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	rvOf := func(m map[string]any) string { return m["metadata"].(map[string]any)["resourceVersion"].(string) }
	code, created := do("POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"1"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	if code, _ := do("POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`); code != http.StatusConflict {
		t.Errorf("create again: %d", code)
	}
	if code, out := do("PUT", "/api/v1/namespaces/default/configmaps/a", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"},"data":{"k":"2"}}`); code != http.StatusConflict || out["reason"] != string(metav1.StatusReasonConflict) {
		t.Errorf("stale update: %d %v", code, out)
	}
	code, updated := do("PUT", "/api/v1/namespaces/default/configmaps/a", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"`+rvOf(created)+`"},"data":{"k":"2"}}`)
	if code != http.StatusOK || rvOf(updated) <= rvOf(created) && len(rvOf(updated)) <= len(rvOf(created)) {
		t.Fatalf("update: %d %v", code, updated)
	}
	code, same := do("PATCH", "/api/v1/namespaces/default/configmaps/a", "application/merge-patch+json", `{"data":{"k":"2"}}`)
	if code != http.StatusOK || rvOf(same) != rvOf(updated) {
		t.Errorf("a patch that changes nothing: %d %v (was at %s)", code, same, rvOf(updated))
	}
	stored, err := s.objects.store.ConfigMap("default", "a")
	if err != nil || stored.Data["k"] != "2" || stored.Metadata.UID != created["metadata"].(map[string]any)["uid"] {
		t.Errorf("stored: %+v, %v", stored, err)
	}
	if code, out := do("DELETE", "/api/v1/namespaces/default/configmaps/a", "", ""); code != http.StatusOK || out["status"] != "Success" {
		t.Errorf("delete: %d %v", code, out)
	}
	if code, _ := do("GET", "/api/v1/namespaces/default/configmaps/a", "", ""); code != http.StatusNotFound {
		t.Errorf("get after delete: %d", code)
	}
}
