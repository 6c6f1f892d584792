//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// storageExampleImages stand in for the images of the docs' storage examples, besides nginx
// and debian of exampleImages.
var storageExampleImages = []exampleImage{
	// httpd:2.4 serves /usr/local/apache2/htdocs on port 80, its page "It works!";
	// pv-pod-backup's init container runs /bin/bash, which busybox-static has not.
	{names: []string{"httpd:2.4"},
		files: map[string]string{
			"/usr/local/bin/httpd-foreground":      "#!/bin/sh\nexec httpd -f -p 80 -h /usr/local/apache2/htdocs\n",
			"/usr/local/apache2/htdocs/index.html": "<html><body><h1>It works!</h1></body></html>\n",
			"/bin/bash":                            "#!/bin/sh\nexec sh \"$@\"\n",
		},
		changes: []string{`CMD ["httpd-foreground"]`, "EXPOSE 80/tcp"}},
}

// The docs' examples of persistentVolumeClaim and image volumes run unmodified: "Configure a
// Pod to Use a PersistentVolume for Storage" (the claim task-pv-claim, served by nginx, then
// shared with pv-pod-backup, then mounted twice with subPaths) and "Use an Image Volume With a
// Pod" (quay.io/crio/artifact:v2 mounted whole and with a subPath).
func TestDocsStorageExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var base []exampleImage
	for _, img := range exampleImages {
		if slices.Contains(img.names, "nginx") || slices.Contains(img.names, "debian") {
			base = append(base, img)
		}
	}
	buildImages(t, e, "image", base)
	buildImages(t, e, "storage", storageExampleImages)
	// The artifact of the docs: dir/file holds 1, file holds 2.
	art := filepath.Join(e.dir, "artifact")
	if err := os.MkdirAll(filepath.Join(art, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{"dir/file": "1\n", "file": "2\n"} {
		if err := os.WriteFile(filepath.Join(art, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.mustExec(t, "image", "import", art, "quay.io/crio/artifact:v2")

	runExample := func(t *testing.T, path, name, container string) {
		t.Helper()
		if r := e.run(readExample(t, path), "-d"); r.wait(t, 90*time.Second) != 0 {
			t.Fatalf("run -d %s: %s", path, r.stderr())
		}
		e.waitFor(t, "default", name, running(container), 60*time.Second)
	}
	cat := func(t *testing.T, pod, container, file, want string) {
		t.Helper()
		if out, code := e.execIn(t, pod, container, "cat", file); code != 0 || out != want {
			t.Errorf("%s: cat %s: exit %d %q, want %q", pod, file, code, out, want)
		}
	}

	t.Run("image-volumes", func(t *testing.T) {
		runExample(t, "pods/image-volumes.yaml", "image-volume", "shell")
		cat(t, "image-volume", "shell", "/volume/dir/file", "1\n")
		cat(t, "image-volume", "shell", "/volume/file", "2\n")
		e.deletePod(t, "image-volume")
		runExample(t, "pods/image-volumes-subpath.yaml", "image-volume", "shell")
		cat(t, "image-volume", "shell", "/volume/file", "1\n")
		e.deletePod(t, "image-volume")
	})

	t.Run("pv-pod", func(t *testing.T) {
		// As the docs do, the claim first (pv-claim.yaml), then the pod, in one run.
		r := e.runPaths(t, []string{"-d"}, example("pods/storage/pv-claim.yaml"), example("pods/storage/pv-pod.yaml"))
		if r.wait(t, 90*time.Second) != 0 {
			t.Fatalf("run -d pv-claim.yaml pv-pod.yaml: %s", r.stderr())
		}
		if got := r.stdout(); got != "persistentvolumeclaim/task-pv-claim created\npod/task-pv-pod running\n" {
			t.Errorf("run -d pv-claim.yaml pv-pod.yaml printed %q", got)
		}
		e.waitFor(t, "default", "task-pv-pod", running("task-pv-container"), 60*time.Second)
		// What the docs write on the node, here in the claim's volume.
		var pvc api.PersistentVolumeClaim
		if err := json.Unmarshal([]byte(e.mustExec(t, "get", "pvc", "task-pv-claim", "-o", "json").stdout), &pvc); err != nil {
			t.Fatal(err)
		}
		dir := pvc.Metadata.Annotations["minipod.io/path"]
		if dir != e.volumePath("default", "task-pv-claim") {
			t.Fatalf("volume path %q", dir)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("Hello from Kubernetes storage\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := httpGet(t, "http://"+e.podIP(t, "default", "task-pv-pod")+"/", 30*time.Second); got != "Hello from Kubernetes storage\n" {
			t.Errorf("task-pv-pod serves %q", got)
		}
		// A second pod shares the claim and serves the same page. (Its init container mounts
		// the claim at /mnt/data but appends to htdocs/index.html of its own root
		// filesystem, as the example is written: the page stays as it was.)
		runExample(t, "pods/storage/pv-pod-backup.yaml", "pv-pod-backup", "task-pv-container")
		for _, pod := range []string{"task-pv-pod", "pv-pod-backup"} {
			if got := httpGet(t, "http://"+e.podIP(t, "default", pod)+"/", 30*time.Second); got != "Hello from Kubernetes storage\n" {
				t.Errorf("%s serves %q", pod, got)
			}
		}
		if res := e.mustExec(t, "get", "volumes"); !regexpLines(res.stdout, `^NAME\s+CAPACITY\s+ACCESS MODES\s+USED BY\s+AGE$`, `^task-pv-claim\s+3Gi\s+RWO\s+pv-pod-backup,task-pv-pod\s+\d+s$`) {
			t.Errorf("get volumes:\n%s", res.stdout)
		}
		e.deletePod(t, "pv-pod-backup")
		e.deletePod(t, "task-pv-pod")

		// The claim mounted twice, with subPaths: html serves the site; the missing
		// nginx.conf is made a directory, as the kubelet makes a missing subPath.
		if err := os.Mkdir(filepath.Join(dir, "html"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "html", "index.html"), []byte("from html\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		runExample(t, "pods/storage/pv-duplicate.yaml", "test", "test")
		if got := httpGet(t, "http://"+e.podIP(t, "default", "test")+"/", 30*time.Second); got != "from html\n" {
			t.Errorf("test serves %q", got)
		}
		if fi, err := os.Stat(filepath.Join(dir, "nginx.conf")); err != nil || !fi.IsDir() {
			t.Errorf("nginx.conf subPath: %v, %v; want a directory", fi, err)
		}
		e.deletePod(t, "test")
		e.mustExec(t, "delete", "volume", "task-pv-claim")
	})
	assertNoLeaks(t, e)
}
