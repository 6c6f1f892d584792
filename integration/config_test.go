//go:build integration

package integration

// ConfigMaps, Secrets and the downward API end to end: objects stored by `run`, a
// container's environment from them, configMap/secret/downwardAPI/projected volumes with
// their modes, updates seen through ..data, CreateContainerConfigError and FailedMount until
// the object exists, secrets at rest and on tmpfs, image pull secrets.

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
)

// writeFiles writes manifests into files of the env and returns their paths.
func (e *env) writeFiles(t testing.TB, manifests ...string) []string {
	t.Helper()
	var paths []string
	for _, m := range manifests {
		f, err := os.CreateTemp(e.dir, "manifest*.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(m); err != nil {
			t.Fatal(err)
		}
		f.Close()
		paths = append(paths, f.Name())
		e.trackManifest(m)
	}
	return paths
}

// runFiles starts `minipod run [flags] FILE...` with each manifest in a file of its own.
func (e *env) runFiles(t testing.TB, flags []string, manifests ...string) *runProc {
	t.Helper()
	args := append([]string{"run"}, flags...)
	return e.start("", append(args, e.writeFiles(t, manifests...)...)...)
}

// apply stores objects with `minipod run FILE` and returns what it printed.
func (e *env) apply(t testing.TB, manifest string) string {
	t.Helper()
	return e.mustExec(t, append([]string{"run"}, e.writeFiles(t, manifest)...)...).stdout
}

// lineSet is the set of lines of a container's output.
func lineSet(lines []string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lines {
		m[l] = true
	}
	return m
}

func waitingWith(container, reason, msg string) func(*api.Pod) bool {
	return func(p *api.Pod) bool {
		cs := ctrStatus(p, container)
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == reason && cs.State.Waiting.Message == msg
	}
}

func hasEvent(evs []api.Event, typ, reason, msg string) bool {
	return slices.ContainsFunc(evs, func(e api.Event) bool { return e.Type == typ && e.Reason == reason && e.Message == msg })
}

// A container's environment from ConfigMaps, Secrets and the downward API, as the kubelet
// makes it: envFrom in order and prefixed, env over it, $(VAR) over both, values of the pod,
// its node and its resources.
func TestConfigEnv(t *testing.T) {
	e := newEnv(t)
	objs := `apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {A: from-cm, B: b, special.how: very}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm2}
data: {A: from-cm2}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: 39528$vdg7Jb}
`
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: env-pod, labels: {app: envs}, annotations: {example.com/build: "7"}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: %q
    command: [sh, -c, "tr '\\0' '\\n' </proc/1/environ | sort; echo 'cmd: $(B) $(NAME) $(MISSING)'"]
    resources: {requests: {cpu: 125m, memory: 32Mi}, limits: {cpu: 250m, memory: 64Mi}}
    envFrom:
    - configMapRef: {name: cm}
    - {prefix: P_, configMapRef: {name: cm2}}
    - secretRef: {name: s}
    - configMapRef: {name: absent, optional: true}
    env:
    - {name: A, valueFrom: {secretKeyRef: {name: s, key: password}}}
    - {name: EXPANDED, value: "$(B)-$(P_A)-$$(B)"}
    - {name: OPT, valueFrom: {configMapKeyRef: {name: cm, key: nokey, optional: true}}}
    - {name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: BUILD, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['example.com/build']"}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}
    - {name: HOSTIP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: CPU_REQUEST, valueFrom: {resourceFieldRef: {resource: requests.cpu}}}
    - {name: CPU_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
    - {name: MEM_LIMIT, valueFrom: {resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}}
    - {name: EPH_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.ephemeral-storage}}}
`, rootfsImage())
	r := e.runFiles(t, []string{"--rm=false"}, objs, pod)
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, r.stdout(), r.stderr())
	}
	for _, w := range []string{"minipod: configmap/cm created", "minipod: configmap/cm2 created", "minipod: secret/s created"} {
		if !strings.Contains(r.stderr(), w) {
			t.Errorf("run did not say %q:\n%s", w, r.stderr())
		}
	}
	p := e.status("default", "env-pod")
	host, _ := os.Hostname()
	lines := lineSet(r.lines("c"))
	for _, want := range []string{
		"A=39528$vdg7Jb", "B=b", "special.how=very", "P_A=from-cm2", "password=39528$vdg7Jb",
		"EXPANDED=b-from-cm2-$(B)", "NAME=env-pod", "NS=default", "UID=" + p.Metadata.UID, "APP=envs", "BUILD=7",
		"NODE=" + strings.ToLower(host), "SA=default", "IP=" + p.Status.PodIP, "IPS=" + p.Status.PodIP, "HOSTIP=" + p.Status.HostIP,
		"CPU_REQUEST=1", "CPU_LIMIT=250", "MEM_LIMIT=64",
		"cmd: b env-pod $(MISSING)",
	} {
		if !lines[want] {
			t.Errorf("no line %q in the container's output:\n%s", want, strings.Join(r.lines("c"), "\n"))
		}
	}
	// No limit: the node's allocatable.
	if !slices.ContainsFunc(r.lines("c"), func(l string) bool { return strings.HasPrefix(l, "EPH_LIMIT=") && len(l) > len("EPH_LIMIT=1000") }) {
		t.Errorf("EPH_LIMIT is not the node's storage: %q", r.lines("c"))
	}
	for _, l := range r.lines("c") {
		if strings.HasPrefix(l, "OPT=") {
			t.Errorf("an optional missing key made %q", l)
		}
	}
}

// A missing ConfigMap or key keeps the container waiting with CreateContainerConfigError and
// the kubelet's message, retried after the back-off: once the object is there, it starts. A
// missing object of a volume keeps the pod's containers from being created (FailedMount)
// until it exists.
func TestConfigCreatedLater(t *testing.T) {
	e := newEnv(t)
	envPod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: env-later}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %q
    command: [sh, -c, 'echo "got $K"; exec sleep 3600']
    env: [{name: K, valueFrom: {configMapKeyRef: {name: later, key: k}}}]
`, rootfsImage())
	r := e.run(envPod)
	e.waitFor(t, "default", "env-later", waitingWith("c", "CreateContainerConfigError", `configmap "later" not found`), 60*time.Second)
	if evs := e.events(t, "default", "env-later"); len(eventsWith(evs, "c", "Failed", `Error: configmap "later" not found`)) == 0 {
		t.Errorf("no Failed event: %+v", evs)
	}
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later}\ndata: {other: x}\n")
	e.waitFor(t, "default", "env-later", waitingWith("c", "CreateContainerConfigError", "couldn't find key k in ConfigMap default/later"), 60*time.Second)
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later}\ndata: {k: v}\n")
	r.waitLine(t, "c", "got v", 60*time.Second)
	if cs := ctrStatus(e.status("default", "env-later"), "c"); cs.RestartCount != 0 {
		t.Errorf("restarts %d: a container never created is not restarted", cs.RestartCount)
	}

	volPod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: vol-later}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %q
    command: [sh, -c, 'cat /v/f; echo; exec sleep 3600']
    volumeMounts: [{name: v, mountPath: /v}]
  volumes: [{name: v, secret: {secretName: vol-later}}]
`, rootfsImage())
	// -d says why the pod cannot run yet, and leaves it waiting.
	res := e.execTimeout(60*time.Second, append([]string{"run", "-d"}, e.writeFiles(t, volPod)...)...)
	want := `MountVolume.SetUp failed for volume "v" : secret "vol-later" not found`
	if res.code != 1 || !strings.Contains(res.stderr, want) {
		t.Fatalf("run -d: exit %d, stderr %q; want 1 and %q", res.code, res.stderr, want)
	}
	p := e.status("default", "vol-later")
	if cs := ctrStatus(p, "c"); p.Status.Phase != api.PodPending || cs.State.Waiting == nil || cs.State.Waiting.Reason != "ContainerCreating" {
		t.Errorf("status %s", describe(p))
	}
	if !hasEvent(e.events(t, "default", "vol-later"), "Warning", "FailedMount", want) {
		t.Errorf("no FailedMount event: %+v", e.events(t, "default", "vol-later"))
	}
	e.apply(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: vol-later}\nstringData: {f: at-last}\n")
	e.waitFor(t, "default", "vol-later", running("c"), 60*time.Second)
	if out := e.mustExec(t, "logs", "vol-later").stdout; !strings.Contains(out, "at-last") {
		t.Errorf("log %q", out)
	}
	r.signal(syscall.SIGINT)
	r.wait(t, 60*time.Second)
	e.deletePod(t, "vol-later")
}

// configMap, secret, downwardAPI and projected volumes as a container sees them: items,
// modes, fsGroup, read-only mounts; secret and projected volumes on tmpfs, secrets stored
// for root only.
func TestConfigVolumes(t *testing.T) {
	e := newEnv(t)
	objs := `apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: A, b: B}
binaryData: {bin: AAEC}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: pw, user: u}
`
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: vols, labels: {app: vols, tier: web}}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {fsGroup: 3000}
  containers:
  - name: c
    image: %q
    command: [sleep, "3600"]
    resources: {limits: {cpu: 500m, memory: 64Mi}}
    volumeMounts:
    - {name: cm, mountPath: /cm}
    - {name: items, mountPath: /items}
    - {name: sec, mountPath: /sec}
    - {name: info, mountPath: /info}
    - {name: proj, mountPath: /proj}
    - {name: opt, mountPath: /opt}
    - {name: scratch, mountPath: /cm/scratch}
  volumes:
  - {name: cm, configMap: {name: cm}}
  - {name: items, configMap: {name: cm, defaultMode: 0440, items: [{key: a, path: dir/a, mode: 0600}, {key: bin, path: bin}]}}
  - {name: sec, secret: {secretName: s, defaultMode: 0400}}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: cpu, resourceFieldRef: {containerName: c, resource: limits.cpu, divisor: 1m}}
      - {path: mem, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}
  - name: proj
    projected:
      defaultMode: 0444
      sources:
      - configMap: {name: cm, items: [{key: b, path: cm/b}]}
      - secret: {name: s, items: [{key: user, path: s/user, mode: 0777}]}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
  - {name: opt, configMap: {name: absent, optional: true}}
  - {name: scratch, emptyDir: {}}
`, rootfsImage())
	r := e.runFiles(t, []string{"-d"}, objs, pod)
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("run -d: exit %d\n%s", code, r.stderr())
	}
	sh := func(script string) string {
		t.Helper()
		return strings.TrimSpace(e.mustExec(t, "exec", "vols", "--", "sh", "-c", script).stdout)
	}
	stat := func(p string) string { return sh("stat -L -c '%a %g' " + p) }
	for p, want := range map[string]string{
		"/cm/a": "644 3000", "/cm/bin": "644 3000",
		"/items/dir/a": "640 3000", "/items/bin": "440 3000",
		"/sec/password": "440 3000", "/sec/user": "440 3000",
		"/info/labels": "644 3000", "/proj/cm/b": "444 3000", "/proj/s/user": "777 3000", "/proj/ns": "444 3000",
		"/cm": "2777 3000", "/sec/..data": "2755 3000",
	} {
		if got := stat(p); got != want {
			t.Errorf("stat %s = %q, want %q (mode, group)", p, got, want)
		}
	}
	for cmd, want := range map[string]string{
		"cat /cm/a /cm/b; echo; od -An -tx1 /cm/bin": "AB\n 00 01 02",
		"ls /items; ls /items/dir":                   "bin\ndir\na",
		"cat /sec/password /sec/user":                "pwu",
		"cat /info/labels":                           "app=\"vols\"\ntier=\"web\"",
		"cat /info/name /info/cpu /info/mem":         "vols50064",
		"cat /proj/cm/b /proj/s/user /proj/ns":       "Budefault",
		"ls -A /opt | grep -v '^\\.\\.'; echo end":   "end",
		"readlink /cm/a; ls -d /cm/scratch":          "..data/a\n/cm/scratch",
		"touch /cm/x 2>&1 || true":                   "touch: /cm/x: Read-only file system",
		"touch /sec/x 2>&1 || true":                  "touch: /sec/x: Read-only file system",
	} {
		if got := sh(cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
	// Secret and projected volumes are tmpfs of the pod's memory limit (in the monitor's mount
	// namespace, like all of a pod's mounts), configMap ones not mounts at all.
	p := e.status("default", "vols")
	volDir := filepath.Join(e.rootDir, "pods", p.Metadata.UID, "volumes")
	mounts := e.monitorMountLinesUnder(t, "vols", volDir)
	for _, v := range []string{"sec", "proj"} {
		if !slices.ContainsFunc(mounts, func(l string) bool {
			return strings.Contains(l, " "+filepath.Join(volDir, v)+" ") && strings.Contains(l, " - tmpfs tmpfs ") && strings.Contains(l, "size=65536k")
		}) {
			t.Errorf("volume %s is not a tmpfs of 64Mi: %q", v, mounts)
		}
	}
	if len(mounts) != 2 {
		t.Errorf("mounts %q, want the two tmpfs", mounts)
	}
	// Secrets at rest: root only.
	for path, want := range map[string]os.FileMode{
		filepath.Join(e.rootDir, "objects", "secrets"):                      0o700,
		filepath.Join(e.rootDir, "objects", "secrets", "default"):           0o700,
		filepath.Join(e.rootDir, "objects", "secrets", "default", "s.json"): 0o600,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want %v", path, fi.Mode(), err, want)
		}
	}
	e.deletePod(t, "vols")
}

// A running container sees a replaced ConfigMap or Secret through ..data, at once and whole;
// a subPath mount keeps what it had, as do variables; a deleted object leaves the files; the
// pod's new labels reach its downwardAPI files.
func TestConfigUpdate(t *testing.T) {
	e := newEnv(t)
	cm := func(v string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {conf: %q, extra: e}\n", v)
	}
	sec := func(v string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: sec}\nstringData: {token: %q}\n", v)
	}
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: upd, labels: {v: "1"}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %q
    command: [sleep, "3600"]
    env: [{name: CONF, valueFrom: {configMapKeyRef: {name: cfg, key: conf}}}]
    volumeMounts:
    - {name: cfg, mountPath: /cfg}
    - {name: cfg, mountPath: /etc/app.conf, subPath: conf}
    - {name: sec, mountPath: /sec}
    - {name: proj, mountPath: /proj}
    - {name: info, mountPath: /info}
  volumes:
  - {name: cfg, configMap: {name: cfg}}
  - {name: sec, secret: {secretName: sec}}
  - {name: proj, projected: {sources: [{configMap: {name: cfg}}, {secret: {name: sec}}]}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
`, rootfsImage())
	r := e.runFiles(t, []string{"-d"}, cm("one"), sec("t1"), pod)
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("run -d: exit %d\n%s", code, r.stderr())
	}
	sh := func(script string) string {
		t.Helper()
		return strings.TrimSpace(e.mustExec(t, "exec", "upd", "--", "sh", "-c", script).stdout)
	}
	const view = "cat /cfg/conf /etc/app.conf /sec/token /proj/conf /proj/token; echo \" $CONF\""
	if got := sh(view); got != "oneonet1onet1 one" {
		t.Fatalf("before: %q", got)
	}
	dataBefore := sh("readlink /cfg/..data")
	// Read, in the container, how long the update takes to show.
	await := func(script, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := sh(script)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q, want %q", script, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if out := e.apply(t, cm("two")+"---\n"+sec("t2")); !strings.Contains(out, "configmap/cfg configured") || !strings.Contains(out, "secret/sec configured") {
		t.Errorf("apply said %q", out)
	}
	await(view, "twoonet2twot2 one")
	if after := sh("readlink /cfg/..data"); after == dataBefore || !strings.HasPrefix(after, "..20") {
		t.Errorf("..data: %q -> %q", dataBefore, after)
	}
	// One data directory left in each volume.
	if got := sh("ls -a /cfg | grep -c '^\\.\\.20'"); got != "1" {
		t.Errorf("%s data directories in /cfg", got)
	}

	// A deleted object leaves the files as they are (the kubelet keeps the last content).
	e.mustExec(t, "delete", "configmap", "cfg")
	time.Sleep(time.Second)
	if got := sh("cat /cfg/conf"); got != "two" {
		t.Errorf("after delete: %q", got)
	}
	e.apply(t, cm("three"))
	await("cat /cfg/conf", "three")

	// Labels changed on the running pod reach its downwardAPI volume.
	c := monitorapi.NewClient(e.podDir("default", "upd"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.SetMetadata(ctx, monitorapi.Metadata{Labels: map[string]string{"v": "2", "new": "x"}}); err != nil {
		t.Fatal(err)
	}
	await("cat /info/labels", "new=\"x\"\nv=\"2\"")
	if p := e.status("default", "upd"); p.Metadata.Labels["v"] != "2" {
		t.Errorf("status labels %v", p.Metadata.Labels)
	}
	if _, err := c.SetMetadata(ctx, monitorapi.Metadata{Labels: map[string]string{"bad key": "x"}}); err == nil || !monitorapi.IsKind(err, monitorapi.Invalid) {
		t.Errorf("invalid label: %v", err)
	}

	// An immutable object stays as it is.
	imm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: frozen}\nimmutable: true\ndata: {a: \"1\"}\n"
	e.apply(t, imm)
	res := e.exec(append([]string{"run"}, e.writeFiles(t, strings.Replace(imm, `"1"`, `"2"`, 1))...)...)
	if res.code != 2 || !strings.Contains(res.stderr, "configmap/frozen: data: Forbidden: field is immutable when `immutable` is set") {
		t.Errorf("update of an immutable ConfigMap: exit %d, %s", res.code, res.stderr)
	}
	e.deletePod(t, "upd")
}

// Image pull secrets are the credentials of the pod's pulls: without the Secret the pull is
// refused (and the kubelet's event names it), with it the image comes, from a registry that
// requires basic authentication.
func TestImagePullSecrets(t *testing.T) {
	e := newEnv(t)
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "puller" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img := buildImage(t, v1.Config{Cmd: []string{"sh"}}, time.Now())
	ref := host + "/private/busybox:1"
	pushAuth(t, ref, img, "puller", "s3cret")

	pod := func(name, secret string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 1
  imagePullSecrets: [{name: %s}]
  containers:
  - {name: c, image: %q, command: [sleep, "3600"]}
`, name, secret, ref)
	}
	r := e.run(pod("private", "regcred"))
	p := e.waitFor(t, "default", "private", func(p *api.Pod) bool {
		cs := ctrStatus(p, "c")
		return cs != nil && cs.State.Waiting != nil && (cs.State.Waiting.Reason == "ErrImagePull" || cs.State.Waiting.Reason == "ImagePullBackOff")
	}, 60*time.Second)
	if msg := ctrStatus(p, "c").State.Waiting.Message; !strings.Contains(msg, "unauthorized") {
		t.Errorf("pull without the secret: %q", msg)
	}
	if !hasEvent(e.events(t, "default", "private"), "Warning", "FailedToRetrieveImagePullSecret",
		"Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.") {
		t.Errorf("no FailedToRetrieveImagePullSecret event")
	}
	// What `kubectl create secret docker-registry regcred --docker-server=HOST
	// --docker-username=puller --docker-password=s3cret` makes; the pull is retried after
	// the back-off and succeeds.
	cfg := fmt.Sprintf(`{"auths":{%q:{"username":"puller","password":"s3cret","auth":"cHVsbGVyOnMzY3JldA=="}}}`, host)
	e.apply(t, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '%s'}\n", cfg))
	e.waitFor(t, "default", "private", running("c"), 90*time.Second)

	// The legacy .dockercfg form works too, for another pod.
	legacy := fmt.Sprintf(`{%q:{"username":"puller","password":"s3cret"}}`, host)
	e.apply(t, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: legacy}\ntype: kubernetes.io/dockercfg\nstringData: {.dockercfg: '%s'}\n", legacy))
	e.mustExec(t, "image", "rm", "--force", ref)
	res := e.execTimeout(90*time.Second, append([]string{"run", "-d"}, e.writeFiles(t, pod("legacy", "legacy"))...)...)
	if res.code != 0 {
		t.Errorf("run -d with a .dockercfg secret: exit %d\n%s", res.code, res.stderr)
	}
	// An image volume is pulled with the pod's pull secrets too (the kubelet's
	// getImageVolumes): pullPolicy Always goes to the registry, which wants them.
	vol := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: vol}
spec:
  terminationGracePeriodSeconds: 1
  imagePullSecrets: [{name: regcred}]
  volumes: [{name: v, image: {reference: %q, pullPolicy: Always}}]
  containers:
  - {name: c, image: %q, command: [sleep, "3600"], volumeMounts: [{name: v, mountPath: /vol}]}
`, ref, ref)
	res = e.execTimeout(90*time.Second, append([]string{"run", "-d"}, e.writeFiles(t, vol)...)...)
	if res.code != 0 {
		t.Errorf("run -d with an image volume from the private registry: exit %d\n%s", res.code, res.stderr)
	} else if out, code := e.execIn(t, "vol", "c", "test", "-x", "/vol/bin/sh"); code != 0 {
		t.Errorf("the image volume lacks /bin/sh: exit %d %q", code, out)
	}
	r.signal(syscall.SIGINT)
	r.wait(t, 60*time.Second)
	e.deletePod(t, "legacy")
	e.deletePod(t, "vol")
}

// pushAuth uploads img as ref to a registry that wants basic authentication.
func pushAuth(t testing.TB, ref string, img v1.Image, user, pass string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}
