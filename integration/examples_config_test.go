//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The Kubernetes documentation's examples of configuration (pods/inject, the pod-configmap-*
// pods, pods/storage/projected*), run unmodified with the ConfigMaps and Secrets they need in
// the same `minipod run`: the docs' manifests (configmap/*.yaml, pods/inject/secret.yaml, ...)
// or, where the docs create them with kubectl, what kubectl would (testdata/config).

// configExampleImages are stand-ins for the images these examples name, built from the
// busybox root filesystem: busybox as the real one (printenv included), nginx as
// exampleImages has it, and the two sample servers.
func configExampleImages(t *testing.T) []exampleImage {
	var printenv, nginx *exampleImage
	for i := range exampleImages {
		switch exampleImages[i].names[0] {
		case "debian":
			printenv = &exampleImages[i]
		case "nginx":
			nginx = &exampleImages[i]
		}
	}
	if printenv == nil || nginx == nil {
		t.Fatal("the stand-ins of debian and nginx are gone from exampleImages")
	}
	server := "#!/bin/sh\nexec httpd -f -p 8080 -h /\n"
	return []exampleImage{
		{names: []string{"registry.k8s.io/busybox:1.27.2", "busybox:1.28"},
			files:   map[string]string{"/bin/printenv": printenv.files["/usr/bin/printenv"]},
			changes: []string{`CMD ["sh"]`}},
		*nginx,
		{names: []string{"gcr.io/google-samples/node-hello:1.0"}, files: map[string]string{"/server.sh": server}, changes: []string{`CMD ["/server.sh"]`}},
		{names: []string{"gcr.io/google-samples/hello-app:2.0"}, files: map[string]string{"/hello-app": server}, changes: []string{`ENTRYPOINT ["/hello-app"]`}},
	}
}

func example(path string) string    { return filepath.Join("testdata", "k8s-examples", path) }
func docObjects(path string) string { return filepath.Join("testdata", "config", path) }

// runPaths runs `minipod run FLAGS... FILE...` with files as they are.
func (e *env) runPaths(t testing.TB, flags []string, paths ...string) *runProc {
	t.Helper()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		e.trackManifest(string(b))
	}
	return e.start("", append(append([]string{"run"}, flags...), paths...)...)
}

// waitLog waits until the container's log holds every string.
func (e *env) waitLog(t *testing.T, pod, container string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := e.logOf(t, pod, container)
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of %s/%s lacks %q:\n%s", pod, container, missing, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDocsConfigExamples(t *testing.T) {
	e := newEnv(t)
	buildImages(t, e, "cfgimage", configExampleImages(t))
	host, _ := os.Hostname()

	// detached starts pods with -d and returns once they run.
	detached := func(t *testing.T, paths ...string) {
		t.Helper()
		r := e.runPaths(t, []string{"-d"}, paths...)
		if code := r.wait(t, 90*time.Second); code != 0 {
			t.Fatalf("run -d %q: exit %d\n%s\n%s", paths, code, r.stdout(), r.stderr())
		}
	}
	// completed runs a pod to its end in the foreground and returns its output lines.
	completed := func(t *testing.T, container string, paths ...string) map[string]bool {
		t.Helper()
		r := e.runPaths(t, nil, paths...)
		if code := r.wait(t, 90*time.Second); code != 0 {
			t.Fatalf("run %q: exit %d\n%s\n%s", paths, code, r.stdout(), r.stderr())
		}
		return lineSet(r.lines(container))
	}
	envOf := func(t *testing.T, pod string) map[string]bool {
		t.Helper()
		return lineSet(strings.Split(e.mustExec(t, "exec", pod, "--", "env").stdout, "\n"))
	}
	expect := func(t *testing.T, have map[string]bool, want ...string) {
		t.Helper()
		for _, w := range want {
			if !have[w] {
				t.Errorf("no line %q in %v", w, have)
			}
		}
	}
	deleteWhenDone := func(t *testing.T, name string) {
		t.Cleanup(func() { e.exec("delete", "pod", name, "--grace-period", "0", "--force") })
	}

	t.Run("inject", func(t *testing.T) {
		t.Run("dapi-envars-pod", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/dapi-envars-pod.yaml"))
			deleteWhenDone(t, "dapi-envars-fieldref")
			p := e.status("default", "dapi-envars-fieldref")
			// MY_NODE_NAME MY_POD_NAME MY_POD_NAMESPACE, then MY_POD_IP MY_POD_SERVICE_ACCOUNT.
			e.waitLog(t, "dapi-envars-fieldref", "test-container",
				strings.ToLower(host)+"\ndapi-envars-fieldref\ndefault\n"+p.Status.PodIP+"\ndefault\n")
		})
		t.Run("dapi-envars-container", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/dapi-envars-container.yaml"))
			deleteWhenDone(t, "dapi-envars-resourcefieldref")
			// The docs: 1, 1, 33554432, 67108864 (cpu rounded up to whole cores).
			e.waitLog(t, "dapi-envars-resourcefieldref", "test-container", "\n1\n1\n33554432\n67108864\n")
		})
		t.Run("dapi-volume", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/dapi-volume.yaml"))
			deleteWhenDone(t, "kubernetes-downwardapi-volume-example")
			e.waitLog(t, "kubernetes-downwardapi-volume-example", "client-container",
				"cluster=\"test-cluster1\"\nrack=\"rack-22\"\nzone=\"us-est-coast\"", "build=\"two\"\nbuilder=\"john-doe\"")
			// The files are links into ..data, as the docs' `ls -laR /etc/podinfo` shows.
			out := e.mustExec(t, "exec", "kubernetes-downwardapi-volume-example", "--", "ls", "-la", "/etc/podinfo").stdout
			for _, w := range []string{"..data -> ..20", "labels -> ..data/labels", "annotations -> ..data/annotations"} {
				if !strings.Contains(out, w) {
					t.Errorf("ls -la /etc/podinfo lacks %q:\n%s", w, out)
				}
			}
		})
		t.Run("dapi-volume-resources", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/dapi-volume-resources.yaml"))
			deleteWhenDone(t, "kubernetes-downwardapi-volume-example-2")
			e.waitLog(t, "kubernetes-downwardapi-volume-example-2", "client-container", "\n250\n125\n64\n32")
		})
		t.Run("dependent-envars", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/dependent-envars.yaml"))
			deleteWhenDone(t, "dependent-envars-demo")
			e.waitLog(t, "dependent-envars-demo", "dependent-envars-demo",
				"UNCHANGED_REFERENCE=$(PROTOCOL)://172.17.0.1:80\nSERVICE_ADDRESS=https://172.17.0.1:80\nESCAPED_REFERENCE=$(PROTOCOL)://172.17.0.1:80")
		})
		t.Run("envFrom", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/configmap-envFrom.yaml"), example("pods/inject/envFrom.yaml"))
			deleteWhenDone(t, "envfrom-demo")
			expect(t, envOf(t, "envfrom-demo"), "DEMO_GREETING=Hello from the environment", "DEMO_FAREWELL=Such a sweet sorrow")
		})
		t.Run("envars-file-container", func(t *testing.T) {
			t.Parallel()
			expect(t, completed(t, "use-envfile", example("pods/inject/envars-file-container.yaml")), "DB_ADDRESS=address")
		})
		t.Run("envars", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/envars.yaml"))
			deleteWhenDone(t, "envar-demo")
			expect(t, envOf(t, "envar-demo"), "DEMO_GREETING=Hello from the environment", "DEMO_FAREWELL=Such a sweet sorrow")
		})
		t.Run("pod-multiple-secret-env-variable", func(t *testing.T) {
			t.Parallel()
			detached(t, docObjects("backend-user.yaml"), docObjects("db-user.yaml"), example("pods/inject/pod-multiple-secret-env-variable.yaml"))
			deleteWhenDone(t, "envvars-multiple-secrets")
			expect(t, envOf(t, "envvars-multiple-secrets"), "BACKEND_USERNAME=backend-admin", "DB_USERNAME=db-admin")
		})
		t.Run("pod-single-secret-env-variable", func(t *testing.T) {
			t.Parallel()
			detached(t, docObjects("backend-user.yaml"), example("pods/inject/pod-single-secret-env-variable.yaml"))
			deleteWhenDone(t, "env-single-secret")
			expect(t, envOf(t, "env-single-secret"), "SECRET_USERNAME=backend-admin")
		})
		t.Run("pod-secret-envFrom", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/secret.yaml"), example("pods/inject/pod-secret-envFrom.yaml"))
			deleteWhenDone(t, "envfrom-secret")
			expect(t, envOf(t, "envfrom-secret"), "username=my-app", "password=39528$vdg7Jb")
		})
		t.Run("secret-envars-pod", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/secret.yaml"), example("pods/inject/secret-envars-pod.yaml"))
			deleteWhenDone(t, "secret-envars-test-pod")
			expect(t, envOf(t, "secret-envars-test-pod"), "SECRET_USERNAME=my-app", "SECRET_PASSWORD=39528$vdg7Jb")
		})
		t.Run("secret-pod", func(t *testing.T) {
			t.Parallel()
			detached(t, example("pods/inject/secret.yaml"), example("pods/inject/secret-pod.yaml"))
			deleteWhenDone(t, "secret-test-pod")
			out := e.mustExec(t, "exec", "secret-test-pod", "--", "sh", "-c", "ls /etc/secret-volume; cat /etc/secret-volume/username; echo; cat /etc/secret-volume/password").stdout
			if want := "password\nusername\nmy-app\n39528$vdg7Jb"; out != want {
				t.Errorf("secret volume: %q, want %q", out, want)
			}
		})
	})

	// The pods of the ConfigMap task are all named dapi-test-pod and run to completion, one
	// after the other; the task's two ConfigMaps named special-config replace each other.
	t.Run("configmap", func(t *testing.T) {
		multikeys := example("configmap/configmap-multikeys.yaml")
		expect(t, completed(t, "test-container", multikeys, example("pods/pod-configmap-env-var-valueFrom.yaml")), "very charm")
		expect(t, completed(t, "test-container", multikeys, example("pods/pod-configmap-envFrom.yaml")), "SPECIAL_LEVEL=very", "SPECIAL_TYPE=charm")
		expect(t, completed(t, "test-container", multikeys, example("pods/pod-configmap-volume.yaml")), "SPECIAL_LEVEL", "SPECIAL_TYPE")
		expect(t, completed(t, "test-container", multikeys, example("pods/pod-configmap-volume-specific-key.yaml")), "very")
		configmaps := example("configmap/configmaps.yaml")
		expect(t, completed(t, "test-container", configmaps, example("pods/pod-single-configmap-env-variable.yaml")), "SPECIAL_LEVEL_KEY=very")
		expect(t, completed(t, "test-container", configmaps, example("pods/pod-multiple-configmap-env-variable.yaml")), "SPECIAL_LEVEL_KEY=very", "LOG_LEVEL=INFO")
		out := e.mustExec(t, "get", "configmaps").stdout
		for _, name := range []string{"env-config", "special-config"} {
			if row := podRow(out, name); len(row) != 3 || row[1] != "1" {
				t.Errorf("get configmaps: row of %s %q:\n%s", name, row, out)
			}
		}
	})

	t.Run("projected", func(t *testing.T) {
		sh := func(t *testing.T, script string) string {
			t.Helper()
			return e.mustExec(t, "exec", "volume-test", "--", "sh", "-c", script).stdout
		}
		detached(t, docObjects("user-pass.yaml"), example("pods/storage/projected.yaml"))
		out := e.mustExec(t, "exec", "test-projected-volume", "--", "sh", "-c", "ls /projected-volume; cat /projected-volume/username.txt; echo; cat /projected-volume/password.txt").stdout
		if want := "password.txt\nusername.txt\nadmin\n1f2d1e2e67df"; out != want {
			t.Errorf("projected.yaml: %q, want %q", out, want)
		}
		e.deletePod(t, "test-projected-volume")

		detached(t, docObjects("mysecret.yaml"), example("pods/storage/projected-secret-downwardapi-configmap.yaml"))
		// No cpu limit: the node's allocatable, whole cores.
		want := fmt.Sprintf("admin\n%d\nlog_level=info\n", runtime.NumCPU())
		if got := sh(t, "cat /projected-volume/my-group/my-username; echo; cat /projected-volume/cpu_limit; echo; cat /projected-volume/my-group/my-config; cat /projected-volume/labels"); got != want {
			t.Errorf("projected-secret-downwardapi-configmap: %q, want %q", got, want)
		}
		e.deletePod(t, "volume-test")

		detached(t, docObjects("mysecret.yaml"), example("pods/storage/projected-secrets-nondefault-permission-mode.yaml"))
		if got := sh(t, "stat -L -c '%a %n' /projected-volume/my-group/*; cat /projected-volume/my-group/my-password"); got != "777 /projected-volume/my-group/my-password\n644 /projected-volume/my-group/my-username\n1f2d1e2e67df" {
			t.Errorf("projected-secrets-nondefault-permission-mode: %q", got)
		}
		e.deletePod(t, "volume-test")

		// The sources only an API server can provide are refused with the reason, and nothing
		// is created.
		for path, reason := range map[string]string{
			"pods/storage/projected-service-account-token.yaml": "serviceAccountToken: Forbidden: a service account token is issued by the Kubernetes API server, which minipod does not have",
			"pods/storage/projected-clustertrustbundle.yaml":    "clusterTrustBundle: Forbidden: cluster trust bundles are objects of the Kubernetes API server, which minipod does not have",
			"pods/storage/projected-podcertificate.yaml":        "podCertificate: Forbidden: pod certificates are issued through the Kubernetes API server, which minipod does not have",
		} {
			r := e.runPaths(t, nil, example(path))
			if code := r.wait(t, 30*time.Second); code != 2 || !strings.Contains(r.stderr(), reason) {
				t.Errorf("%s: exit %d, want 2 and %q:\n%s", path, code, reason, r.stderr())
			}
		}
		if pods := e.podDirs(); len(pods) != 0 {
			t.Errorf("pods left: %v", pods)
		}
	})
}
