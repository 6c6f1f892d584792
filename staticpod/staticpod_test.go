package staticpod

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

const web = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: busybox
`

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every regular file not starting with "." is a pod named <name>-<node> with the kubelet's
// annotations; the hash changes with the content, the node and the path, not with time.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "web.yaml"), web)
	write(t, filepath.Join(dir, "other"), strings.Replace(web, "name: web", "name: other\n  namespace: kube-system", 1))
	write(t, filepath.Join(dir, ".web.yaml.swp"), "garbage")
	write(t, filepath.Join(dir, "bad.yaml"), strings.Replace(web, "image: busybox", "image: busybox\n    bogus: 1", 1))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub", "x.yaml"), web)

	ms, err := Read(dir, "node1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("want 3 manifests (bad, other, web), got %+v", ms)
	}
	bad, other, w := ms[0], ms[1], ms[2]
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), "bad.yaml") || !strings.Contains(bad.Err.Error(), "bogus") {
		t.Errorf("bad manifest: %v", bad.Err)
	}
	if other.Err != nil || other.Pod.Metadata.Name != "other-node1" || other.Pod.Metadata.Namespace != "kube-system" {
		t.Errorf("other: %+v %v", other.Pod, other.Err)
	}
	p := w.Pod
	if w.Err != nil || p.Metadata.Name != "web-node1" || p.Metadata.Namespace != "default" || p.Spec.NodeName != "node1" {
		t.Fatalf("web: %+v %v", p, w.Err)
	}
	a := p.Metadata.Annotations
	if a[ConfigSourceAnnotation] != "file" || len(a[ConfigHashAnnotation]) != 32 || a[ConfigMirrorAnnotation] != a[ConfigHashAnnotation] || a[ConfigSeenAnnotation] == "" {
		t.Errorf("annotations: %v", a)
	}
	again, _ := Read(dir, "node1")
	if h := again[2].Pod.Metadata.Annotations[ConfigHashAnnotation]; h != a[ConfigHashAnnotation] {
		t.Errorf("hash not stable: %s, %s", h, a[ConfigHashAnnotation])
	}
	otherNode, _ := Read(dir, "node2")
	if h := otherNode[2].Pod.Metadata.Annotations[ConfigHashAnnotation]; h == a[ConfigHashAnnotation] {
		t.Error("hash does not depend on the node")
	}
	write(t, filepath.Join(dir, "web.yaml"), strings.Replace(web, "app: web", "app: web2", 1))
	changed, _ := Read(dir, "node1")
	if h := changed[2].Pod.Metadata.Annotations[ConfigHashAnnotation]; h == a[ConfigHashAnnotation] {
		t.Error("hash does not depend on the content")
	}
}

func TestApplyNameTooLong(t *testing.T) {
	p := &api.Pod{Metadata: api.ObjectMeta{Name: strings.Repeat("a", 250)}}
	if err := Apply(p, "/m/x.yaml", "node1"); err == nil || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("want a metadata.name error, got %v", err)
	}
}

func static(ns, name, hash string) *api.Pod {
	return &api.Pod{Metadata: api.ObjectMeta{Namespace: ns, Name: name,
		Annotations: map[string]string{ConfigSourceAnnotation: "file", ConfigHashAnnotation: hash}}}
}

func TestPlan(t *testing.T) {
	m := func(name, hash string) Manifest {
		return Manifest{Path: "/m/" + name, Pod: static("default", name, hash)}
	}
	plain := &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: "taken"}}
	acts, errs := Plan(
		[]Manifest{m("new", "h1"), m("same", "h2"), m("changed", "h3new"), m("taken", "h4"), {Path: "/m/broken", Err: os.ErrInvalid}, m("new", "dup")},
		[]*api.Pod{static("default", "same", "h2"), static("default", "changed", "h3"), plain, static("default", "gone", "h5"), {Metadata: api.ObjectMeta{Namespace: "default", Name: "user"}}},
	)
	want := []Action{
		{Create: m("new", "h1").Pod},
		{Delete: "default/changed", Create: m("changed", "h3new").Pod},
		{Delete: "default/gone"},
	}
	if !reflect.DeepEqual(acts, want) {
		t.Errorf("actions:\n%+v\nwant\n%+v", acts, want)
	}
	if len(errs) != 3 || !strings.Contains(errs[0].Error(), "not a static pod") || errs[1] != os.ErrInvalid || !strings.Contains(errs[2].Error(), "another manifest") {
		t.Errorf("errors: %v", errs)
	}
}

// A bad manifest is logged when it appears, not at every sync while it stays; once fixed
// and broken again, it is logged again. Nothing is created for it.
func TestSyncReportsOnce(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.StateDir = t.TempDir()
	dir := t.TempDir()
	var logs bytes.Buffer
	m := &Manager{Cfg: cfg, Dir: dir, Node: "node1", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	bad := filepath.Join(dir, "bad.yaml")
	write(t, bad, "kind: Pod\napiVersion: v1\nmetadata: {name: x}\nspec: {containers: [{name: c}]}\n")
	m.Sync()
	m.Sync()
	if n := strings.Count(logs.String(), "bad.yaml"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "image") {
		t.Errorf("the error does not name the field:\n%s", logs.String())
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	m.Sync()
	write(t, bad, "kind: Pod\napiVersion: v1\nmetadata: {name: x}\nspec: {containers: [{name: c}]}\n")
	m.Sync()
	if n := strings.Count(logs.String(), "bad.yaml"); n != 2 {
		t.Errorf("logged %d times, want 2:\n%s", n, logs.String())
	}
	if ents, _ := os.ReadDir(cfg.PodsDir()); len(ents) != 0 {
		t.Errorf("pods made: %v", ents)
	}
}
