package volume

import (
	"testing"

	"github.com/minipod/minipod/api"
)

func TestExpandSubPath(t *testing.T) {
	env := map[string]string{"POD": "web-1", "NS": "default", "EMPTY": ""}
	tests := []struct{ expr, want, err string }{
		{"$(POD)", "web-1", ""},
		{"logs/$(NS)/$(POD)", "logs/default/web-1", ""},
		{"$$(POD)", "$(POD)", ""},
		{"plain", "plain", ""},
		{"$(NOPE)/$(EMPTY)/$(ALSO)/$(NOPE)", "", "missing value for ALSO, EMPTY, NOPE"},
	}
	for _, tt := range tests {
		got, err := expandSubPath(tt.expr, env)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("expandSubPath(%q) = %q, %v; want %q, %q", tt.expr, got, err, tt.want, tt.err)
		}
	}
}

func TestPropagation(t *testing.T) {
	mode := func(m api.MountPropagationMode) *api.MountPropagationMode { return &m }
	for _, tt := range []struct {
		m    *api.MountPropagationMode
		want string
	}{{nil, ""}, {mode(api.MountPropagationNone), ""}, {mode(api.MountPropagationHostToContainer), "rslave"}, {mode(api.MountPropagationBidirectional), "rshared"}} {
		if got := propagation(tt.m); got != tt.want {
			t.Errorf("propagation(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestResolveRecursiveReadOnly(t *testing.T) {
	rro := func(m api.RecursiveReadOnlyMode) *api.RecursiveReadOnlyMode { return &m }
	h2c := api.MountPropagationHostToContainer
	tests := []struct {
		name      string
		m         api.VolumeMount
		supported bool
		want      bool
		err       string
	}{
		{name: "unset", m: api.VolumeMount{Name: "v", ReadOnly: true}, supported: true},
		{name: "disabled", m: api.VolumeMount{Name: "v", RecursiveReadOnly: rro(api.RecursiveReadOnlyDisabled)}, supported: true},
		{name: "if possible, supported", m: api.VolumeMount{Name: "v", ReadOnly: true, RecursiveReadOnly: rro(api.RecursiveReadOnlyIfPossible)}, supported: true, want: true},
		{name: "if possible, unsupported", m: api.VolumeMount{Name: "v", ReadOnly: true, RecursiveReadOnly: rro(api.RecursiveReadOnlyIfPossible)}},
		{name: "enabled, supported", m: api.VolumeMount{Name: "v", ReadOnly: true, RecursiveReadOnly: rro(api.RecursiveReadOnlyEnabled)}, supported: true, want: true},
		{name: "enabled, unsupported", m: api.VolumeMount{Name: "v", ReadOnly: true, RecursiveReadOnly: rro(api.RecursiveReadOnlyEnabled)},
			err: `volume "v" requested recursive read-only mode, but it is not supported by the runtime`},
		{name: "not read-only", m: api.VolumeMount{Name: "v", RecursiveReadOnly: rro(api.RecursiveReadOnlyEnabled)}, supported: true,
			err: `volume "v" requested recursive read-only mode, but it is not read-only`},
		{name: "propagating", m: api.VolumeMount{Name: "v", ReadOnly: true, MountPropagation: &h2c, RecursiveReadOnly: rro(api.RecursiveReadOnlyEnabled)}, supported: true,
			err: `volume "v" requested recursive read-only mode, but it is not compatible with propagation "HostToContainer"`},
	}
	for _, tt := range tests {
		got, err := resolveRecursiveReadOnly(tt.m, tt.supported)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("%s: = %v, %v; want %v, %q", tt.name, got, err, tt.want, tt.err)
		}
	}
}
