package api

import (
	"os"
	"strings"
	"testing"
)

// refusedPatterns are the patterns of the real Pod fields minipod refuses: the highest
// known field missing from the supported tree, outside status (ignored) and outside fields
// decoded whole by their own type (which refuse with their own reasons).
func refusedPatterns() map[string]bool {
	out := map[string]bool{}
	var walk func(k, s *fieldNode, pat string)
	walk = func(k, s *fieldNode, pat string) {
		for name, kc := range k.children {
			p := pat + "." + name
			switch {
			case pat == "":
				p = name
			case name == "[]":
				p = pat + "[]"
			}
			if p == "status" {
				continue
			}
			sc := s.child(name)
			if sc == nil {
				out[p] = true
				continue
			}
			if sc.typ != nil && hasOwnEncoding(deref(sc.typ)) {
				continue
			}
			walk(kc, sc, p)
		}
	}
	walk(knownFields(), supportedFields(), "")
	return out
}

// Every refused field says why, and every reason is for a field that is refused.
func TestRefusalReasons(t *testing.T) {
	refused := refusedPatterns()
	if len(refused) == 0 {
		t.Fatal("no refused fields found: the walk is broken")
	}
	for p := range refused {
		if r := refusal(p); !strings.HasPrefix(r, "not supported: ") {
			t.Errorf("%s is refused without a reason: %q", p, r)
		}
	}
	for p := range refusalReasons {
		found := refused["spec."+p] || refused[p]
		for _, kind := range []string{"spec.containers[].", "spec.initContainers[].", "spec.ephemeralContainers[]."} {
			if rest, ok := strings.CutPrefix(p, "containers[]."); ok {
				found = found || refused[kind+rest]
			}
		}
		if !found {
			t.Errorf("refusalReasons has %s, which is not a refused field", p)
		}
	}
	for _, tt := range []struct{ pattern, want string }{
		{"spec.volumes[].nfs", "not supported: " + reasonStorage},
		{"spec.initContainers[].resources.claims", "not supported: " + reasonDRA},
		{"spec.ephemeralContainers[].volumeDevices", "not supported: raw block devices need a block PersistentVolume; minipod's claims are directories (use hostPath with type BlockDevice)"},
		{"spec.somethingNew", "not supported yet"},
	} {
		if got := refusal(tt.pattern); got != tt.want {
			t.Errorf("refusal(%s) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

// The README's table of refused fields names each of them.
func TestRefusalReasonsInREADME(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "#### Refused fields")
	if !ok {
		t.Fatal("README.md has no \"#### Refused fields\" section")
	}
	table, _, _ = strings.Cut(table, "\n#")
	for p := range refusalReasons {
		name := p[strings.LastIndex(p, ".")+1:]
		if !strings.Contains(table, "`"+name+"`") && !strings.Contains(table, "."+name+"`") {
			t.Errorf("the README's refused fields do not name `%s` (%s)", name, p)
		}
	}
}
