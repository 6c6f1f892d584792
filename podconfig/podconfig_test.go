package podconfig

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

// objects is a Source over fixed objects of namespace "default".
type objects struct {
	cms     map[string]*api.ConfigMap
	secrets map[string]*api.Secret
}

func (o objects) ConfigMap(ns, name string) (*api.ConfigMap, error) {
	if c, ok := o.cms[name]; ok && ns == "default" {
		return c, nil
	}
	return nil, &api.NotFoundError{Resource: "configmap", Name: name}
}

func (o objects) Secret(ns, name string) (*api.Secret, error) {
	if s, ok := o.secrets[name]; ok && ns == "default" {
		return s, nil
	}
	return nil, &api.NotFoundError{Resource: "secret", Name: name}
}

var testObjects = objects{
	cms: map[string]*api.ConfigMap{
		"cm":  {Data: map[string]string{"A": "from-cm", "B": "b", "special.how": "very"}, BinaryData: map[string]api.Bytes{"bin": {0, 1}}},
		"cm2": {Data: map[string]string{"A": "from-cm2", "C": "c"}},
		// Keys no API server would store, to show how the kubelet skips what is no name.
		"bad": {Data: map[string]string{"OK": "1", "a=b": "x", "": "y"}},
	},
	secrets: map[string]*api.Secret{
		"s": {Data: map[string]api.Bytes{"password": api.Bytes("39528$vdg7Jb"), "user": api.Bytes("my-app")}},
	},
}

func ptr[T any](v T) *T { return &v }

func q(s string) resource.Quantity { return resource.MustParse(s) }

func testPod(c api.Container) *api.Pod {
	return &api.Pod{
		Metadata: api.ObjectMeta{Name: "p", Namespace: "default", UID: "u-1",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"Example.com/Build": "two", "note": "say \"hi\"\n"}},
		Spec: api.PodSpec{Containers: []api.Container{c, {Name: "other"}}},
	}
}

var facts = Facts{NodeName: "node1", PodIPs: []string{"fd00::5", "10.0.0.5"}, HostIPs: []string{"10.0.0.1"},
	Allocatable: api.ResourceList{"cpu": q("2"), "memory": q("8Gi"), "ephemeral-storage": q("100Gi")}}

func envOf(vars []api.EnvVar) []string {
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = v.Name + "=" + v.Value
	}
	return out
}

func TestEnv(t *testing.T) {
	from := func(s api.EnvVarSource) *api.EnvVarSource { return &s }
	cmKey := func(name, key string, optional bool) *api.EnvVarSource {
		return from(api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: name}, Key: key, Optional: ptr(optional)}})
	}
	secretKey := func(name, key string, optional bool) *api.EnvVarSource {
		return from(api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{LocalObjectReference: api.LocalObjectReference{Name: name}, Key: key, Optional: ptr(optional)}})
	}
	field := func(p string) *api.EnvVarSource {
		return from(api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{APIVersion: "v1", FieldPath: p}})
	}
	res := func(container, r, divisor string) *api.EnvVarSource {
		f := &api.ResourceFieldSelector{ContainerName: container, Resource: r}
		if divisor != "" {
			f.Divisor = q(divisor)
		}
		return from(api.EnvVarSource{ResourceFieldRef: f})
	}
	cmRef := func(name, prefix string, optional bool) api.EnvFromSource {
		return api.EnvFromSource{Prefix: prefix, ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: api.LocalObjectReference{Name: name}, Optional: ptr(optional)}}
	}
	limited := api.ResourceRequirements{
		Requests: api.ResourceList{"cpu": q("125m"), "memory": q("32Mi")},
		Limits:   api.ResourceList{"cpu": q("250m"), "memory": q("64Mi")},
	}
	for _, tc := range []struct {
		name    string
		c       api.Container
		pod     func(*api.Pod)
		want    []string
		events  []string
		wantErr string
	}{
		{name: "envFrom in order, prefixed; env overrides in place; $(VAR) over both", c: api.Container{
			EnvFrom: []api.EnvFromSource{cmRef("cm", "", false), cmRef("cm2", "", false), cmRef("cm2", "P_", false),
				{SecretRef: &api.SecretEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "s"}}}},
			Env: []api.EnvVar{
				{Name: "B", Value: "from-env $(A) $(C) $(LATER) $$(A) $(P_C)"},
				{Name: "LATER", Value: "x"},
				{Name: "A", ValueFrom: cmKey("cm", "special.how", false)},
				{Name: "B", Value: "again $(B)"},
			}},
			want: []string{"A=very", "B=again from-env from-cm2 c $(LATER) $(A) c", "special.how=very", "C=c", "P_A=from-cm2", "P_C=c",
				"password=39528$vdg7Jb", "user=my-app", "LATER=x"}},
		{name: "optional sources that are missing leave variables out", c: api.Container{
			EnvFrom: []api.EnvFromSource{cmRef("nope", "", true)},
			Env: []api.EnvVar{
				{Name: "A", ValueFrom: cmKey("nope", "k", true)},
				{Name: "B", ValueFrom: cmKey("cm", "nokey", true)},
				{Name: "C", ValueFrom: secretKey("nope", "k", true)},
				{Name: "D", ValueFrom: secretKey("s", "nokey", true)},
				{Name: "E"},
			}},
			want: []string{"E="}},
		{name: "missing configmap", c: api.Container{Env: []api.EnvVar{{Name: "A", ValueFrom: cmKey("nope", "k", false)}}},
			wantErr: `configmap "nope" not found`},
		{name: "missing key", c: api.Container{Env: []api.EnvVar{{Name: "A", ValueFrom: cmKey("cm", "k", false)}}},
			wantErr: "couldn't find key k in ConfigMap default/cm"},
		{name: "binaryData is not env", c: api.Container{Env: []api.EnvVar{{Name: "A", ValueFrom: cmKey("cm", "bin", false)}}},
			wantErr: "couldn't find key bin in ConfigMap default/cm"},
		{name: "missing secret", c: api.Container{EnvFrom: []api.EnvFromSource{{SecretRef: &api.SecretEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "nope"}}}}},
			wantErr: `secret "nope" not found`},
		{name: "missing secret key", c: api.Container{Env: []api.EnvVar{{Name: "A", ValueFrom: secretKey("s", "k", false)}}},
			wantErr: "couldn't find key k in Secret default/s"},
		{name: "invalid names skipped with an event", c: api.Container{EnvFrom: []api.EnvFromSource{cmRef("bad", "", false)}},
			want:   []string{"OK=1"},
			events: []string{"Warning InvalidEnvironmentVariableNames Keys [, a=b] from the EnvFrom configMap default/bad were skipped since they are considered invalid environment variable names."}},
		{name: "downward API fields", c: api.Container{Env: []api.EnvVar{
			{Name: "NAME", ValueFrom: field("metadata.name")},
			{Name: "NS", ValueFrom: field("metadata.namespace")},
			{Name: "UID", ValueFrom: field("metadata.uid")},
			{Name: "NODE", ValueFrom: field("spec.nodeName")},
			{Name: "HOST", ValueFrom: field("spec.host")},
			{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
			{Name: "IP", ValueFrom: field("status.podIP")},
			{Name: "IPS", ValueFrom: field("status.podIPs")},
			{Name: "HIP", ValueFrom: field("status.hostIP")},
			{Name: "HIPS", ValueFrom: field("status.hostIPs")},
			{Name: "APP", ValueFrom: field("metadata.labels['app']")},
			{Name: "NOLABEL", ValueFrom: field("metadata.labels['none']")},
			{Name: "BUILD", ValueFrom: field("metadata.annotations['Example.com/Build']")},
			{Name: "COPY", Value: "$(NAME).$(NS)"},
		}}, want: []string{"NAME=p", "NS=default", "UID=u-1", "NODE=node1", "HOST=node1", "SA=default", "IP=10.0.0.5", "IPS=10.0.0.5,fd00::5",
			"HIP=10.0.0.1", "HIPS=10.0.0.1", "APP=web", "NOLABEL=", "BUILD=two", "COPY=p.default"}},
		{name: "service account and node named by the pod", c: api.Container{Env: []api.EnvVar{
			{Name: "NODE", ValueFrom: field("spec.nodeName")}, {Name: "SA", ValueFrom: field("spec.serviceAccountName")}}},
			pod:  func(p *api.Pod) { p.Spec.NodeName, p.Spec.DeprecatedServiceAccount = "n2", "robot" },
			want: []string{"NODE=n2", "SA=robot"}},
		// The docs' dapi-envars-container: requests 125m/32Mi, limits 250m/64Mi.
		{name: "resources", c: api.Container{Name: "test-container", Resources: limited, Env: []api.EnvVar{
			{Name: "CPU_REQUEST", ValueFrom: res("test-container", "requests.cpu", "")},
			{Name: "CPU_LIMIT", ValueFrom: res("", "limits.cpu", "")},
			{Name: "CPU_LIMIT_M", ValueFrom: res("", "limits.cpu", "1m")},
			{Name: "MEM_REQUEST", ValueFrom: res("", "requests.memory", "")},
			{Name: "MEM_LIMIT", ValueFrom: res("", "limits.memory", "1Mi")},
			{Name: "EPH", ValueFrom: res("", "limits.ephemeral-storage", "1Gi")},
			{Name: "OTHER_CPU", ValueFrom: res("other", "limits.cpu", "1m")},
			{Name: "OTHER_REQ", ValueFrom: res("other", "requests.memory", "")},
		}}, want: []string{"CPU_REQUEST=1", "CPU_LIMIT=1", "CPU_LIMIT_M=250", "MEM_REQUEST=33554432", "MEM_LIMIT=64", "EPH=100", "OTHER_CPU=2000", "OTHER_REQ=0"}},
		{name: "pod-level limits before the node's", c: api.Container{Env: []api.EnvVar{
			{Name: "CPU", ValueFrom: res("", "limits.cpu", "1m")}, {Name: "MEM", ValueFrom: res("", "limits.memory", "1Mi")}}},
			pod: func(p *api.Pod) {
				p.Spec.Resources = &api.ResourceRequirements{Limits: api.ResourceList{"cpu": q("500m")}}
			},
			want: []string{"CPU=500", "MEM=8192"}},
		{name: "resource of an unknown container", c: api.Container{Env: []api.EnvVar{{Name: "X", ValueFrom: res("ghost", "limits.cpu", "")}}},
			wantErr: "container ghost not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPod(tc.c)
			if tc.pod != nil {
				tc.pod(p)
			}
			vars, events, err := Env(&EnvInput{Pod: p, Container: &p.Spec.Containers[0], Facts: facts, Objects: testObjects})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := envOf(vars); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("env\n got %q\nwant %q", got, tc.want)
			}
			var ev []string
			for _, e := range events {
				ev = append(ev, e.Type+" "+e.Reason+" "+e.Message)
			}
			if !reflect.DeepEqual(ev, tc.events) {
				t.Errorf("events %q, want %q", ev, tc.events)
			}
		})
	}
}

func TestEnvFileKeyRef(t *testing.T) {
	files := map[string]string{"v/config.env": "DB_ADDRESS='address'\nREST_ENDPOINT='endpoint'\nEMPTY=''\n", "v/bad.env": "X=unquoted\n"}
	open := func(vol, path string) (io.ReadCloser, string, error) {
		if vol != "v" {
			return nil, "", ErrNoVolume
		}
		s, ok := files[vol+"/"+path]
		if !ok {
			return nil, "", errors.New("no such file")
		}
		return io.NopCloser(strings.NewReader(s)), "/host/" + vol + "/" + path, nil
	}
	ref := func(vol, path, key string, optional bool) api.EnvVar {
		return api.EnvVar{Name: key, ValueFrom: &api.EnvVarSource{FileKeyRef: &api.FileKeySelector{VolumeName: vol, Path: path, Key: key, Optional: &optional}}}
	}
	for _, tc := range []struct {
		env     []api.EnvVar
		want    []string
		wantErr string
	}{
		{env: []api.EnvVar{ref("v", "config.env", "DB_ADDRESS", false)}, want: []string{"DB_ADDRESS=address"}},
		{env: []api.EnvVar{ref("v", "config.env", "NOPE", true), ref("v", "config.env", "EMPTY", true)}, want: []string{}},
		{env: []api.EnvVar{ref("v", "config.env", "NOPE", false)}, wantErr: `environment variable key "NOPE" not found in file "/host/v/config.env"`},
		{env: []api.EnvVar{ref("w", "config.env", "X", false)}, wantErr: `cannot find the volume "w" referenced by FileKeyRef`},
		{env: []api.EnvVar{ref("v", "bad.env", "X", false)}, wantErr: "couldn't parse env file"},
		{env: []api.EnvVar{ref("v", "missing.env", "X", true)}, wantErr: "couldn't parse env file"},
	} {
		p := testPod(api.Container{Env: tc.env})
		vars, _, err := Env(&EnvInput{Pod: p, Container: &p.Spec.Containers[0], Facts: facts, Objects: testObjects, OpenEnvFile: open})
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%+v: err %v, want %q", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(envOf(vars), tc.want) {
			t.Errorf("%+v: %q %v, want %q", tc.env, envOf(vars), err, tc.want)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	for _, tc := range []struct {
		in, key, want, err string
	}{
		{in: "A='1'\nB='2'\n", key: "B", want: "2"},
		{in: "  # comment\n\n\tA='x y' # trailing\n", key: "A", want: "x y"},
		{in: "A='line1\nline2'\n", key: "A", want: "line1\nline2"},
		{in: "A='$HOME \\n \"q\"'", key: "A", want: `$HOME \n "q"`},
		{in: "A= 'v'\n", key: "A", want: ""},
		{in: "A='1'\n", key: "B", want: ""},
		{in: "A='1'\nA='2'\n", key: "A", want: "1"},
		{in: "A = '1'\n", key: "A", err: "whitespace before '=' is not allowed"},
		{in: "A=1\n", key: "A", err: "line 1: value must be enclosed in single quotes"},
		{in: "junk\n", key: "A", err: "line 1: missing '='"},
		{in: "='1'\n", key: "A", err: "empty variable name"},
		{in: "A='1' x\n", key: "A", err: "unexpected content after closing quote"},
		{in: "B='ok'\nA='open\n", key: "A", err: "starting at line 2: unclosed single quote"},
	} {
		got, err := ParseEnvFile(strings.NewReader(tc.in), tc.key)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q key %s: %q %v, want %q", tc.in, tc.key, got, err, tc.want)
		}
	}
}

func TestVolumePayload(t *testing.T) {
	mode := func(m int32) *int32 { return &m }
	items := func(kv ...string) []api.KeyToPath {
		var out []api.KeyToPath
		for i := 0; i < len(kv); i += 2 {
			out = append(out, api.KeyToPath{Key: kv[i], Path: kv[i+1]})
		}
		return out
	}
	p := testPod(api.Container{Name: "app", Resources: api.ResourceRequirements{
		Requests: api.ResourceList{"cpu": q("125m"), "memory": q("32Mi")}, Limits: api.ResourceList{"cpu": q("250m")}}})
	show := func(pl Payload) map[string]string {
		out := map[string]string{}
		for k, f := range pl {
			out[k] = fmt.Sprintf("%s %o", f.Data, f.Mode)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		v       api.Volume
		want    map[string]string
		wantErr string
	}{
		{name: "configMap, every key", v: api.Volume{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cm2"}, DefaultMode: mode(0o644)}},
			want: map[string]string{"A": "from-cm2 644", "C": "c 644"}},
		{name: "configMap items with modes, binaryData", v: api.Volume{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cm"},
			Items: []api.KeyToPath{{Key: "special.how", Path: "dir/how", Mode: mode(0o400)}, {Key: "bin", Path: "b"}}, DefaultMode: mode(0o640)}},
			want: map[string]string{"dir/how": "very 400", "b": "\x00\x01 640"}},
		{name: "configMap missing", v: api.Volume{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "nope"}}},
			wantErr: `configmap "nope" not found`},
		{name: "configMap missing, optional", v: api.Volume{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "nope"}, Optional: ptr(true), Items: items("k", "k")}},
			want: map[string]string{}},
		{name: "configMap missing key", v: api.Volume{ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "cm"}, Items: items("nokey", "x")}},
			wantErr: "configmap references non-existent config key: nokey"},
		{name: "secret", v: api.Volume{Secret: &api.SecretVolumeSource{SecretName: "s", DefaultMode: mode(0o400)}},
			want: map[string]string{"password": "39528$vdg7Jb 400", "user": "my-app 400"}},
		{name: "secret missing key", v: api.Volume{Secret: &api.SecretVolumeSource{SecretName: "s", Items: items("nokey", "x")}},
			wantErr: "references non-existent secret key: nokey"},
		{name: "secret missing", v: api.Volume{Secret: &api.SecretVolumeSource{SecretName: "nope"}}, wantErr: `secret "nope" not found`},
		{name: "downwardAPI", v: api.Volume{DownwardAPI: &api.DownwardAPIVolumeSource{DefaultMode: mode(0o644), Items: []api.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &api.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
			{Path: "annotations", FieldRef: &api.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations"}, Mode: mode(0o600)},
			{Path: "./d/name", FieldRef: &api.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}},
			{Path: "cpu_limit", ResourceFieldRef: &api.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu", Divisor: q("1m")}},
			{Path: "mem_limit", ResourceFieldRef: &api.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: q("1Mi")}},
			{Path: "mem_request", ResourceFieldRef: &api.ResourceFieldSelector{ContainerName: "app", Resource: "requests.memory", Divisor: q("1Mi")}},
		}}}, want: map[string]string{
			"labels":      "app=\"web\"\ntier=\"front\" 644",
			"annotations": "Example.com/Build=\"two\"\nnote=\"say \\\"hi\\\"\\n\" 600",
			"d/name":      "p 644", "cpu_limit": "250 644", "mem_limit": "8192 644", "mem_request": "32 644"}},
		{name: "projected, later paths win, optional missing sources empty", v: api.Volume{Projected: &api.ProjectedVolumeSource{DefaultMode: mode(0o644), Sources: []api.VolumeProjection{
			{ConfigMap: &api.ConfigMapProjection{LocalObjectReference: api.LocalObjectReference{Name: "cm2"}}},
			{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "s"}, Items: []api.KeyToPath{{Key: "user", Path: "A", Mode: mode(0o777)}}}},
			{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "nope"}, Optional: ptr(true)}},
			{DownwardAPI: &api.DownwardAPIProjection{Items: []api.DownwardAPIVolumeFile{{Path: "n", FieldRef: &api.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		}}}, want: map[string]string{"A": "my-app 777", "C": "c 644", "n": "default 644"}},
		{name: "projected errors are aggregated", v: api.Volume{Projected: &api.ProjectedVolumeSource{DefaultMode: mode(0o644), Sources: []api.VolumeProjection{
			{Secret: &api.SecretProjection{LocalObjectReference: api.LocalObjectReference{Name: "mysecret"}}},
			{ConfigMap: &api.ConfigMapProjection{LocalObjectReference: api.LocalObjectReference{Name: "cm"}, Items: items("x", "x")}},
		}}}, wantErr: `[secret "mysecret" not found, configmap references non-existent config key: x]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := VolumePayload(&tc.v, p, facts, testObjects)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := show(pl); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("payload\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
