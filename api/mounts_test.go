package api

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLoadMountFields(t *testing.T) {
	pod := func(mount, ctr string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  volumes:\n  - name: v\n    emptyDir: {}\n" +
			"  containers:\n  - name: app\n    image: busybox:1.36\n" + ctr +
			"    volumeMounts:\n    - {name: v, mountPath: /v, " + mount + "}\n"
	}
	const priv = "    securityContext: {privileged: true}\n"
	tests := []struct {
		name string
		in   string
		want []string // error lines, sorted; none: valid
	}{
		{name: "subPathExpr", in: pod("subPathExpr: $(POD_NAME)/logs", "")},
		{name: "subPathExpr and subPath", in: pod("subPath: a, subPathExpr: $(X)", ""),
			want: []string{`spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(X)": subPathExpr and subPath are mutually exclusive`}},
		{name: "absolute subPathExpr", in: pod("subPathExpr: /$(X)", ""),
			want: []string{`spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "/$(X)": must be a relative path`}},
		{name: "subPathExpr backsteps", in: pod("subPathExpr: $(X)/../y", ""),
			want: []string{`spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(X)/../y": must not contain '..'`}},
		{name: "HostToContainer", in: pod("mountPropagation: HostToContainer", "")},
		{name: "None", in: pod("mountPropagation: None", "")},
		{name: "Bidirectional privileged", in: pod("mountPropagation: Bidirectional", priv)},
		{name: "Bidirectional unprivileged", in: pod("mountPropagation: Bidirectional", ""),
			want: []string{"spec.containers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers"}},
		{name: "bad propagation", in: pod("mountPropagation: Shared", ""),
			want: []string{`spec.containers[0].volumeMounts[0].mountPropagation: Unsupported value: "Shared": supported values: "Bidirectional", "HostToContainer", "None"`}},
		{name: "rro enabled", in: pod("readOnly: true, recursiveReadOnly: Enabled", "")},
		{name: "rro if possible, propagation None", in: pod("readOnly: true, recursiveReadOnly: IfPossible, mountPropagation: None", "")},
		{name: "rro disabled on a writable mount", in: pod("recursiveReadOnly: Disabled", "")},
		{name: "rro needs readOnly", in: pod("recursiveReadOnly: Enabled", ""),
			want: []string{"spec.containers[0].volumeMounts[0].recursiveReadOnly: Forbidden: may only be specified when readOnly is true"}},
		{name: "rro needs no propagation", in: pod("readOnly: true, recursiveReadOnly: IfPossible, mountPropagation: HostToContainer", ""),
			want: []string{"spec.containers[0].volumeMounts[0].recursiveReadOnly: Forbidden: may only be specified when mountPropagation is None or not specified"}},
		{name: "bad rro", in: pod("readOnly: true, recursiveReadOnly: Always", ""),
			want: []string{`spec.containers[0].volumeMounts[0].recursiveReadOnly: Unsupported value: "Always": supported values: "Disabled", "Enabled", "IfPossible"`}},
	}
	for _, tt := range tests {
		p, err := Load([]byte(tt.in))
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if m := p.Spec.Containers[0].VolumeMounts[0]; m.SubPathExpr == "" && m.MountPropagation == nil && m.RecursiveReadOnly == nil {
				t.Errorf("%s: the mount's fields were lost: %+v", tt.name, m)
			}
			continue
		}
		var ie *InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
			continue
		}
		var got []string
		for _, fe := range ie.Errs {
			got = append(got, fe.Error())
		}
		slices.Sort(got)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: errors\n%s\nwant\n%s", tt.name, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}
