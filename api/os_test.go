package api

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLoadOSAndStopSignal(t *testing.T) {
	pod := func(spec, ctr string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n" + spec +
			"  containers:\n  - name: app\n    image: busybox:1.36\n" + ctr
	}
	tests := []struct {
		name string
		in   string
		want []string // the error lines; none: valid
	}{
		{name: "linux", in: pod("  os: {name: linux}\n", "")},
		{name: "linux with a stop signal", in: pod("  os: {name: linux}\n", "    lifecycle: {stopSignal: SIGUSR1}\n")},
		{name: "real-time stop signal", in: pod("  os: {name: linux}\n", "    lifecycle: {stopSignal: SIGRTMAX-3}\n")},
		{name: "windows passes validation (admission refuses it)", in: pod("  os: {name: windows}\n", "    lifecycle: {stopSignal: SIGKILL}\n")},
		{name: "stop signal without os", in: pod("", "    lifecycle: {stopSignal: SIGUSR1}\n"),
			want: []string{"spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set for containers with empty `spec.os.name`"}},
		{name: "unknown stop signal", in: pod("  os: {name: linux}\n", "    lifecycle: {stopSignal: USR1}\n"),
			want: []string{`spec.containers[0].lifecycle.stopSignal: Unsupported value: "USR1": supported values: "SIGABRT"`}},
		{name: "windows stop signal", in: pod("  os: {name: windows}\n", "    lifecycle: {stopSignal: SIGUSR1}\n"),
			want: []string{`spec.containers[0].lifecycle.stopSignal: Unsupported value: "SIGUSR1": supported values: "SIGKILL", "SIGTERM"`}},
		{name: "os without name", in: pod("  os: {name: ''}\n", ""), want: []string{"spec.os.name: Required value"}},
		{name: "other os", in: pod("  os: {name: darwin}\n", ""),
			want: []string{`spec.os: Unsupported value: "darwin": supported values: "linux", "windows"`}},
		{name: "linux-only fields in a windows pod", in: pod("  os: {name: windows}\n  hostPID: true\n  securityContext: {runAsUser: 1}\n",
			"    securityContext: {privileged: false}\n"),
			want: []string{
				"spec.containers[0].securityContext.privileged: Forbidden: cannot be set for a windows pod",
				"spec.hostPID: Forbidden: cannot be set for a windows pod",
				"spec.securityContext.runAsUser: Forbidden: cannot be set for a windows pod",
			}},
	}
	for _, tt := range tests {
		p, err := Load([]byte(tt.in))
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if p.Spec.OS == nil {
				t.Errorf("%s: spec.os lost", tt.name)
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
		if len(got) != len(tt.want) {
			t.Errorf("%s: errors\n%s\nwant\n%s", tt.name, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tt.want[i]) {
				t.Errorf("%s: error %q, want prefix %q", tt.name, got[i], tt.want[i])
			}
		}
	}
}
