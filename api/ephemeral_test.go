package api

import (
	"errors"
	"strings"
	"testing"
)

func init() {
	loadCases = append(loadCases,
		loadCase{name: "ephemeral containers refused on create", in: pod(
			"  ephemeralContainers:",
			"  - name: debugger",
			"    image: busybox:1.36",
		), want: []string{"spec.ephemeralContainers: Forbidden: cannot be set on create"}},
		// The API server validates the whole spec before refusing the field.
		loadCase{name: "ephemeral containers on create, validated too", in: pod(
			"  ephemeralContainers:",
			"  - name: app",
			"    image: busybox:1.36",
			"    ports: [{containerPort: 80}]",
		), want: []string{
			`spec.ephemeralContainers[0].name: Duplicate value: "app"`,
			"spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
			"spec.ephemeralContainers: Forbidden: cannot be set on create",
		}},
		loadCase{name: "ephemeral container field unsupported", in: pod(
			"  ephemeralContainers:",
			"  - name: d",
			"    image: busybox",
			"    volumeDevices: [{name: d, devicePath: /dev/xvda}]",
		), want: []string{"spec.ephemeralContainers[0].volumeDevices: not supported yet", "cannot be set on create"}},
	)
}

// running is a pod as its monitor holds it: loaded (defaulted, valid), with a volume, an init
// container and a regular one.
func running(t *testing.T) *Pod {
	t.Helper()
	p, err := Load([]byte(pod(
		"    volumeMounts: [{name: data, mountPath: /data}]",
		"  initContainers:",
		"  - name: setup",
		"    image: busybox:1.36",
		"  volumes:",
		"  - name: data",
		"    emptyDir: {}",
	)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withEphemeral returns a copy of p with the ephemeral containers decoded from JSON added.
func withEphemeral(t *testing.T, p *Pod, raw ...string) *Pod {
	t.Helper()
	n := *p
	n.Spec.EphemeralContainers = append([]EphemeralContainer(nil), p.Spec.EphemeralContainers...)
	for _, r := range raw {
		ec, err := DecodeEphemeralContainer([]byte(r), len(n.Spec.EphemeralContainers))
		if err != nil {
			t.Fatalf("decode %s: %v", r, err)
		}
		n.Spec.EphemeralContainers = append(n.Spec.EphemeralContainers, *ec)
	}
	return &n
}

func TestDecodeEphemeralContainer(t *testing.T) {
	ec, err := DecodeEphemeralContainer([]byte(`{"name":"debugger","image":"busybox","stdin":true,"tty":true,
		"command":["sh"],"targetContainerName":"app","env":[{"name":"A","value":"b"}],
		"securityContext":{"capabilities":{"add":["SYS_PTRACE"]}}}`), 2)
	if err != nil {
		t.Fatal(err)
	}
	c := ec.Container
	// SetDefaults_EphemeralContainer is SetDefaults_Container.
	if c.Name != "debugger" || ec.TargetContainerName != "app" || !c.Stdin || !c.TTY || c.Command[0] != "sh" ||
		c.ImagePullPolicy != PullAlways || c.TerminationMessagePath != DefaultTerminationMessagePath ||
		c.TerminationMessagePolicy != TerminationMessageReadFile || c.Env[0].Value != "b" ||
		c.SecurityContext.Capabilities.Add[0] != "SYS_PTRACE" {
		t.Errorf("decoded %+v", ec)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"name":"d","image":"busybox","imag":"x"}`, `spec.ephemeralContainers[2].imag: unknown field "imag" (not a Kubernetes Pod field)`},
		{`{"name":"d","image":"busybox","volumeDevices":[{"name":"v","devicePath":"/dev/x"}]}`, "spec.ephemeralContainers[2].volumeDevices: not supported yet"},
		{`{"name":"d","image":"busybox","stdin":"yes"}`, "spec.ephemeralContainers[2].stdin: Invalid value"},
		{`["d"]`, "spec.ephemeralContainers[2]: Invalid value"},
		{`{"name":"d"} {}`, "spec.ephemeralContainers[2]: more than one JSON value"},
		{`{"name":`, "spec.ephemeralContainers[2]: unexpected EOF"},
	} {
		_, err := DecodeEphemeralContainer([]byte(tc.in), 2)
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want an *InvalidError with %q", tc.in, err, tc.want)
		}
	}
}

func TestValidateEphemeralContainersUpdate(t *testing.T) {
	base := running(t)
	one := withEphemeral(t, base, `{"name":"debugger","image":"busybox","terminationMessagePolicy":"File"}`)
	tests := []struct {
		name string
		old  *Pod
		raw  []string
		edit func(p *Pod)
		want []string // one line each; none: valid
	}{
		{name: "add one", old: base, raw: []string{`{"name":"debugger","image":"busybox"}`}},
		{name: "add with a target, volume and security context", old: one, raw: []string{
			`{"name":"dbg2","image":"busybox","targetContainerName":"app","volumeMounts":[{"name":"data","mountPath":"/d","readOnly":true}],
			  "securityContext":{"privileged":true},"stdin":true,"stdinOnce":true,"tty":true,"workingDir":"/d","args":["x"]}`}},
		{name: "an init container is a target too", old: base, raw: []string{`{"name":"d","image":"busybox","targetContainerName":"setup"}`}},
		{name: "name of a regular container", old: base, raw: []string{`{"name":"app","image":"busybox"}`},
			want: []string{`spec.ephemeralContainers[0].name: Duplicate value: "app"`}},
		{name: "name of an init container", old: base, raw: []string{`{"name":"setup","image":"busybox"}`},
			want: []string{`spec.ephemeralContainers[0].name: Duplicate value: "setup"`}},
		{name: "name of an ephemeral container", old: one, raw: []string{`{"name":"debugger","image":"busybox"}`},
			want: []string{`spec.ephemeralContainers[1].name: Duplicate value: "debugger"`}},
		{name: "bad name, no image", old: base, raw: []string{`{"name":"Debug_1"}`},
			want: []string{`spec.ephemeralContainers[0].name: Invalid value: "Debug_1"`, "spec.ephemeralContainers[0].image: Required value"}},
		{name: "target missing", old: base, raw: []string{`{"name":"d","image":"busybox","targetContainerName":"nope"}`},
			want: []string{`spec.ephemeralContainers[0].targetContainerName: Not found: "nope"`}},
		{name: "target is ephemeral", old: one, raw: []string{`{"name":"d","image":"busybox","targetContainerName":"debugger"}`},
			want: []string{`spec.ephemeralContainers[1].targetContainerName: Not found: "debugger"`}},
		{name: "fields an ephemeral container may not set", old: base, raw: []string{`{"name":"d","image":"busybox",
			"ports":[{"containerPort":80}],"resources":{"limits":{"cpu":"1"}},"resizePolicy":[{"resourceName":"cpu","restartPolicy":"NotRequired"}],
			"restartPolicy":"Always","livenessProbe":{"exec":{"command":["true"]}},"readinessProbe":{"tcpSocket":{"port":80}},
			"startupProbe":{"exec":{"command":["true"]}},"lifecycle":{"preStop":{"sleep":{"seconds":1}}}}`},
			want: []string{
				"spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].resizePolicy: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].restartPolicy: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].livenessProbe: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].startupProbe: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container",
			}},
		{name: "subPath", old: base, raw: []string{`{"name":"d","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/d","subPath":"x"}]}`},
			want: []string{"spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container"}},
		{name: "undeclared volume", old: base, raw: []string{`{"name":"d","image":"busybox","volumeMounts":[{"name":"x","mountPath":"/d"}]}`},
			want: []string{`spec.ephemeralContainers[0].volumeMounts[0].name: Not found: "x"`}},
		{name: "bad security context", old: base, raw: []string{`{"name":"d","image":"busybox","securityContext":{"procMount":"Unmasked"}}`},
			want: []string{"spec.ephemeralContainers[0].securityContext.procMount"}},
		{name: "bad pull policy", old: base, raw: []string{`{"name":"d","image":"busybox","imagePullPolicy":"Sometimes"}`},
			want: []string{`spec.ephemeralContainers[0].imagePullPolicy: Unsupported value: "Sometimes"`}},
		{name: "removed", old: one, edit: func(p *Pod) { p.Spec.EphemeralContainers = nil },
			want: []string{`spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed`}},
		{name: "changed", old: one, edit: func(p *Pod) { p.Spec.EphemeralContainers[0].Image = "alpine" },
			want: []string{`spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be changed`}},
		// validateSeccompAnnotationsAndFields visits ephemeral containers too.
		{name: "seccomp field against its annotation", old: func() *Pod {
			p := *base
			p.Metadata.Annotations = map[string]string{SeccompContainerAnnotationKeyPrefix + "d": "unconfined"}
			return &p
		}(), raw: []string{`{"name":"d","image":"busybox","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}`},
			want: []string{"spec.ephemeralContainers[0].securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and field must match"}},
		{name: "static pod", old: func() *Pod {
			p := *base
			p.Metadata.Annotations = map[string]string{MirrorPodAnnotationKey: "x"}
			return &p
		}(), raw: []string{`{"name":"d","image":"busybox"}`},
			want: []string{"Forbidden: static pods do not support ephemeral containers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := withEphemeral(t, tt.old, tt.raw...)
			if tt.edit != nil {
				n.Spec.EphemeralContainers = append([]EphemeralContainer(nil), n.Spec.EphemeralContainers...)
				tt.edit(n)
			}
			err := ValidateEphemeralContainersUpdate(n, tt.old)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v, want an *InvalidError", err)
			}
			if len(ie.Errs) != len(tt.want) {
				t.Fatalf("got errors:\n%v\nwant %d like %q", err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(ie.Errs[i].Error(), w) {
					t.Errorf("error %d: %q does not contain %q", i, ie.Errs[i].Error(), w)
				}
			}
		})
	}
}
