package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/minipod/minipod/api"
)

func writeManifest(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// `run` with ConfigMaps and Secrets only stores them; get and delete show and remove them as
// kubectl does.
func TestObjectCommands(t *testing.T) {
	_, flags := testConfig(t)
	objs := writeManifest(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: special-config}
data: {SPECIAL_LEVEL: very, SPECIAL_TYPE: charm}
binaryData: {bin: AAE=}
---
apiVersion: v1
kind: Secret
metadata: {name: test-secret}
data: {username: bXktYXBw, password: Mzk1MjgkdmRnN0pi}
`)
	other := writeManifest(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: prod}\nimmutable: true\ndata: {a: b}\n")
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append(args, flags...)...)
	}
	steps := []struct {
		name       string
		args       []string
		want       int
		wantStdout []string
		wantStderr []string
	}{
		{name: "run stores", args: []string{"run", objs, other}, wantStdout: []string{"configmap/special-config created\nsecret/test-secret created\nconfigmap/other created\n"}},
		{name: "run again", args: []string{"run", objs}, wantStdout: []string{"configmap/special-config unchanged\nsecret/test-secret unchanged\n"}},
		{name: "get configmaps", args: []string{"get", "configmaps"}, wantStdout: []string{"NAME             DATA   AGE\nspecial-config   3      "}},
		{name: "get cm -A", args: []string{"get", "cm", "-A"}, wantStdout: []string{"NAMESPACE   NAME             DATA   AGE\n", "default     special-config   3", "prod        other            1"}},
		{name: "get secrets", args: []string{"get", "secrets"}, wantStdout: []string{"NAME          TYPE     DATA   AGE\ntest-secret   Opaque   2      "}},
		{name: "get secret/name -o name", args: []string{"get", "secret/test-secret", "-o", "name"}, wantStdout: []string{"secret/test-secret\n"}},
		{name: "get missing", args: []string{"get", "configmap", "nope"}, want: 1, wantStderr: []string{`Error from server (NotFound): configmaps "nope" not found`}},
		{name: "get none", args: []string{"get", "secrets", "-n", "prod"}, wantStderr: []string{"No resources found in prod namespace."}},
		{name: "watch refused", args: []string{"get", "cm", "-w"}, want: 2, wantStderr: []string{"--watch is supported for pods only"}},
		{name: "immutable", args: []string{"run", writeManifest(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: prod}\nimmutable: true\ndata: {a: c}\n")},
			want: 2, wantStderr: []string{"configmap/other: data: Forbidden: field is immutable when `immutable` is set"}},
		{name: "unknown kind", args: []string{"run", writeManifest(t, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\n")},
			want: 2, wantStderr: []string{`kind: Unsupported value: "PersistentVolume": supported values: "ConfigMap", "PersistentVolumeClaim", "Pod", "Secret"`}},
		{name: "several pods need -d", args: []string{"run", writeManifest(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c, image: x}]}\n")},
			want: 2, wantStderr: []string{"2 pods: several pods run with -d only"}},
		{name: "stdin twice", args: []string{"run", "-", "-"}, want: 2, wantStderr: []string{"- (standard input) may be given once"}},
		{name: "delete", args: []string{"delete", "configmap", "special-config"}, wantStdout: []string{`configmap "special-config" deleted`}},
		{name: "delete missing", args: []string{"delete", "cm/special-config"}, want: 1, wantStderr: []string{`Error from server (NotFound): configmaps "special-config" not found`}},
		{name: "delete missing, ignored", args: []string{"delete", "cm", "special-config", "--ignore-not-found"}},
		{name: "delete --all", args: []string{"delete", "secrets", "--all"}, wantStdout: []string{`secret "test-secret" deleted`}},
		{name: "gone", args: []string{"get", "cm,secrets"}, want: 2},
	}
	for _, st := range steps {
		code, stdout, stderr := cli(st.args...)
		if code != st.want {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", st.name, code, st.want, stdout, stderr)
		}
		for _, w := range st.wantStdout {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: stdout %q lacks %q", st.name, stdout, w)
			}
		}
		for _, w := range st.wantStderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q lacks %q", st.name, stderr, w)
			}
		}
	}

	// -o yaml is the object as stored, a List for several; secrets' data in base64.
	code, stdout, _ := cli("get", "cm", "other", "-n", "prod", "-o", "yaml")
	var cm api.ConfigMap
	if code != 0 || yaml.Unmarshal([]byte(stdout), &cm) != nil || cm.Data["a"] != "b" || cm.Metadata.UID == "" || cm.Kind != "ConfigMap" {
		t.Errorf("get -o yaml: %d\n%s", code, stdout)
	}
	cli("run", objs)
	code, stdout, _ = cli("get", "secrets", "-o", "json")
	var l struct {
		Kind  string       `json:"kind"`
		Items []api.Secret `json:"items"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &l) != nil || l.Kind != "List" || len(l.Items) != 1 || string(l.Items[0].Data["username"]) != "my-app" ||
		!strings.Contains(stdout, `"username": "bXktYXBw"`) {
		t.Errorf("get secrets -o json: %d\n%s", code, stdout)
	}
}
