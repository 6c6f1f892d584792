package objects

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

func load(t *testing.T, manifest string) []api.Object {
	t.Helper()
	objs, err := api.LoadObjects([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

const cm1 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n"
const cm2 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n"
const sec = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: other}\nstringData: {password: hunter2}\n"

func TestApply(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "objects"))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := s.Apply(load(t, cm1+"---\n"+sec), t0)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Action != Created || res[1].Action != Created {
		t.Fatalf("results %+v", res)
	}
	c, err := s.ConfigMap("default", "c")
	if err != nil || c.Data["a"] != "1" || c.Metadata.UID == "" || !c.Metadata.CreationTimestamp.Equal(t0) {
		t.Fatalf("stored %+v, %v", c, err)
	}
	uid := c.Metadata.UID

	// The same again: unchanged; new data: configured, with the same uid and time.
	if res, err := s.Apply(load(t, cm1), t0.Add(time.Hour)); err != nil || res[0].Action != Unchanged {
		t.Fatalf("re-apply: %+v, %v", res, err)
	}
	if res, err := s.Apply(load(t, cm2), t0.Add(time.Hour)); err != nil || res[0].Action != Configured {
		t.Fatalf("update: %+v, %v", res, err)
	}
	c, _ = s.ConfigMap("default", "c")
	if c.Data["a"] != "2" || c.Metadata.UID != uid || !c.Metadata.CreationTimestamp.Equal(t0) {
		t.Errorf("after update %+v", c)
	}

	// Secrets are root's only.
	for p, want := range map[string]os.FileMode{
		filepath.Join(s.dir, "secrets"):                    0o700,
		filepath.Join(s.dir, "secrets", "other"):           0o700,
		filepath.Join(s.dir, "secrets", "other", "s.json"): 0o600,
		filepath.Join(s.dir, "configmaps", "default"):      0o755,
	} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}
	sc, err := s.Secret("other", "s")
	if err != nil || string(sc.Data["password"]) != "hunter2" || sc.Type != api.SecretTypeOpaque {
		t.Errorf("secret %+v, %v", sc, err)
	}
	if raw, _ := os.ReadFile(filepath.Join(s.dir, "secrets", "other", "s.json")); strings.Contains(string(raw), "stringData") {
		t.Errorf("stringData stored: %s", raw)
	}
}

func TestApplyImmutable(t *testing.T) {
	s := Open(t.TempDir())
	imm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nimmutable: true\ndata: {a: '1'}\n"
	other := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {a: '1'}\n"
	if _, err := s.Apply(load(t, imm), time.Now()); err != nil {
		t.Fatal(err)
	}
	// An immutable object cannot change; nothing of the batch is written.
	_, err := s.Apply(load(t, other+"---\n"+strings.Replace(imm, "'1'", "'2'", 1)), time.Now())
	var ie *api.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "configmap/c: data: Forbidden: field is immutable when `immutable` is set") {
		t.Fatalf("err %v", err)
	}
	if _, err := s.ConfigMap("default", "d"); err == nil {
		t.Error("d was created by a refused batch")
	}
	if c, _ := s.ConfigMap("default", "c"); c.Data["a"] != "1" {
		t.Errorf("c changed: %+v", c)
	}
	// The same content is fine.
	if res, err := s.Apply(load(t, imm), time.Now()); err != nil || res[0].Action != Unchanged {
		t.Errorf("%+v %v", res, err)
	}
}

func TestGetListDelete(t *testing.T) {
	s := Open(t.TempDir())
	_, err := s.ConfigMap("default", "nope")
	if err == nil || err.Error() != `configmap "nope" not found` {
		t.Errorf("missing configmap: %v", err)
	}
	if _, err := s.Secret("default", "nope"); err == nil || err.Error() != `secret "nope" not found` {
		t.Errorf("missing secret: %v", err)
	}
	if _, err := s.Apply(load(t, cm1+"---\n"+strings.Replace(cm1, "name: c", "name: b", 1)+"---\n"+strings.Replace(cm1, "name: c}", "name: a, namespace: x}", 1)), time.Now()); err != nil {
		t.Fatal(err)
	}
	names := func(ns string) string {
		l, err := s.List("ConfigMap", ns)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, o := range l {
			n = append(n, o.GetMeta().Namespace+"/"+o.GetMeta().Name)
		}
		return strings.Join(n, " ")
	}
	if got := names("default"); got != "default/b default/c" {
		t.Errorf("list default: %s", got)
	}
	if got := names(""); got != "default/b default/c x/a" {
		t.Errorf("list all: %s", got)
	}
	if err := s.Delete("ConfigMap", "default", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("ConfigMap", "default", "b"); err == nil || err.Error() != `configmap "b" not found` {
		t.Errorf("second delete: %v", err)
	}
	if got := names(""); got != "default/c x/a" {
		t.Errorf("list after delete: %s", got)
	}
}

func TestWatch(t *testing.T) {
	s := Open(t.TempDir())
	w, err := s.Watch("default", []Ref{{"ConfigMap", "c"}, {"Secret", "s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	woken := func() bool {
		select {
		case <-w.C:
			return true
		case <-time.After(300 * time.Millisecond):
			return false
		}
	}
	// Another object of the namespace does not wake it.
	if _, err := s.Apply(load(t, strings.Replace(cm1, "name: c", "name: other", 1)), time.Now()); err != nil {
		t.Fatal(err)
	}
	if woken() {
		t.Error("woken by another object")
	}
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"create", func() error { _, err := s.Apply(load(t, cm1), time.Now()); return err }},
		{"replace", func() error { _, err := s.Apply(load(t, cm2), time.Now()); return err }},
		{"delete", func() error { return s.Delete("ConfigMap", "default", "c") }},
		{"secret", func() error {
			_, err := s.Apply(load(t, strings.Replace(sec, "namespace: other", "namespace: default", 1)), time.Now())
			return err
		}},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.C:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not woken", step.what)
		}
	}
}
