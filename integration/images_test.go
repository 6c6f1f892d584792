//go:build integration

package integration

// Images end to end: pods from a registry served by the test itself on 127.0.0.1 (ggcr's
// in-process registry), from OCI layouts and archives, the `minipod image` commands, pull
// failures in pod status, and whiteouts across layers.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/minipod/minipod/api"
)

// ---------------------------------------------------------------------------------------------
// building and serving images

// startRegistry serves an empty in-memory registry on 127.0.0.1 and returns its host:port.
func startRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// tarEntry is one member of a test layer. Type defaults to a regular file (or a directory when
// Name ends in "/").
type tarEntry struct {
	Name     string
	Body     string
	Mode     int64
	Typeflag byte
	Linkname string
}

func tarBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: e.Mode, Typeflag: e.Typeflag, Linkname: e.Linkname, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			if strings.HasSuffix(e.Name, "/") {
				h.Typeflag = tar.TypeDir
			}
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dirTar archives a directory tree (files, dirs, symlinks) with paths relative to it.
func dirTar(dir string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = rel
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if _, err := tw.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func layerFromTar(t testing.TB, b []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var (
	busyboxLayerOnce sync.Once
	busyboxLayerVal  v1.Layer
	busyboxLayerErr  error
)

// busyboxLayer is the harness's busybox rootfs as one gzip layer, built once per process.
func busyboxLayer(t testing.TB) v1.Layer {
	t.Helper()
	busyboxLayerOnce.Do(func() {
		var b []byte
		if b, busyboxLayerErr = dirTar(rootfsDir); busyboxLayerErr != nil {
			return
		}
		busyboxLayerVal, busyboxLayerErr = tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if busyboxLayerErr == nil {
			_, busyboxLayerErr = busyboxLayerVal.Digest() // compress once, now
		}
	})
	if busyboxLayerErr != nil {
		t.Fatalf("busybox layer: %v", busyboxLayerErr)
	}
	return busyboxLayerVal
}

// buildImage makes a linux image of the host's architecture from the busybox layer and any
// extra layers on top, with the given process config and creation time.
func buildImage(t testing.TB, cfg v1.Config, created time.Time, extra ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{busyboxLayer(t)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = goruntime.GOARCH
	cf.OS = "linux"
	cf.Created = v1.Time{Time: created}
	cf.Config = cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// imageIDs returns an image's ID ("sha256:<config digest>") and manifest digest.
func imageIDs(t testing.TB, img v1.Image) (id, digest string) {
	t.Helper()
	c, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return c.String(), d.String()
}

// push uploads img as ref (host:port/repo:tag, plain HTTP).
func push(t testing.TB, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// writeLayout writes img into a new OCI layout at dir, tagged tag (ref.name annotation).
func writeLayout(t testing.TB, dir, tag string, img v1.Image) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------------------------
// pods and status helpers

func imagePod(name string, policy api.RestartPolicy, ctrs ...api.Container) *api.Pod {
	p := newPod(name, policy, ctrs...)
	p.Spec.TerminationGracePeriodSeconds = int64p(1)
	return p
}

// sleeper is a container from image running `sh -c script` (its output first, then sleep).
func sleeper(name, image, script string) api.Container {
	return api.Container{Name: name, Image: image, Command: []string{"sh", "-c", script + "; exec sleep 1000"}}
}

// waitingReason: the named container is waiting with reason.
func waitingReason(container, reason string) func(*api.Pod) bool {
	return func(p *api.Pod) bool {
		cs := ctrStatus(p, container)
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == reason
	}
}

// imageErrorReasons are the waiting reasons of a container whose image could not be had.
var imageErrorReasons = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}

// imageFailure returns "container: reason: message" for the first container of p waiting on
// an image error, or "".
func imageFailure(p *api.Pod) string {
	if p == nil {
		return ""
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && slices.Contains(imageErrorReasons, w.Reason) {
			return fmt.Sprintf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
		}
	}
	return ""
}

// waitExit waits for a `minipod run` of pod name to exit and returns its exit code; it fails at
// once if a container is stuck on an image error, instead of waiting out the timeout.
func (e *env) waitExit(t testing.TB, r *runProc, name string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !r.exited() && time.Now().Before(deadline) {
		if p, _ := e.readStatus("default", name); imageFailure(p) != "" {
			t.Fatalf("pod %s: %s", name, imageFailure(p))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r.wait(t, time.Second)
}

// waitRunning waits until the named containers of pod name run, failing at once on an image
// error.
func (e *env) waitRunning(t testing.TB, name string, containers ...string) *api.Pod {
	t.Helper()
	var failure string
	p := e.waitFor(t, "default", name, func(p *api.Pod) bool {
		failure = imageFailure(p)
		return failure != "" || running(containers...)(p)
	}, 60*time.Second)
	if failure != "" {
		t.Fatalf("pod %s: %s", name, failure)
	}
	return p
}

// deletePod runs `minipod delete pod` and checks it worked.
func (e *env) deletePod(t testing.TB, name string) {
	t.Helper()
	if res := e.exec("delete", "pod", name, "--grace-period=1"); res.code != 0 {
		t.Fatalf("delete pod %s: exit %d\n%s%s", name, res.code, res.stdout, res.stderr)
	}
}

// mustExec runs a minipod command that must exit 0.
func (e *env) mustExec(t testing.TB, args ...string) result {
	t.Helper()
	res := e.exec(args...)
	if res.code != 0 {
		t.Fatalf("minipod %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// lsRow finds the `image ls` row of repository repo and tag tag: its fields.
func lsRow(out, repo, tag string) []string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == repo && f[1] == tag {
			return f
		}
	}
	return nil
}

func shortHex(id string) string {
	_, h, _ := strings.Cut(id, ":")
	return h[:12]
}

// lowerDirs parses the lowerdir options of the overlay mount on / in a mountinfo line, top
// layer first ("lowerdir=a:b" or the newer repeated "lowerdir+=a").
func lowerDirs(line string) []string {
	_, super, ok := strings.Cut(line, " - ")
	if !ok {
		return nil
	}
	f := strings.Fields(super)
	if len(f) < 3 || f[0] != "overlay" {
		return nil
	}
	var out []string
	for _, opt := range strings.Split(f[2], ",") {
		switch {
		case strings.HasPrefix(opt, "lowerdir="):
			out = append(out, strings.Split(strings.TrimPrefix(opt, "lowerdir="), ":")...)
		case strings.HasPrefix(opt, "lowerdir+="):
			out = append(out, strings.TrimPrefix(opt, "lowerdir+="))
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// tests

// A pod from a registry image: the image's Cmd runs when the pod gives no command, the pod's env
// overrides the image's, the image's WorkingDir applies; status has image and imageID.
func TestImageRegistryPod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := startRegistry(t)
	ref := host + "/test/busybox:1"
	img := buildImage(t, v1.Config{
		Cmd:        []string{"sh", "-c", `echo "cmd FOO=$FOO BAR=$BAR PWD=$(pwd)"`},
		Env:        []string{"PATH=/bin", "FOO=image", "BAR=image"},
		WorkingDir: "/tmp",
	}, time.Now())
	push(t, ref, img)
	_, digest := imageIDs(t, img)

	p := imagePod("regpod", api.RestartPolicyNever, api.Container{Name: "c", Image: ref, Env: []api.EnvVar{{Name: "BAR", Value: "pod"}}})
	r := e.run(manifest(p), "--rm=false")
	if code := e.waitExit(t, r, "regpod", 60*time.Second); code != 0 {
		t.Fatalf("run exited %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout(), r.stderr())
	}
	if !r.hasLine("c", "cmd FOO=image BAR=pod PWD=/tmp") {
		t.Errorf("the image's Cmd with merged env did not run; stdout:\n%s", r.stdout())
	}
	st := e.status("default", "regpod")
	if st == nil {
		t.Fatal("no status")
	}
	if st.Status.Phase != api.PodSucceeded {
		t.Errorf("phase %s, want Succeeded", st.Status.Phase)
	}
	cs := ctrStatus(st, "c")
	if cs == nil {
		t.Fatalf("no container status: %s", describe(st))
	}
	if cs.Image != ref {
		t.Errorf("status image %q, want %q", cs.Image, ref)
	}
	if want := host + "/test/busybox@" + digest; cs.ImageID != want {
		t.Errorf("status imageID %q, want %q", cs.ImageID, want)
	}
	e.deletePod(t, "regpod")
	assertNoLeaks(t, e)
}

// Two pods from one image share the unpacked layers: the overlay lowerdirs of both containers'
// root filesystems are the same directories of the store; `image ls` shows one image.
func TestImageSharedLayers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := startRegistry(t)
	ref := host + "/test/busybox:1"
	top := layerFromTar(t, tarBytes(t, []tarEntry{{Name: "etc/motd", Body: "second layer\n"}}))
	img := buildImage(t, v1.Config{Env: []string{"PATH=/bin"}}, time.Now(), top)
	push(t, ref, img)
	id, _ := imageIDs(t, img)

	script := `awk '$5 == "/" { print "ROOT " $0 }' /proc/self/mountinfo; cat /etc/motd`
	var runs []*runProc
	for _, n := range []string{"share-a", "share-b"} {
		runs = append(runs, e.run(manifest(imagePod(n, api.RestartPolicyNever, sleeper("c", ref, script)))))
	}
	var lowers [][]string
	for i, n := range []string{"share-a", "share-b"} {
		e.waitRunning(t, n, "c")
		runs[i].waitLine(t, "c", "second layer", 10*time.Second)
		var root string
		for _, l := range runs[i].lines("c") {
			if strings.HasPrefix(l, "ROOT ") {
				root = strings.TrimPrefix(l, "ROOT ")
			}
		}
		ld := lowerDirs(root)
		if len(ld) != 2 {
			t.Fatalf("pod %s: root mount %q: want an overlay with 2 lowerdirs, got %q", n, root, ld)
		}
		for _, d := range ld {
			if !strings.HasPrefix(d, filepath.Join(e.rootDir, "images")+"/") {
				t.Errorf("pod %s: lowerdir %s is not in the image store %s", n, d, filepath.Join(e.rootDir, "images"))
			}
		}
		lowers = append(lowers, ld)
	}
	if !slices.Equal(lowers[0], lowers[1]) {
		t.Errorf("the pods do not share layers:\n  %q\n  %q", lowers[0], lowers[1])
	}

	res := e.mustExec(t, "image", "ls")
	if rows := strings.Count(res.stdout, shortHex(id)); rows != 1 {
		t.Errorf("image ls shows the image %d times, want 1:\n%s", rows, res.stdout)
	}
	if lsRow(res.stdout, host+"/test/busybox", "1") == nil {
		t.Errorf("image ls lacks %s:\n%s", ref, res.stdout)
	}
	for _, n := range []string{"share-a", "share-b"} {
		e.deletePod(t, n)
	}
	for _, r := range runs {
		r.wait(t, 30*time.Second)
	}
	assertNoLeaks(t, e)
}

// image pull, ls, inspect, rm (refused while in use; allowed after delete or with --force),
// import, prune (keeps what pods use).
func TestImageCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := startRegistry(t)
	repo := host + "/test/busybox"
	ref := repo + ":1"
	img := buildImage(t, v1.Config{Env: []string{"PATH=/bin"}}, time.Now().Add(-2*time.Hour))
	push(t, ref, img)
	id, digest := imageIDs(t, img)

	// pull: plain progress lines (stderr is not a terminal), the ID last on stdout.
	res := e.mustExec(t, "image", "pull", ref)
	t.Logf("image pull:\n%s%s", res.stderr, res.stdout)
	if lines := strings.Fields(res.stdout); len(lines) == 0 || lines[len(lines)-1] != id {
		t.Errorf("image pull stdout %q: want the ID %s last", res.stdout, id)
	}
	if !strings.Contains(res.stderr, ": done ") || strings.Contains(res.stderr, "\x1b[") {
		t.Errorf("image pull progress is not plain lines with \"done\":\n%s", res.stderr)
	}

	// pull failures: a missing tag is a failure (1) naming the registry's error, a malformed
	// reference bad input (2).
	res = e.exec("image", "pull", repo+":nope")
	if msg := strings.ToLower(res.stderr); res.code != 1 || !strings.Contains(msg, "manifest_unknown") && !strings.Contains(msg, "manifest unknown") && !strings.Contains(msg, "unknown manifest") {
		t.Errorf("image pull of a missing tag: exit %d, want 1 and the registry's MANIFEST_UNKNOWN\nstderr: %s", res.code, res.stderr)
	}
	if res := e.exec("image", "pull", "UPPER/Case:tag"); res.code != 2 {
		t.Errorf("image pull UPPER/Case:tag: exit %d, want 2\nstderr: %s", res.code, res.stderr)
	}

	// ls
	res = e.mustExec(t, "image", "ls")
	t.Logf("image ls:\n%s", res.stdout)
	row := lsRow(res.stdout, repo, "1")
	if row == nil {
		t.Fatalf("image ls lacks %s:\n%s", ref, res.stdout)
	}
	if row[2] != shortHex(id) {
		t.Errorf("IMAGE ID %q, want %q", row[2], shortHex(id))
	}
	if !strings.Contains(strings.Join(row[3:], " "), "2 hours ago") {
		t.Errorf("CREATED of an image made 2 hours ago: %q", row)
	}
	if !strings.HasPrefix(strings.Fields(res.stdout)[0], "REPOSITORY") {
		t.Errorf("image ls header:\n%s", res.stdout)
	}
	if res := e.mustExec(t, "image", "ls", "-q"); strings.TrimSpace(res.stdout) != shortHex(id) {
		t.Errorf("image ls -q = %q, want %q", res.stdout, shortHex(id))
	}
	if res := e.mustExec(t, "image", "ls", "--digests"); !strings.Contains(res.stdout, digest) || !strings.Contains(res.stdout, "DIGEST") {
		t.Errorf("image ls --digests lacks %s:\n%s", digest, res.stdout)
	}

	// inspect
	res = e.mustExec(t, "image", "inspect", ref)
	var docs []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(res.stdout), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("image inspect: want a JSON array of one object (%v):\n%s", err, res.stdout)
	}
	var doc struct {
		ID       string   `json:"Id"` // matches Id and ID
		RepoTags []string `json:"RepoTags"`
	}
	raw, _ := json.Marshal(docs[0])
	json.Unmarshal(raw, &doc)
	// podman's Id is the bare hex; "sha256:<hex>" is accepted too.
	if doc.ID != id && "sha256:"+doc.ID != id || !slices.Contains(doc.RepoTags, ref) {
		t.Errorf("image inspect: ID %q RepoTags %q, want %s and %s:\n%s", doc.ID, doc.RepoTags, id, ref, res.stdout)
	}
	if res := e.exec("image", "inspect", host+"/test/missing:1"); res.code != 1 {
		t.Errorf("image inspect of an absent image: exit %d, want 1", res.code)
	}
	if res := e.exec("image", "rm", host+"/test/missing:1"); res.code != 1 {
		t.Errorf("image rm of an absent image: exit %d, want 1", res.code)
	}

	// rm is refused while a pod uses the image, allowed after the pod is deleted.
	r := e.run(manifest(imagePod("user", api.RestartPolicyNever, sleeper("c", ref, "echo up"))))
	e.waitRunning(t, "user", "c")
	res = e.exec("image", "rm", ref)
	if res.code != 1 || !strings.Contains(res.stderr, "in use") && !strings.Contains(res.stderr, "used by a pod") {
		t.Errorf("image rm of an image in use: exit %d, want 1 and \"in use\"\nstderr: %s", res.code, res.stderr)
	}
	if lsRow(e.mustExec(t, "image", "ls").stdout, repo, "1") == nil {
		t.Errorf("a refused image rm removed the image")
	}
	// prune keeps an image in use even once it lost its tag: push another image to the tag
	// and pull it, so the pod's image becomes <none>.
	img2 := buildImage(t, v1.Config{Env: []string{"PATH=/bin"}}, time.Now(), layerFromTar(t, tarBytes(t, []tarEntry{{Name: "v2", Body: "2"}})))
	push(t, ref, img2)
	id2, _ := imageIDs(t, img2)
	e.mustExec(t, "image", "pull", ref)
	res = e.mustExec(t, "image", "prune")
	if !strings.Contains(res.stdout, "Total reclaimed space: ") {
		t.Errorf("image prune output lacks the total:\n%s", res.stdout)
	}
	ls := e.mustExec(t, "image", "ls", "-q").stdout
	if !strings.Contains(ls, shortHex(id)) || !strings.Contains(ls, shortHex(id2)) {
		t.Errorf("after prune, image ls -q = %q; want both %s (in use, untagged) and %s", ls, shortHex(id), shortHex(id2))
	}
	if st := e.status("default", "user"); ctrStatus(st, "c") == nil || ctrStatus(st, "c").State.Running == nil {
		t.Errorf("the pod stopped running after prune: %s", describe(st))
	}
	e.deletePod(t, "user")
	r.wait(t, 30*time.Second)
	// Now unused and untagged: prune removes it and reclaims something.
	res = e.mustExec(t, "image", "prune")
	if !strings.Contains(res.stdout, shortHex(id)) && !strings.Contains(res.stdout, id) {
		t.Errorf("image prune did not remove the untagged unused image %s:\n%s", id, res.stdout)
	}
	if strings.Contains(res.stdout, "Total reclaimed space: 0 B") {
		t.Errorf("image prune removed an image but reclaimed nothing:\n%s", res.stdout)
	}
	ls = e.mustExec(t, "image", "ls", "-q").stdout
	if strings.Contains(ls, shortHex(id)) || !strings.Contains(ls, shortHex(id2)) {
		t.Errorf("after the second prune, image ls -q = %q; want only %s", ls, shortHex(id2))
	}
	e.mustExec(t, "image", "rm", ref)
	if lsRow(e.mustExec(t, "image", "ls").stdout, repo, "1") != nil {
		t.Errorf("image rm of an unused image left it listed")
	}

	// rm --force removes an image in use; the pod keeps running.
	e.mustExec(t, "image", "pull", ref)
	r = e.run(manifest(imagePod("forced", api.RestartPolicyNever, sleeper("c", ref, "echo up"))))
	e.waitRunning(t, "forced", "c")
	if res := e.exec("image", "rm", ref); res.code != 1 {
		t.Errorf("image rm of an image in use: exit %d, want 1", res.code)
	}
	e.mustExec(t, "image", "rm", "--force", ref)
	if lsRow(e.mustExec(t, "image", "ls").stdout, repo, "1") != nil {
		t.Errorf("image rm --force left the image listed")
	}
	time.Sleep(300 * time.Millisecond)
	if st := e.status("default", "forced"); ctrStatus(st, "c") == nil || ctrStatus(st, "c").State.Running == nil {
		t.Errorf("the pod stopped running after image rm --force: %s", describe(st))
	}
	e.deletePod(t, "forced")
	r.wait(t, 30*time.Second)

	// import: a directory and a tarball each become a one-layer image a pod can run.
	e.mustExec(t, "image", "import", rootfsDir, "localhost/imported:dir")
	tb, err := dirTar(rootfsDir)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(e.dir, "rootfs.tar")
	if err := os.WriteFile(tarPath, tb, 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustExec(t, "image", "import", tarPath, "localhost/imported:tar")
	ls = e.mustExec(t, "image", "ls").stdout
	for _, tag := range []string{"dir", "tar"} {
		if lsRow(ls, "localhost/imported", tag) == nil {
			t.Errorf("image ls lacks localhost/imported:%s:\n%s", tag, ls)
		}
	}
	if res := e.exec("image", "import", filepath.Join(e.dir, "missing"), "localhost/x:1"); res.code != 2 {
		t.Errorf("image import of a missing file: exit %d, want 2", res.code)
	}
	p := imagePod("imported", api.RestartPolicyNever,
		api.Container{Name: "d", Image: "localhost/imported:dir", Command: []string{"sh", "-c", "echo from-dir"}},
		api.Container{Name: "t", Image: "localhost/imported:tar", Command: []string{"sh", "-c", "echo from-tar"}})
	r = e.run(manifest(p))
	if code := e.waitExit(t, r, "imported", 60*time.Second); code != 0 || !r.hasLine("d", "from-dir") || !r.hasLine("t", "from-tar") {
		t.Errorf("pod from imported images: exit %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout(), r.stderr())
	}
	assertNoLeaks(t, e)
}

// Pull failures show in the container status; the phase stays Pending; delete cleans up.
func TestImagePullFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := startRegistry(t)
	push(t, host+"/test/busybox:1", buildImage(t, v1.Config{}, time.Now()))

	p := imagePod("pullfail", api.RestartPolicyAlways,
		api.Container{Name: "missing", Image: host + "/test/busybox:nope"},
		api.Container{Name: "never", Image: host + "/test/busybox:1", ImagePullPolicy: api.PullPolicy("Never")},
		api.Container{Name: "invalid", Image: "UPPER/Case:tag"})
	var mu sync.Mutex
	seen := map[string][]string{} // container -> waiting reasons, in order, collapsed
	w := watchStatus(e, "default", "pullfail", 5*time.Millisecond, func(p *api.Pod) {
		mu.Lock()
		defer mu.Unlock()
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting == nil {
				continue
			}
			if l := seen[cs.Name]; len(l) == 0 || l[len(l)-1] != cs.State.Waiting.Reason {
				seen[cs.Name] = append(l, cs.State.Waiting.Reason)
			}
		}
	})
	r := e.run(manifest(p))
	st := e.waitFor(t, "default", "pullfail", and(
		waitingReason("missing", "ImagePullBackOff"),
		waitingReason("never", "ErrImageNeverPull"),
		waitingReason("invalid", "InvalidImageName")), 30*time.Second)
	// Let a few back-offs go by (200 ms doubling to 800 ms in tests).
	time.Sleep(2 * time.Second)
	w.finish()
	w.check(t, api.PodPending)
	mu.Lock()
	if l := seen["missing"]; !slices.Contains(l, "ErrImagePull") || slices.Index(l, "ImagePullBackOff") < slices.Index(l, "ErrImagePull") {
		t.Errorf("missing tag: waiting reasons %q, want ErrImagePull then ImagePullBackOff", l)
	}
	mu.Unlock()
	msg := strings.ToLower(ctrStatus(st, "missing").State.Waiting.Message)
	if !strings.Contains(msg, "manifest_unknown") && !strings.Contains(msg, "manifest unknown") && !strings.Contains(msg, "unknown manifest") {
		t.Errorf("missing tag: message %q does not name the registry's MANIFEST_UNKNOWN", msg)
	}
	if !strings.Contains(msg, "nope") {
		t.Errorf("missing tag: message %q does not name the reference", msg)
	}
	st = e.status("default", "pullfail")
	if st.Status.Phase != api.PodPending {
		t.Errorf("phase %s, want Pending", st.Status.Phase)
	}
	for _, c := range []string{"missing", "never", "invalid"} {
		if cs := ctrStatus(st, c); cs == nil || cs.State.Waiting == nil || cs.RestartCount != 0 {
			t.Errorf("container %s: %+v, want waiting without restarts", c, cs)
		}
	}
	if res := e.mustExec(t, "get", "pods"); !strings.Contains(res.stdout, "Pending") && !strings.Contains(res.stdout, "ImagePullBackOff") && !strings.Contains(res.stdout, "ErrImageNeverPull") && !strings.Contains(res.stdout, "InvalidImageName") {
		t.Errorf("get pods:\n%s", res.stdout)
	}
	e.deletePod(t, "pullfail")
	r.wait(t, 30*time.Second)
	assertNoLeaks(t, e)
}

// oci: layouts, oci-archive: and docker-archive: files each run a pod (the image's Cmd).
func TestImageTransports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	img := buildImage(t, v1.Config{Cmd: []string{"sh", "-c", "echo ran-$T"}, Env: []string{"PATH=/bin"}}, time.Now())

	layoutDir := filepath.Join(e.dir, "layout")
	writeLayout(t, layoutDir, "1", img)

	archiveDir := filepath.Join(e.dir, "archive-layout")
	writeLayout(t, archiveDir, "1", img)
	ab, err := dirTar(archiveDir)
	if err != nil {
		t.Fatal(err)
	}
	ociArchive := filepath.Join(e.dir, "image.oci.tar")
	if err := os.WriteFile(ociArchive, ab, 0o644); err != nil {
		t.Fatal(err)
	}

	dockerArchive := filepath.Join(e.dir, "image.docker.tar")
	tag, err := name.NewTag("example.com/test/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(dockerArchive, tag, img); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ name, image string }{
		{"oci", "oci:" + layoutDir + ":1"},
		{"oci-untagged", "oci:" + layoutDir},
		{"oci-archive", "oci-archive:" + ociArchive},
		{"oci-archive-tag", "oci-archive:" + ociArchive + ":1"},
		{"docker-archive", "docker-archive:" + dockerArchive},
		{"docker-archive-ref", "docker-archive:" + dockerArchive + ":example.com/test/busybox:1"},
	}
	// Sequential subtests: they share the parent's env, whose helpers report to the parent.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := imagePod(c.name, api.RestartPolicyNever, api.Container{Name: "c", Image: c.image, Env: []api.EnvVar{{Name: "T", Value: c.name}}})
			r := e.run(manifest(p))
			if code := e.waitExit(t, r, c.name, 60*time.Second); code != 0 || !r.hasLine("c", "ran-"+c.name) {
				t.Errorf("pod from %s: exit %d\nstdout:\n%s\nstderr:\n%s", c.image, code, r.stdout(), r.stderr())
			}
		})
	}
}

// Whiteouts across layers: the top layer deletes a file and a directory and makes a directory
// opaque; the container sees the merged result, with no .wh. entries.
func TestImageWhiteouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lower := layerFromTar(t, tarBytes(t, []tarEntry{
		{Name: "data/"}, {Name: "data/keep", Body: "keep"}, {Name: "data/gone", Body: "gone"},
		{Name: "rmdir/"}, {Name: "rmdir/inner", Body: "x"},
		{Name: "opq/"}, {Name: "opq/old1", Body: "old"}, {Name: "opq/sub/"}, {Name: "opq/sub/old2", Body: "old"},
	}))
	upper := layerFromTar(t, tarBytes(t, []tarEntry{
		{Name: "data/"}, {Name: "data/.wh.gone"}, {Name: "data/added", Body: "added"},
		{Name: ".wh.rmdir"},
		{Name: "opq/"}, {Name: "opq/.wh..wh..opq"}, {Name: "opq/new", Body: "new"},
	}))
	img := buildImage(t, v1.Config{Env: []string{"PATH=/bin"}}, time.Now(), lower, upper)
	layoutDir := filepath.Join(e.dir, "layout")
	writeLayout(t, layoutDir, "wh", img)

	script := `echo "data: $(ls -A /data | tr '\n' ' ')"; echo "opq: $(ls -A /opq | tr '\n' ' ')"
test -e /rmdir && echo rmdir-present || echo rmdir-gone
echo "keep: $(cat /data/keep)"; echo "new: $(cat /opq/new)"
find / -xdev -name '.wh.*' | sed 's/^/whiteout-visible: /'`
	p := imagePod("whiteouts", api.RestartPolicyNever, api.Container{Name: "c", Image: "oci:" + layoutDir + ":wh", Command: []string{"sh", "-c", script}})
	r := e.run(manifest(p))
	if code := e.waitExit(t, r, "whiteouts", 60*time.Second); code != 0 {
		t.Fatalf("run exited %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout(), r.stderr())
	}
	lines := r.lines("c")
	sort.Strings(lines)
	want := []string{"data: added keep ", "keep: keep", "new: new", "opq: new ", "rmdir-gone"}
	if !slices.Equal(lines, want) {
		t.Errorf("merged view:\n  %q\nwant:\n  %q", lines, want)
	}
	assertNoLeaks(t, e)
}

// TestImageLowerDirsParse checks the mountinfo parser used above (no pods).
func TestImageLowerDirsParse(t *testing.T) {
	line := "612 580 0:58 / / rw,relatime - overlay overlay rw,lowerdir=/r/images/layers/sha256/bb/rootfs:/r/images/layers/sha256/aa/rootfs,upperdir=/r/u,workdir=/r/w,volatile"
	if got := lowerDirs(line); !slices.Equal(got, []string{"/r/images/layers/sha256/bb/rootfs", "/r/images/layers/sha256/aa/rootfs"}) {
		t.Errorf("lowerDirs = %q", got)
	}
	line = "612 580 0:58 / / rw - overlay overlay rw,lowerdir+=/a,lowerdir+=/b,upperdir=/u"
	if got := lowerDirs(line); !slices.Equal(got, []string{"/a", "/b"}) {
		t.Errorf("lowerDirs(lowerdir+) = %q", got)
	}
	if got := lowerDirs("1 2 0:1 / / rw - ext4 /dev/sda1 rw"); got != nil {
		t.Errorf("lowerDirs(ext4) = %q", got)
	}
}
