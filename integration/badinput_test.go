//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// 9. Invalid manifests and arguments: exit 2, the error names the field, nothing is created.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const ctr = `
  - name: c
    image: IMAGE
    command: ["true"]`
	pod := func(meta, spec string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n" + meta + "\nspec:\n" + spec + "\n"
	}
	okMeta := "  name: bad"
	cases := []struct {
		name     string
		manifest string   // on stdin, with args ["run", "-"] unless args is set
		args     []string // overrides the command line
		want     []string // each must appear in stderr
		prefer   string   // the full field path, logged (not failed) when missing
	}{
		{name: "bad-name", manifest: pod("  name: Bad_Name", "  containers:"+ctr), want: []string{"metadata.name"}},
		{name: "duplicate-container", manifest: pod(okMeta, "  containers:"+ctr+ctr), want: []string{"spec.containers[1].name"}},
		{name: "unknown-field", manifest: pod(okMeta, "  containers:"+ctr+"\n    bogusField: 1"), want: []string{"bogusField"}, prefer: "spec.containers[0].bogusField"},
		{name: "unsupported-volumeDevices", manifest: pod(okMeta, "  containers:"+ctr+"\n    volumeDevices:\n    - {name: v, devicePath: /dev/v}"), want: []string{"volumeDevices"}, prefer: "spec.containers[0].volumeDevices"},
		{name: "user-namespace", manifest: pod(okMeta, "  hostUsers: false\n  containers:"+ctr), want: []string{"spec.hostUsers: Unsupported value: false: user namespaces are not supported yet"}},
		{name: "unmasked-proc", manifest: pod(okMeta, "  containers:"+ctr+"\n    securityContext:\n      procMount: Unmasked"), want: []string{"spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`"}},
		{name: "selinux-label", manifest: pod(okMeta, "  securityContext:\n    seLinuxOptions: {level: \"s0:c123,c456\"}\n  containers:"+ctr), want: []string{"spec.securityContext.seLinuxOptions: Unsupported value: SELinux labels are not supported"}},
		{name: "escalation-privileged", manifest: pod(okMeta, "  containers:"+ctr+"\n    securityContext: {privileged: true, allowPrivilegeEscalation: false}"), want: []string{"cannot set `allowPrivilegeEscalation` to false and `privileged` to true"}},
		{name: "invalid-probe", manifest: pod(okMeta, "  containers:"+ctr+"\n    livenessProbe:\n      periodSeconds: 3"), want: []string{"spec.containers[0].livenessProbe: Required value: must specify a handler type"}},
		{name: "init-container-hook", manifest: pod(okMeta, "  initContainers:"+ctr+"\n    lifecycle:\n      postStart:\n        exec:\n          command: [\"true\"]\n  containers:"+strings.ReplaceAll(ctr, "name: c", "name: d")), want: []string{"spec.initContainers[0].lifecycle: Forbidden"}},
		{name: "relative-mountPath", manifest: pod(okMeta, "  volumes:\n  - name: v\n    emptyDir: {}\n  containers:"+ctr+"\n    volumeMounts:\n    - name: v\n      mountPath: data"), want: []string{"spec.containers[0].volumeMounts[0].mountPath"}},
		{name: "undeclared-volume", manifest: pod(okMeta, "  containers:"+ctr+"\n    volumeMounts:\n    - name: nosuch\n      mountPath: /data"), want: []string{"spec.containers[0].volumeMounts[0].name"}},
		{name: "subPath-dotdot", manifest: pod(okMeta, "  volumes:\n  - name: v\n    emptyDir: {}\n  containers:"+ctr+"\n    volumeMounts:\n    - name: v\n      mountPath: /data\n      subPath: ../escape"), want: []string{"spec.containers[0].volumeMounts[0].subPath"}},
		{name: "empty-containers", manifest: pod(okMeta, "  containers: []"), want: []string{"spec.containers"}},
		{name: "wrong-kind", manifest: strings.Replace(pod(okMeta, "  containers:"+ctr), "kind: Pod", "kind: Deployment", 1), want: []string{"kind"}},
		{name: "wrong-apiVersion", manifest: strings.Replace(pod(okMeta, "  containers:"+ctr), "apiVersion: v1", "apiVersion: apps/v1", 1), want: []string{"apiVersion"}},
		{name: "invalid-yaml", manifest: "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n  spec: [\n"},
		{name: "nonexistent-file", args: []string{"run", "/nonexistent/minipod-it/pod.yaml"}, want: []string{"/nonexistent/minipod-it/pod.yaml"}},
		{name: "missing-argument", args: []string{"run"}},
		{name: "unknown-flag", manifest: pod(okMeta, "  containers:"+ctr), args: []string{"run", "--no-such-flag", "-"}, want: []string{"no-such-flag"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			stdin := strings.ReplaceAll(c.manifest, "IMAGE", rootfsImage())
			args := c.args
			if args == nil {
				args = []string{"run", "-"}
			}
			r := e.start(stdin, args...)
			code := r.wait(t, 30*time.Second)
			stderr := r.stderr()
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			if strings.TrimSpace(stderr) == "" {
				t.Errorf("no error message on stderr")
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
			if c.prefer != "" && !strings.Contains(stderr, c.prefer) {
				t.Logf("NOTE: stderr names the field but not its full path %q:\n%s", c.prefer, stderr)
			}
			assertNothingCreated(t, e)
		})
	}
}
