package api

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// podSC builds a manifest with a pod-level securityContext (pod lines) and a container-level
// one (container lines), each line indented for its place.
func podSC(podLines, ctrLines []string) string {
	s := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n"
	if len(podLines) > 0 {
		s += "  securityContext:\n    " + strings.Join(podLines, "\n    ") + "\n"
	}
	s += "  containers:\n  - name: app\n    image: busybox:1.36\n"
	if len(ctrLines) > 0 {
		s += "    securityContext:\n      " + strings.Join(ctrLines, "\n      ") + "\n"
	}
	return s
}

func TestLoadSecurity(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []string // substrings of each error line, in order; empty: valid
		check func(t *testing.T, p *Pod)
	}{
		{name: "everything supported", in: podSC(
			[]string{"runAsUser: 1000", "runAsGroup: 3000", "runAsNonRoot: true", "fsGroup: 2000", "fsGroupChangePolicy: OnRootMismatch",
				"supplementalGroups: [4000]", "supplementalGroupsPolicy: Strict", "sysctls: [{name: net.ipv4.ip_local_port_range, value: '1024 65535'}]",
				"seccompProfile: {type: RuntimeDefault}", "appArmorProfile: {type: Unconfined}", "seLinuxChangePolicy: MountOption", "seLinuxOptions: {}", "windowsOptions: {}"},
			[]string{"runAsUser: 2000", "allowPrivilegeEscalation: false", "readOnlyRootFilesystem: true", "privileged: false", "procMount: Default",
				"capabilities: {add: [NET_ADMIN, CAP_SYS_TIME], drop: [ALL]}", "seccompProfile: {type: Localhost, localhostProfile: profiles/audit.json}"}),
			check: func(t *testing.T, p *Pod) {
				sc := p.Spec.SecurityContext
				if *sc.RunAsUser != 1000 || *sc.FSGroup != 2000 || sc.Sysctls[0].Value != "1024 65535" || *sc.SupplementalGroupsPolicy != SupplementalGroupsPolicyStrict {
					t.Errorf("pod securityContext %+v", sc)
				}
				c := p.Spec.Containers[0].SecurityContext
				if *c.RunAsUser != 2000 || *c.AllowPrivilegeEscalation || c.Capabilities.Add[1] != "CAP_SYS_TIME" || *c.SeccompProfile.LocalhostProfile != "profiles/audit.json" {
					t.Errorf("container securityContext %+v", c)
				}
			}},
		{name: "pod securityContext defaults to empty", in: podSC(nil, nil), check: func(t *testing.T, p *Pod) {
			if p.Spec.SecurityContext == nil || !reflect.DeepEqual(*p.Spec.SecurityContext, PodSecurityContext{}) {
				t.Errorf("spec.securityContext = %+v, want {}", p.Spec.SecurityContext)
			}
		}},
		{name: "hostUsers true", in: strings.Replace(podSC(nil, nil), "spec:\n", "spec:\n  hostUsers: true\n", 1)},
		{name: "hostUsers false", in: strings.Replace(podSC(nil, []string{"procMount: Unmasked"}), "spec:\n", "spec:\n  hostUsers: false\n", 1),
			want: []string{"spec.hostUsers: Unsupported value: false: user namespaces are not supported yet"}},
		{name: "unmasked proc needs a user namespace", in: podSC(nil, []string{"procMount: Unmasked"}),
			want: []string{"spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`"}},
		{name: "bad ids", in: podSC([]string{"runAsUser: -1", "runAsGroup: 2147483648", "fsGroup: -2", "supplementalGroups: [1, -3]"}, []string{"runAsUser: -5", "runAsGroup: -6"}),
			want: []string{
				"spec.securityContext.fsGroup: Invalid value: -2: must be between 0 and 2147483647, inclusive",
				"spec.securityContext.runAsUser: Invalid value: -1",
				"spec.securityContext.runAsGroup: Invalid value: 2147483648",
				"spec.securityContext.supplementalGroups[1]: Invalid value: -3",
				"spec.containers[0].securityContext.runAsUser: Invalid value: -5",
				"spec.containers[0].securityContext.runAsGroup: Invalid value: -6",
			}},
		{name: "bad enums", in: podSC([]string{"fsGroupChangePolicy: Sometimes", "supplementalGroupsPolicy: Loose", "seLinuxChangePolicy: Never"}, []string{"procMount: Weird"}),
			want: []string{
				`spec.securityContext.fsGroupChangePolicy: Unsupported value: "Sometimes": supported values: "Always", "OnRootMismatch"`,
				`spec.securityContext.supplementalGroupsPolicy: Unsupported value: "Loose": supported values: "Merge", "Strict"`,
				`spec.securityContext.seLinuxChangePolicy: Unsupported value: "Never"`,
				`spec.containers[0].securityContext.procMount: Unsupported value: "Weird": supported values: "Default", "Unmasked"`,
			}},
		{name: "escalation with privileged or CAP_SYS_ADMIN", in: podSC(nil, []string{"allowPrivilegeEscalation: false", "privileged: true", "capabilities: {add: [CAP_SYS_ADMIN]}"}),
			want: []string{
				"spec.containers[0].securityContext: Invalid value: cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
				"spec.containers[0].securityContext: Invalid value: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
			}},
		{name: "seccomp profiles", in: podSC([]string{"seccompProfile: {type: Localhost}"},
			[]string{"seccompProfile: {type: RuntimeDefault, localhostProfile: x.json}"}),
			want: []string{
				"spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
				`spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "x.json": can only be set when seccomp type is Localhost`,
			}},
		{name: "seccomp localhost paths", in: podSC([]string{"seccompProfile: {type: Localhost, localhostProfile: /etc/x.json}"},
			[]string{"seccompProfile: {type: Localhost, localhostProfile: ../x.json}"}),
			want: []string{
				`spec.securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/x.json": must be a relative path`,
				`spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "../x.json": must not contain '..'`,
			}},
		{name: "seccomp type", in: podSC([]string{"seccompProfile: {type: Strict}"}, []string{"seccompProfile: {localhostProfile: a}"}),
			want: []string{
				`spec.securityContext.seccompProfile.type: Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined"`,
				"spec.containers[0].securityContext.seccompProfile.type: Required value: type is required when seccompProfile is set",
				`spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "a": can only be set when seccomp type is Localhost`,
			}},
		{name: "apparmor profiles", in: podSC([]string{"appArmorProfile: {type: Localhost, localhostProfile: ' x'}"},
			[]string{"appArmorProfile: {type: Localhost}"}),
			want: []string{
				`spec.securityContext.appArmorProfile.localhostProfile: Invalid value: " x": must not be padded with whitespace`,
				"spec.containers[0].securityContext.appArmorProfile.localhostProfile: Required value: must be set when AppArmor type is Localhost",
			}},
		{name: "apparmor type", in: podSC([]string{"appArmorProfile: {type: Complain}"}, []string{"appArmorProfile: {type: Unconfined, localhostProfile: x}"}),
			want: []string{
				`spec.securityContext.appArmorProfile.type: Unsupported value: "Complain"`,
				`spec.containers[0].securityContext.appArmorProfile.localhostProfile: Invalid value: "x": can only be set when AppArmor type is Localhost`,
			}},
		{name: "sysctl names", in: podSC([]string{"sysctls: [{name: '', value: '1'}, {name: Net.Core, value: '1'}, {name: net/ipv4/ip_forward, value: '1'}, {name: net/ipv4/ip_forward, value: '0'}]"}, nil),
			want: []string{
				"spec.securityContext.sysctls[0].name: Required value",
				`spec.securityContext.sysctls[1].name: Invalid value: "Net.Core": must have at most 253 characters and match regex`,
				`spec.securityContext.sysctls[3].name: Duplicate value: "net/ipv4/ip_forward"`,
			}},
		{name: "selinux and windows options refused", in: podSC([]string{"seLinuxOptions: {level: 's0:c1'}"}, []string{"windowsOptions: {runAsUserName: x}", "seLinuxOptions: {type: t}"}),
			want: []string{
				"spec.securityContext.seLinuxOptions: Unsupported value: SELinux labels are not supported",
				"spec.containers[0].securityContext.windowsOptions: Unsupported value: Windows options do not apply to Linux containers",
				"spec.containers[0].securityContext.seLinuxOptions: Unsupported value: SELinux labels are not supported",
			}},
		{name: "seccomp annotations become fields", in: strings.Replace(podSC(nil, nil), "  name: web\n",
			"  name: web\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: localhost/profiles/audit.json\n    container.seccomp.security.alpha.kubernetes.io/app: runtime/default\n", 1),
			check: func(t *testing.T, p *Pod) {
				if sp := p.Spec.SecurityContext.SeccompProfile; sp == nil || sp.Type != SeccompProfileTypeLocalhost || *sp.LocalhostProfile != "profiles/audit.json" {
					t.Errorf("pod seccompProfile %+v", sp)
				}
				if sp := p.Spec.Containers[0].SecurityContext.SeccompProfile; sp == nil || sp.Type != SeccompProfileTypeRuntimeDefault {
					t.Errorf("container seccompProfile %+v", sp)
				}
			}},
		{name: "seccomp annotation and field disagree", in: strings.Replace(podSC([]string{"seccompProfile: {type: Unconfined}"}, nil), "  name: web\n",
			"  name: web\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: runtime/default\n", 1),
			want: []string{"spec.securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and field must match"}},
		{name: "bad seccomp annotation", in: strings.Replace(podSC(nil, nil), "  name: web\n",
			"  name: web\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: strict\n", 1),
			want: []string{`metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: Invalid value: "strict": must be a valid seccomp profile`}},
		{name: "apparmor annotations", in: strings.Replace(podSC(nil, []string{"appArmorProfile: {type: RuntimeDefault}"}), "  name: web\n",
			"  name: web\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/app: unconfined\n    container.apparmor.security.beta.kubernetes.io/nope: enforce\n", 1),
			want: []string{
				`metadata.annotations[container.apparmor.security.beta.kubernetes.io/nope]: Invalid value: "nope": container not found`,
				`metadata.annotations[container.apparmor.security.beta.kubernetes.io/nope]: Invalid value: "enforce": invalid AppArmor profile name: "enforce"`,
				"spec.containers[0].securityContext.appArmorProfile.type: Forbidden: apparmor type in annotation and field must match",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load([]byte(tc.in))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if tc.check != nil {
					tc.check(t, p)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Load = %v, want errors %q", err, tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got errors:\n%v\nwant %d lines like %q", err, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error line %d: %q does not contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestEffectiveSecurityContext(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	yes, no := true, false
	spec := &PodSpec{SecurityContext: &PodSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000), RunAsNonRoot: &yes,
		SeccompProfile: &SeccompProfile{Type: SeccompProfileTypeRuntimeDefault}}}
	c := &Container{Name: "c", SecurityContext: &SecurityContext{RunAsUser: i64(2000), RunAsNonRoot: &no, ReadOnlyRootFilesystem: &yes}}
	sc := EffectiveSecurityContext(spec, c)
	if *sc.RunAsUser != 2000 || *sc.RunAsGroup != 3000 || *sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("effective %+v", sc)
	}
	*sc.RunAsGroup = 1
	if *spec.SecurityContext.RunAsGroup != 3000 {
		t.Error("EffectiveSecurityContext aliases the pod's fields")
	}
	if sp := SeccompProfileOf(spec, c); sp == nil || sp.Type != SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccomp %+v, want the pod's", sp)
	}
	if sc := EffectiveSecurityContext(&PodSpec{}, &Container{}); sc.RunAsUser != nil || sc.Privileged != nil {
		t.Errorf("empty %+v", sc)
	}

	pod := &Pod{Spec: PodSpec{SecurityContext: &PodSecurityContext{AppArmorProfile: &AppArmorProfile{Type: AppArmorProfileTypeRuntimeDefault}}}}
	pod.Metadata.Annotations = map[string]string{AppArmorBetaContainerAnnotationKeyPrefix + "b": "localhost/k8s-deny-write"}
	pod.Spec.Containers = []Container{{Name: "a"}, {Name: "b"}, {Name: "c", SecurityContext: &SecurityContext{AppArmorProfile: &AppArmorProfile{Type: AppArmorProfileTypeUnconfined}}}}
	want := []string{"RuntimeDefault", "Localhost/k8s-deny-write", "Unconfined"}
	for i := range pod.Spec.Containers {
		p := AppArmorProfileOf(pod, &pod.Spec.Containers[i])
		got := string(p.Type)
		if p.LocalhostProfile != nil {
			got += "/" + *p.LocalhostProfile
		}
		if got != want[i] {
			t.Errorf("container %d: AppArmor %s, want %s", i, got, want[i])
		}
	}
	if !AppArmorRequired(pod) {
		t.Error("AppArmorRequired = false")
	}
	pod.Spec.SecurityContext = nil
	pod.Metadata.Annotations = nil
	if AppArmorRequired(pod) {
		t.Error("AppArmorRequired with only Unconfined")
	}
}
