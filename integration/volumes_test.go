//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
)

// claimPod is a pod of namespace ns whose container "c" runs script with the claim mounted
// at /data.
func claimPod(name, ns, claim string, readOnly bool, script string) *api.Pod {
	p := newPod(name, api.RestartPolicyNever, sh("c", script))
	p.Metadata.Namespace = ns
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	p.Spec.Volumes = []api.Volume{{Name: "d", PersistentVolumeClaim: &api.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: readOnly}}}
	p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "d", MountPath: "/data"}}
	return p
}

// runOut runs a pod to its end (removed afterwards, as `minipod run` does by default) and
// returns what its container printed.
func runOut(t *testing.T, e *env, p *api.Pod) []string {
	t.Helper()
	r := e.run(manifest(p))
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("run %s: exit %d\nstdout:\n%s\nstderr:\n%s", p.Metadata.Name, code, r.stdout(), r.stderr())
	}
	return r.lines("c")
}

func (e *env) volumePath(ns, claim string) string {
	return filepath.Join(e.rootDir, "volumes", ns, claim, "_data")
}

// A claim's volume is made on first use, outlives its pod, is seen by the next pod that
// claims it, gets the pod's fsGroup (unless the claim is read-only), and is the claim's
// namespace's alone.
func TestClaimOutlivesPods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	writer := claimPod("writer", "default", "data", false, "echo kept > /data/msg && id -u && stat -c '%g %A' /data /data/msg")
	writer.Spec.SecurityContext = &api.PodSecurityContext{RunAsUser: int64p(1000), FSGroup: int64p(2000)}
	if got, want := strings.Join(runOut(t, e, writer), "\n"), "1000\n2000 drwxrwsrwx\n2000 -rw-r--r--"; got != want {
		t.Errorf("writer printed\n%s\nwant\n%s", got, want)
	}
	// The pod is gone (run removed it); the volume and its data are not.
	if _, err := os.Stat(e.podDir("default", "writer")); !os.IsNotExist(err) {
		t.Errorf("the writer pod is still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(e.volumePath("default", "data"), "msg")); err != nil || string(b) != "kept\n" {
		t.Fatalf("volume content after the pod: %q, %v", b, err)
	}
	assertNoLeaks(t, e)

	// The next pod sees it; read-only, it cannot change it, and its fsGroup is not applied.
	reader := claimPod("reader", "default", "data", true, "cat /data/msg; touch /data/new 2>&1; stat -c %g /data")
	reader.Spec.SecurityContext = &api.PodSecurityContext{FSGroup: int64p(3000)}
	if got, want := strings.Join(runOut(t, e, reader), "\n"), "kept\ntouch: /data/new: Read-only file system\n2000"; got != want {
		t.Errorf("reader printed\n%s\nwant\n%s", got, want)
	}
	// The same claim name in another namespace is another volume.
	if got := runOut(t, e, claimPod("reader", "other", "data", false, "ls -A /data | wc -l")); !slices.Equal(got, []string{"0"}) {
		t.Errorf("namespace other's claim holds %q entries, want none", got)
	}
	res := e.mustExec(t, "get", "volumes", "-A")
	if !regexpLines(res.stdout, `^NAMESPACE\s+NAME\s+CAPACITY\s+ACCESS MODES\s+USED BY\s+AGE$`, `^default\s+data\s+<none>\s+\d+s$`, `^other\s+data\s+<none>\s+\d+s$`) {
		t.Errorf("get volumes -A:\n%s", res.stdout)
	}
	assertNoLeaks(t, e)
}

// A PersistentVolumeClaim document in the same run as its pod (one multi-document manifest)
// makes the volume with its declaration before the pod starts; a second run keeps the volume
// as it is (podman kube play's ignore-if-exists); a bad claim refuses the whole run, creating
// nothing.
func TestClaimDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: decl\n  namespace: ns1\n" +
		"spec:\n  accessModes: [ReadWriteOncePod]\n  resources: {requests: {storage: 5Mi}}\n"
	writer := claimPod("writer", "ns1", "decl", false, "ls -A /data | wc -l; echo one > /data/f")
	r := e.run(claim + "---\n" + manifest(writer))
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("run claim+pod: exit %d\n%s", code, r.stderr())
	}
	if got := r.lines("c"); !slices.Equal(got, []string{"0"}) {
		t.Errorf("the new claim held %q entries, want none", got)
	}
	// The pod's output is on stdout: what was stored goes to stderr.
	if !strings.Contains(r.stderr(), "minipod: persistentvolumeclaim/decl created\n") {
		t.Errorf("run did not say the claim was created:\n%s", r.stderr())
	}
	res := e.mustExec(t, "get", "pvc", "-n", "ns1")
	if !regexpLines(res.stdout, `^NAME\s+CAPACITY\s+ACCESS MODES\s+USED BY\s+AGE$`, `^decl\s+5Mi\s+RWOP\s+<none>\s+\d+s$`) {
		t.Errorf("get pvc -n ns1:\n%s", res.stdout)
	}

	// Again, the claim alone: unchanged, its content kept.
	if out := e.apply(t, claim); out != "persistentvolumeclaim/decl unchanged\n" {
		t.Errorf("run claim again printed %q", out)
	}
	if b, err := os.ReadFile(filepath.Join(e.volumePath("ns1", "decl"), "f")); err != nil || string(b) != "one\n" {
		t.Errorf("volume content after a second run: %q, %v", b, err)
	}

	// A bad claim beside a good pod: exit 2 naming the document and field, no pod, no volume.
	bad := strings.Replace(strings.Replace(claim, "decl", "other", 1), "5Mi", "0", 1)
	res = e.exec("run", "-d", e.writeFiles(t, bad+"---\n"+manifest(claimPod("p2", "ns1", "other", false, "true")))[0])
	if res.code != 2 || !strings.Contains(res.stderr, `document 1 (persistentvolumeclaim/other): spec.resources[storage]: Invalid value: "0": must be greater than zero`) {
		t.Errorf("run with a bad claim: exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.rootDir, "volumes", "ns1", "other")); !os.IsNotExist(err) {
		t.Errorf("a refused run made the volume: %v", err)
	}
	if _, err := os.Stat(e.podDir("ns1", "p2")); !os.IsNotExist(err) {
		t.Errorf("a refused run made the pod: %v", err)
	}
	e.mustExec(t, "delete", "volume", "decl", "-n", "ns1")
	assertNoLeaks(t, e)
}

// regexpLines reports whether out's lines match the patterns, one each, in order.
func regexpLines(out string, patterns ...string) bool {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(patterns) {
		return false
	}
	for i, p := range patterns {
		if !regexp.MustCompile(p).MatchString(lines[i]) {
			return false
		}
	}
	return true
}

// Two pods started at once claim a volume that does not exist yet: one volume is made, both
// use it at the same time (ReadWriteOnce on one node lets them, as in Kubernetes). It cannot
// be deleted while they run, which names them; afterwards it can, with its content.
func TestClaimShared(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b"} {
		p := claimPod(n, "default", "shared", false, "echo $HOSTNAME > /data/$HOSTNAME; exec sleep 100000")
		p.Spec.RestartPolicy = api.RestartPolicyAlways
		m := manifest(p)
		wg.Go(func() {
			if r := e.run(m, "-d"); r.wait(t, 60*time.Second) != 0 {
				t.Errorf("run -d %s: %s", n, r.stderr())
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, n := range []string{"a", "b"} {
		e.waitFor(t, "default", n, running("c"), 30*time.Second)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := e.execIn(t, "a", "c", "sh", "-c", "cat /data/a /data/b")
		if out == "a\nb\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod a sees %q in the shared volume, want both pods' files", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ents, _ := os.ReadDir(filepath.Join(e.rootDir, "volumes", "default"))
	if len(ents) != 1 || ents[0].Name() != "shared" {
		t.Errorf("volumes of default: %v, want the one volume", ents)
	}

	res := e.mustExec(t, "get", "volumes")
	if !regexpLines(res.stdout, `^NAME\s+CAPACITY\s+ACCESS MODES\s+USED BY\s+AGE$`, `^shared\s+a,b\s+\d+s$`) {
		t.Errorf("get volumes:\n%s", res.stdout)
	}
	if res := e.mustExec(t, "get", "pvc", "-o", "name"); res.stdout != "persistentvolumeclaim/shared\n" {
		t.Errorf("get pvc -o name: %q", res.stdout)
	}
	res = e.mustExec(t, "get", "volume", "shared", "-o", "json")
	var pvc api.PersistentVolumeClaim
	if err := json.Unmarshal([]byte(res.stdout), &pvc); err != nil {
		t.Fatalf("get volume -o json: %v\n%s", err, res.stdout)
	}
	if pvc.Kind != "PersistentVolumeClaim" || pvc.APIVersion != "v1" || pvc.Metadata.Name != "shared" || pvc.Metadata.Namespace != "default" ||
		pvc.Metadata.UID == "" || pvc.Status.Phase != api.ClaimBound || pvc.Metadata.Annotations["minipod.io/path"] != e.volumePath("default", "shared") {
		t.Errorf("get volume -o json:\n%s", res.stdout)
	}
	if res := e.mustExec(t, "get", "volumes", "-o", "yaml"); !strings.Contains(res.stdout, "kind: List") || !strings.Contains(res.stdout, "kind: PersistentVolumeClaim") {
		t.Errorf("get volumes -o yaml:\n%s", res.stdout)
	}
	if res := e.exec("get", "volume", "nope"); res.code != 1 || res.stderr != "Error from server (NotFound): persistentvolumeclaims \"nope\" not found\n" {
		t.Errorf("get volume nope: exit %d, %q", res.code, res.stderr)
	}

	// In use: refused, naming the pods, and nothing lost.
	res = e.exec("delete", "volume", "shared")
	if res.code != 1 || !strings.Contains(res.stderr, `volume "shared" is in use by pods "a", "b"`) {
		t.Errorf("delete volume in use: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.volumePath("default", "shared"), "a")); err != nil {
		t.Errorf("a refused delete lost data: %v", err)
	}
	e.deletePod(t, "a")
	res = e.exec("delete", "volume", "shared")
	if res.code != 1 || !strings.Contains(res.stderr, `volume "shared" is in use by pod "b"`) {
		t.Errorf("delete volume in use by b: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	e.deletePod(t, "b")
	if res := e.mustExec(t, "delete", "volume", "shared"); res.stdout != "persistentvolumeclaim \"shared\" deleted\n" {
		t.Errorf("delete volume: %q", res.stdout)
	}
	if res := e.mustExec(t, "get", "volumes"); res.stdout != "" || !strings.Contains(res.stderr, "No resources found in default namespace.") {
		t.Errorf("get volumes after the delete: %q %q", res.stdout, res.stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.rootDir, "volumes", "default")); len(ents) != 0 {
		t.Errorf("left of the deleted volume: %v", ents)
	}
	if res := e.exec("delete", "volume", "shared"); res.code != 1 || !strings.Contains(res.stderr, `persistentvolumeclaims "shared" not found`) {
		t.Errorf("delete volume twice: exit %d %q", res.code, res.stderr)
	}
	assertNoLeaks(t, e)
}

// artifactImage is a two-layer image with files only, as quay.io/crio/artifact:v2 is: dir/file
// (1) and file (2), an executable, and a file the upper layer replaces.
func artifactImage(t *testing.T) v1.Image {
	l0 := layerFromTar(t, tarBytes(t, []tarEntry{{Name: "dir/"}, {Name: "dir/file", Body: "1\n"}, {Name: "file", Body: "old\n"}}))
	l1 := layerFromTar(t, tarBytes(t, []tarEntry{{Name: "file", Body: "2\n"}, {Name: "dir/tool", Body: "#!/bin/sh\necho ran\n", Mode: 0o755}}))
	img, err := mutate.AppendLayers(empty.Image, l0, l1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = goruntime.GOARCH, "linux"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// An image volume: the image (pulled per its pullPolicy) mounted read-only, nosuid, nodev
// and noexec (as CRI-O mounts it), with subPath; its image is in use while the pod runs, and
// the mount goes with the pod.
func TestImageVolume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := startRegistry(t)
	ref := host + "/crio/artifact:v2"
	push(t, ref, artifactImage(t))
	p := imagePod("tools", api.RestartPolicyAlways, sleeper("c", rootfsImage(), "true"))
	p.Spec.Volumes = []api.Volume{{Name: "v", Image: &api.ImageVolumeSource{Reference: ref, PullPolicy: api.PullAlways}}}
	p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "v", MountPath: "/volume"}, {Name: "v", MountPath: "/sub", SubPath: "dir"}}
	r := e.run(manifest(p), "-d")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d: exit %d\n%s", code, r.stderr())
	}
	st := e.waitRunning(t, "tools", "c")
	for cmd, want := range map[string]string{
		"cat /volume/dir/file /volume/file /sub/file":                                "1\n2\n1\n",
		"touch /volume/x 2>&1; echo $?":                                              "touch: /volume/x: Read-only file system\n1\n",
		"/sub/tool 2>&1; echo $?":                                                    "sh: /sub/tool: Permission denied\n126\n",
		"grep ' /volume ' /proc/mounts | grep -o 'ro,nosuid,nodev,noexec' | head -1": "ro,nosuid,nodev,noexec\n",
	} {
		if out, _ := e.execIn(t, "tools", "c", "sh", "-c", cmd); out != want {
			t.Errorf("%s: %q, want %q", cmd, out, want)
		}
	}
	evs := e.events(t, "default", "tools")
	if len(eventsWith(evs, "", "Pulling", fmt.Sprintf("Pulling image %q", ref))) != 1 || len(eventsWith(evs, "", "Pulled", fmt.Sprintf("Successfully pulled image %q", ref))) != 1 {
		t.Errorf("pod events %+v, want the image volume's Pulling and Pulled", evs)
	}
	if res := e.exec("image", "rm", ref); res.code == 0 || !strings.Contains(res.stderr, "used by a pod") {
		t.Errorf("image rm of an image volume in use: exit %d %q", res.code, res.stderr)
	}
	// Mounted once for the two mounts, under the pod's data dir (in the monitor's namespace).
	if ms := e.monitorMountLinesUnder(t, "tools", filepath.Join(e.rootDir, "pods", st.Metadata.UID, "image-volumes")); len(ms) != 1 {
		t.Errorf("image volume mounts %q, want 1", ms)
	}
	if out := e.mustExec(t, "describe", "pod", "tools").stdout; !regexp.MustCompile(`Type:\s+Image \(a container image or OCI artifact\)\n\s+Reference:\s+` + regexp.QuoteMeta(ref) + `\n\s+PullPolicy:\s+Always\n`).MatchString(out) {
		t.Errorf("describe:\n%s", out)
	}
	e.deletePod(t, "tools")
	assertNoLeaks(t, e)
	e.mustExec(t, "image", "rm", ref)
}

// A missing image volume keeps the containers that mount it waiting as the kubelet reports it
// (ErrImagePull, then ImagePullBackOff with the pull's error; Never: ErrImageNeverPull; a bad
// reference: InvalidImageName), and retried; a container that does not mount it runs; a
// subPath the image lacks is a CreateContainerError.
func TestImageVolumeFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := startRegistry(t)
	ref := host + "/crio/artifact:v2"
	push(t, ref, artifactImage(t))
	missing := host + "/invalid:1"
	p := imagePod("volfail", api.RestartPolicyAlways,
		sleeper("pull", rootfsImage(), "true"),
		sleeper("never", rootfsImage(), "true"),
		sleeper("subpath", rootfsImage(), "true"),
		sleeper("invalid", rootfsImage(), "true"),
		sleeper("free", rootfsImage(), "echo free"))
	p.Spec.Volumes = []api.Volume{
		{Name: "missing", Image: &api.ImageVolumeSource{Reference: missing, PullPolicy: api.PullIfNotPresent}},
		{Name: "never", Image: &api.ImageVolumeSource{Reference: host + "/crio/artifact:never", PullPolicy: api.PullNever}},
		{Name: "good", Image: &api.ImageVolumeSource{Reference: ref, PullPolicy: api.PullIfNotPresent}},
		{Name: "invalid", Image: &api.ImageVolumeSource{Reference: "UPPER/Case:tag", PullPolicy: api.PullIfNotPresent}},
	}
	p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "missing", MountPath: "/v"}}
	p.Spec.Containers[1].VolumeMounts = []api.VolumeMount{{Name: "never", MountPath: "/v"}}
	p.Spec.Containers[2].VolumeMounts = []api.VolumeMount{{Name: "good", MountPath: "/v", SubPath: "not-existing"}}
	p.Spec.Containers[3].VolumeMounts = []api.VolumeMount{{Name: "invalid", MountPath: "/v"}}
	var mu sync.Mutex
	var reasons []string // of "pull", collapsed
	w := watchStatus(e, "default", "volfail", 5*time.Millisecond, func(p *api.Pod) {
		mu.Lock()
		defer mu.Unlock()
		if cs := ctrStatus(p, "pull"); cs != nil && cs.State.Waiting != nil && (len(reasons) == 0 || reasons[len(reasons)-1] != cs.State.Waiting.Reason) {
			reasons = append(reasons, cs.State.Waiting.Reason)
		}
	})
	r := e.run(manifest(p), "--rm=false")
	st := e.waitFor(t, "default", "volfail", and(running("free"),
		waitingReason("pull", "ImagePullBackOff"), waitingReason("never", "ErrImageNeverPull"), waitingReason("subpath", "CreateContainerError"),
		waitingReason("invalid", "InvalidImageName")), 90*time.Second)
	time.Sleep(2 * time.Second) // a few back-offs (200 ms doubling to 800 ms)
	w.finish()
	mu.Lock()
	if i := slices.Index(reasons, "ErrImagePull"); i < 0 || !slices.Contains(reasons[i:], "ImagePullBackOff") || strings.Count(strings.Join(reasons, " "), "ErrImagePull") < 2 {
		t.Errorf("waiting reasons of pull: %q, want ErrImagePull, ImagePullBackOff and a new pull", reasons)
	}
	mu.Unlock()
	msg := ctrStatus(st, "pull").State.Waiting.Message
	if !strings.HasPrefix(msg, fmt.Sprintf("Back-off pulling image %q: ErrImagePull: ", missing)) || !strings.Contains(strings.ToLower(msg), "manifest") {
		t.Errorf("ImagePullBackOff message %q", msg)
	}
	if m := ctrStatus(st, "never").State.Waiting.Message; m != fmt.Sprintf("Container image %q is not present with pull policy of Never", host+"/crio/artifact:never") {
		t.Errorf("ErrImageNeverPull message %q", m)
	}
	if m := ctrStatus(st, "subpath").State.Waiting.Message; m != fmt.Sprintf("sub path %q does not exist in image volume %q", "not-existing", ref) {
		t.Errorf("CreateContainerError message %q", m)
	}
	if m := ctrStatus(st, "invalid").State.Waiting.Message; !strings.HasPrefix(m, `Failed to apply default image tag "UPPER/Case:tag": `) {
		t.Errorf("InvalidImageName message %q", m)
	}
	evs := e.events(t, "default", "volfail")
	for _, want := range []struct{ container, reason, msg string }{
		{"pull", "Failed", "Error: ErrImagePull"},
		{"pull", "Failed", "Error: ImagePullBackOff"},
		{"never", "Failed", "Error: ErrImageNeverPull"},
		{"", "Failed", fmt.Sprintf("Failed to pull image %q: ", missing)},
		{"", "BackOff", fmt.Sprintf("Back-off pulling image %q", missing)},
		{"", "ErrImageNeverPull", "Container image"},
		{"subpath", "Failed", "Error: sub path"},
		{"invalid", "Failed", "Error: InvalidImageName"},
		{"", "InspectFailed", "Failed to apply default image tag"},
	} {
		if len(eventsWith(evs, want.container, want.reason, want.msg)) == 0 {
			t.Errorf("no event %+v among %+v", want, evs)
		}
	}
	for _, c := range []string{"pull", "never", "subpath", "invalid"} {
		if cs := ctrStatus(st, c); cs.RestartCount != 0 {
			t.Errorf("container %s restarted %d times", c, cs.RestartCount)
		}
	}
	e.deletePod(t, "volfail")
	r.wait(t, 30*time.Second)
	assertNoLeaks(t, e)
}

// volumeLeaks is assertNoLeaks's part for volumes: named volumes stay when their pods go,
// by design, but none may be left mounted (bound into a namespace that outlived its pod, or
// on the host), nor may an image volume's mount; and a creation or deletion leaves no
// staging directory.
func volumeLeaks(e *env) []string {
	var out []string
	store := filepath.Join(e.rootDir, "volumes")
	b, _ := os.ReadFile("/proc/self/mountinfo")
	lines := strings.Split(string(b), "\n")
	// A bind mount's root is the source's path within its filesystem: the store's path less
	// the mount point of the filesystem that holds it.
	storeInFS := store
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 4 && (f[4] == "/" || strings.HasPrefix(store, f[4]+"/")) && len(f[4]) <= len(store) {
			if rel := strings.TrimPrefix(store, strings.TrimSuffix(f[4], "/")); len(rel) < len(storeInFS) || storeInFS == store {
				storeInFS = rel
			}
		}
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		switch root, mp := f[3], f[4]; {
		case strings.HasPrefix(root, storeInFS+"/") || strings.HasPrefix(mp, store+"/"):
			out = append(out, "named volume mounted: "+l)
		case strings.Contains(mp, "/image-volumes/") && strings.HasPrefix(mp, e.rootDir+"/"):
			out = append(out, "image volume mounted: "+l)
		}
	}
	namespaces, _ := os.ReadDir(store)
	for _, ns := range namespaces {
		ents, _ := os.ReadDir(filepath.Join(store, ns.Name()))
		for _, en := range ents {
			if strings.HasPrefix(en.Name(), ".") {
				out = append(out, "named volume staging dir: "+filepath.Join(store, ns.Name(), en.Name()))
			}
		}
	}
	return out
}

// The leak check sees a volume left mounted and a staging directory left behind.
func TestVolumeLeakCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vol := e.volumePath("default", "data")
	staging := filepath.Join(e.rootDir, "volumes", "default", ".tmp-1")
	target := filepath.Join(e.dir, "bound")
	for _, d := range []string{vol, staging, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if l := volumeLeaks(e); len(l) != 1 || !strings.HasPrefix(l[0], "named volume staging dir: ") {
		t.Errorf("volumeLeaks = %q, want the staging dir", l)
	}
	os.Remove(staging)
	if err := unix.Mount(vol, target, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	l := volumeLeaks(e)
	unix.Unmount(target, unix.MNT_DETACH)
	if len(l) != 1 || !strings.HasPrefix(l[0], "named volume mounted: ") {
		t.Errorf("volumeLeaks = %q, want the bound volume", l)
	}
	if l := volumeLeaks(e); len(l) != 0 {
		t.Errorf("volumeLeaks = %q, want none", l)
	}
}
