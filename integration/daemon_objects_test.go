//go:build integration

package integration

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestDaemonConfigMapsSecrets drives ConfigMaps and Secrets through the daemon with the real
// kubectl and client-go: apply of a ConfigMap, a Secret and a pod using both (env and
// volumes), get in its forms, kubectl create, an update seen inside the running pod,
// immutability, a watch, and one store shared with the CLI.
func TestDaemonConfigMapsSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(t)
	cs := d.client(t)
	ctx := context.Background()

	// A client-go watch of configmaps from the start, to see every change in order.
	wi, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch configmaps: %v", err)
	}
	defer wi.Stop()

	manifest := pathIn(e.dir, "app.yaml")
	writeFile(t, manifest, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels:
    app: cfgdemo
data:
  greeting: hello
  mode: fast
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: Opaque
stringData:
  password: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: cfgpod
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    command: ["sh", "-c", "sleep 3600"]
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {name: app-config, key: greeting}
    - name: PASSWORD
      valueFrom:
        secretKeyRef: {name: app-secret, key: password}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
  volumes:
  - name: cfg
    configMap: {name: app-config}
  - name: sec
    secret: {secretName: app-secret}
`, rootfsImage()))
	out := d.mustKubectl(t, "apply", "-f", manifest)
	for _, want := range []string{"configmap/app-config created", "secret/app-secret created", "pod/cfgpod created"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply lacks %q:\n%s", want, out)
		}
	}
	d.mustKubectl(t, "wait", "--for=condition=Ready", "pod/cfgpod", "--timeout=60s")
	// A second apply changes nothing. kubectl says the Secret is "configured", as it does with
	// a real API server: its patch re-sends stringData, which the server folds into the same
	// data (the object, and its resourceVersion, stay as they were).
	secretRV := d.mustKubectl(t, "get", "secret", "app-secret", "-o", "jsonpath={.metadata.resourceVersion}")
	if out := d.mustKubectl(t, "apply", "-f", manifest); !strings.Contains(out, "configmap/app-config unchanged") || !strings.Contains(out, "secret/app-secret configured") {
		t.Errorf("second apply:\n%s", out)
	}
	if rv := d.mustKubectl(t, "get", "secret", "app-secret", "-o", "jsonpath={.metadata.resourceVersion}"); rv != secretRV {
		t.Errorf("the second apply changed the secret's resourceVersion: %s -> %s", secretRV, rv)
	}
	if out := d.mustKubectl(t, "exec", "cfgpod", "--", "sh", "-c", "echo $GREETING $PASSWORD; cat /etc/cfg/mode; echo; cat /etc/sec/password"); out != "hello s3cret\nfast\ns3cret" {
		t.Errorf("env and volumes in the pod: %q", out)
	}

	t.Run("get", func(t *testing.T) {
		out := d.mustKubectl(t, "get", "configmaps,secrets")
		for _, re := range []string{`(?m)^NAME\s+DATA\s+AGE\s*$`, `(?m)^configmap/app-config\s+2\s+\d+s\s*$`,
			`(?m)^NAME\s+TYPE\s+DATA\s+AGE\s*$`, `(?m)^secret/app-secret\s+Opaque\s+1\s+\d+s\s*$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("get configmaps,secrets lacks %s:\n%s", re, out)
			}
		}
		out = d.mustKubectl(t, "get", "configmap", "app-config", "-o", "yaml")
		for _, want := range []string{"greeting: hello", "kind: ConfigMap", "resourceVersion: \"", "uid: ", "app: cfgdemo", "kubectl.kubernetes.io/last-applied-configuration"} {
			if !strings.Contains(out, want) {
				t.Errorf("get -o yaml lacks %q:\n%s", want, out)
			}
		}
		// stringData is folded into data (base64 of s3cret) and not kept.
		out = d.mustKubectl(t, "get", "secret", "app-secret", "-o", "yaml")
		if !strings.Contains(out, "password: czNjcmV0") || strings.Contains(out, "stringData:\n") {
			t.Errorf("get secret -o yaml:\n%s", out)
		}
		if out := d.mustKubectl(t, "get", "cm", "-l", "app=cfgdemo", "-o", "name"); strings.TrimSpace(out) != "configmap/app-config" {
			t.Errorf("get cm -l: %q", out)
		}
		if out := d.mustKubectl(t, "get", "secrets", "--field-selector=type=Opaque", "-o", "name"); strings.TrimSpace(out) != "secret/app-secret" {
			t.Errorf("get secrets --field-selector=type=Opaque: %q", out)
		}
		res := d.kubectl(t, "get", "secrets", "--field-selector=data.password=x")
		if res.code == 0 || !strings.Contains(res.stderr, "field label not supported: data.password") {
			t.Errorf("unsupported field selector: exit %d, %q", res.code, res.stderr)
		}
		if out := d.mustKubectl(t, "explain", "configmap.immutable"); !strings.Contains(out, "Immutable, if set to true") {
			t.Errorf("explain configmap.immutable:\n%s", out)
		}
		res = d.kubectl(t, "get", "configmap", "nope")
		if res.code != 1 || !strings.Contains(res.stderr, `Error from server (NotFound): configmaps "nope" not found`) {
			t.Errorf("get missing configmap: exit %d, %q", res.code, res.stderr)
		}
	})

	t.Run("create", func(t *testing.T) {
		if out := d.mustKubectl(t, "create", "configmap", "lit", "--from-literal=a=1", "--from-literal=b=2"); strings.TrimSpace(out) != "configmap/lit created" {
			t.Errorf("create configmap: %q", out)
		}
		if out := d.mustKubectl(t, "create", "secret", "generic", "gen", "--from-literal=user=admin"); strings.TrimSpace(out) != "secret/gen created" {
			t.Errorf("create secret generic: %q", out)
		}
		res := d.kubectl(t, "create", "configmap", "lit", "--from-literal=a=1")
		if res.code == 0 || !strings.Contains(res.stderr, `configmaps "lit" already exists`) {
			t.Errorf("create again: exit %d, %q", res.code, res.stderr)
		}
		// The CLI sees what the API created: one store.
		out := e.mustExec(t, "get", "configmaps").stdout
		if !regexp.MustCompile(`(?m)^lit\s+2\s+`).MatchString(out) || !regexp.MustCompile(`(?m)^app-config\s+2\s+`).MatchString(out) {
			t.Errorf("minipod get configmaps:\n%s", out)
		}
		if out := e.mustExec(t, "get", "secrets").stdout; !strings.Contains(out, "gen") {
			t.Errorf("minipod get secrets:\n%s", out)
		}
		// Validation with the API server's messages.
		res = d.kubectlIn(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {a/b: \"1\"}\n", "apply", "-f", "-")
		if res.code == 0 || !strings.Contains(res.stderr, `ConfigMap "bad" is invalid: data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`) {
			t.Errorf("invalid key: exit %d, %q", res.code, res.stderr)
		}
		res = d.kubectlIn(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\ntype: kubernetes.io/tls\ndata: {tls.crt: eA==}\n", "apply", "-f", "-")
		if res.code == 0 || !strings.Contains(res.stderr, `Secret "tls" is invalid: data[tls.key]: Required value`) {
			t.Errorf("tls secret without key: exit %d, %q", res.code, res.stderr)
		}
		res = d.kubectlIn(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndta: {a: b}\n", "apply", "-f", "-")
		if res.code == 0 || !strings.Contains(res.stderr, `unknown field "dta"`) {
			t.Errorf("unknown field: exit %d, %q", res.code, res.stderr)
		}
	})

	t.Run("update seen in the pod", func(t *testing.T) {
		d.mustKubectl(t, "patch", "configmap", "app-config", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
		deadline := time.Now().Add(90 * time.Second)
		for {
			out := d.mustKubectl(t, "exec", "cfgpod", "--", "cat", "/etc/cfg/mode")
			if out == "slow" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the pod's volume still says %q", out)
			}
			time.Sleep(500 * time.Millisecond)
		}
		// A strategic merge patch and a JSON patch of the secret, seen the same way.
		d.mustKubectl(t, "patch", "secret", "app-secret", "--type=json", "-p", `[{"op":"add","path":"/data/extra","value":"eA=="}]`)
		d.mustKubectl(t, "patch", "secret", "app-secret", "-p", `{"stringData":{"password":"n3w"}}`)
		deadline = time.Now().Add(90 * time.Second)
		for {
			out := d.mustKubectl(t, "exec", "cfgpod", "--", "sh", "-c", "cat /etc/sec/password /etc/sec/extra")
			if out == "n3wx" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the pod's secret volume says %q", out)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})

	t.Run("server-side apply", func(t *testing.T) {
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {k: v1}\n"
		if out := d.kubectlIn(t, cm, "apply", "--server-side", "-f", "-"); out.code != 0 || !strings.Contains(out.stdout, "configmap/ssa serverside-applied") {
			t.Errorf("apply --server-side: %+v", out)
		}
		d.kubectlIn(t, strings.Replace(cm, "v1}", "v2}", 1), "apply", "--server-side", "-f", "-")
		if out := d.mustKubectl(t, "get", "cm", "ssa", "-o", "jsonpath={.data.k}"); out != "v2" {
			t.Errorf("after the second server-side apply: %q", out)
		}
	})

	t.Run("immutable", func(t *testing.T) {
		d.mustKubectl(t, "create", "configmap", "frozen", "--from-literal=a=1")
		d.mustKubectl(t, "patch", "configmap", "frozen", "--type=merge", "-p", `{"immutable":true}`)
		res := d.kubectl(t, "patch", "configmap", "frozen", "--type=merge", "-p", `{"data":{"a":"2"}}`)
		if res.code == 0 || !strings.Contains(res.stderr, "ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set") {
			t.Errorf("update of an immutable configmap: exit %d, %q", res.code, res.stderr)
		}
		res = d.kubectl(t, "patch", "secret", "app-secret", "--type=merge", "-p", `{"type":"kubernetes.io/basic-auth"}`)
		if res.code == 0 || !strings.Contains(res.stderr, `Secret "app-secret" is invalid: type: Invalid value: "kubernetes.io/basic-auth": field is immutable`) {
			t.Errorf("type change: exit %d, %q", res.code, res.stderr)
		}
		if out := d.mustKubectl(t, "delete", "configmap", "frozen"); !strings.HasPrefix(out, `configmap "frozen" deleted`) {
			t.Errorf("delete: %q", out)
		}
	})

	t.Run("watch", func(t *testing.T) {
		// Every change of configmaps in default, in order: the creations, the patch, the
		// immutable one's life.
		want := []string{"ADDED app-config", "ADDED lit", "MODIFIED app-config", "ADDED ssa", "MODIFIED ssa", "ADDED frozen", "MODIFIED frozen", "DELETED frozen"}
		var got []string
		last := ""
		timeout := time.After(30 * time.Second)
		for len(got) < len(want) {
			select {
			case ev, ok := <-wi.ResultChan():
				if !ok {
					t.Fatalf("watch ended; got %v", got)
				}
				cm, isCM := ev.Object.(*corev1.ConfigMap)
				if !isCM {
					t.Fatalf("watch event %s of %T", ev.Type, ev.Object)
				}
				if cm.ResourceVersion <= last && len(cm.ResourceVersion) <= len(last) {
					t.Errorf("resourceVersion %s after %s", cm.ResourceVersion, last)
				}
				last = cm.ResourceVersion
				got = append(got, string(ev.Type)+" "+cm.Name)
			case <-timeout:
				t.Fatalf("watch: got %v, want %v", got, want)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("watch: got %v, want %v", got, want)
		}
		// A configmap the CLI writes reaches API watchers too.
		w2, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: last})
		if err != nil {
			t.Fatal(err)
		}
		defer w2.Stop()
		// kubectl get -w: the Table form of a watch.
		kw := d.startKubectl(t, "get", "configmaps", "-w")
		waitOutput(t, kw, "app-config", 30*time.Second)
		cli := pathIn(e.dir, "cli-cm.yaml")
		writeFile(t, cli, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-cli}\ndata: {x: z}\n")
		e.mustExec(t, "run", cli)
		select {
		case ev := <-w2.ResultChan():
			if cm, _ := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Added || cm == nil || cm.Name != "from-cli" || cm.Data["x"] != "z" {
				t.Errorf("watch from %s: %s %+v", last, ev.Type, ev.Object)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("no event for a configmap the CLI created")
		}
		waitOutput(t, kw, "from-cli", 30*time.Second)
		if !regexp.MustCompile(`(?m)^from-cli\s+1\s+\d+s\s*$`).MatchString(kw.stdout()) {
			t.Errorf("kubectl get configmaps -w:\n%s", kw.stdout())
		}
		if out := d.mustKubectl(t, "get", "configmap", "from-cli", "-o", "jsonpath={.data.x}"); out != "z" {
			t.Errorf("get from-cli: %q", out)
		}
	})

	d.mustKubectl(t, "delete", "pod", "cfgpod", "--grace-period=0", "--force")
}
