package api

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestGenerateName(t *testing.T) {
	re := regexp.MustCompile(`^web-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	if n := GenerateName("web-"); !re.MatchString(n) {
		t.Errorf("GenerateName(web-) = %q", n)
	}
	long := strings.Repeat("a", 70)
	if n := GenerateName(long); len(n) != 63 || !strings.HasPrefix(n, strings.Repeat("a", 58)) {
		t.Errorf("GenerateName(70 a's) = %q (%d), want 58 a's and 5 random", n, len(n))
	}
}

// Metadata as `kubectl get pod -o yaml` prints it loads again: the server-set fields are
// dropped, generateName gives a name, ownerReferences and finalizers are kept and validated.
func TestLoadMeta(t *testing.T) {
	pod := func(meta string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n" + meta + "spec:\n  containers:\n  - name: app\n    image: busybox:1.36\n"
	}
	const kubectlMeta = `  name: web
  namespace: default
  uid: 0c7e5c9e-3f1e-4d7a-9d8e-1b2c3d4e5f60
  resourceVersion: "12345"
  generation: 1
  selfLink: /api/v1/namespaces/default/pods/web
  creationTimestamp: "2025-01-01T00:00:00Z"
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9, uid: 11111111-2222-3333-4444-555555555555, controller: true, blockOwnerDeletion: true}
  finalizers: [example.com/keep]
  managedFields:
  - manager: kubectl-client-side-apply
    operation: Update
    apiVersion: v1
    time: "2025-01-01T00:00:00Z"
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:containers": {}}}
`
	tests := []struct {
		name  string
		in    string
		want  []string
		check func(t *testing.T, p *Pod)
	}{
		{name: "kubectl get -o yaml", in: pod(kubectlMeta), check: func(t *testing.T, p *Pod) {
			m := p.Metadata
			if m.ResourceVersion != "" || m.Generation != 0 || m.SelfLink != "" || m.ManagedFields != nil {
				t.Errorf("server-set fields kept: %+v", m)
			}
			if len(m.OwnerReferences) != 1 || m.OwnerReferences[0].Kind != "ReplicaSet" || !slices.Equal(m.Finalizers, []string{"example.com/keep"}) {
				t.Errorf("ownerReferences/finalizers lost: %+v", m)
			}
			if w := Warnings(p); len(w) != 1 || !strings.HasPrefix(w[0], "metadata.ownerReferences, metadata.finalizers: kept but not acted on") {
				t.Errorf("warnings %q", w)
			}
		}},
		{name: "generateName", in: pod("  generateName: web-\n"), check: func(t *testing.T, p *Pod) {
			if !strings.HasPrefix(p.Metadata.Name, "web-") || len(p.Metadata.Name) != 9 {
				t.Errorf("name %q, want web- and 5 characters", p.Metadata.Name)
			}
		}},
		{name: "name wins over generateName", in: pod("  name: web\n  generateName: x-\n"), check: func(t *testing.T, p *Pod) {
			if p.Metadata.Name != "web" {
				t.Errorf("name %q, want web", p.Metadata.Name)
			}
		}},
		{name: "neither", in: pod("  labels: {a: b}\n"), want: []string{"metadata.name: Required value: name or generateName is required"}},
		{name: "bad generateName", in: pod("  generateName: Web_\n"), want: []string{
			`metadata.generateName: Invalid value: "Web_"`, `metadata.name: Invalid value: "Web_`}},
		{name: "two controllers", in: pod("  name: web\n  ownerReferences:\n  - {apiVersion: v1, kind: A, name: a, uid: '1', controller: true}\n  - {apiVersion: v1, kind: B, name: b, uid: '2', controller: true}\n"),
			want: []string{`metadata.ownerReferences: Invalid value: Only one reference can have Controller set to true. Found "true" in references for A/a and B/b`}},
		{name: "bad apiVersion", in: pod("  name: web\n  ownerReferences: [{apiVersion: a/b/c, kind: A, name: a, uid: '1'}]\n"),
			want: []string{`metadata.ownerReferences[0].apiVersion: Invalid value: "a/b/c": must be <group>/<version> or <version>`}},
		{name: "bad finalizer", in: pod("  name: web\n  finalizers: [orphan, foregroundDeletion, 'a b']\n"),
			want: []string{`metadata.finalizers: Invalid value: "a b"`, `metadata.finalizers: Invalid value: finalizer orphan and foregroundDeletion cannot be both set`}},
	}
	for _, tt := range tests {
		p, err := Load([]byte(tt.in))
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if tt.check != nil {
				tt.check(t, p)
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
