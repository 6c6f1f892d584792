package api

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// checkErrLines checks that err is an *InvalidError whose lines contain want, in order; an
// empty want means no error.
func checkErrLines(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error:\n%v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("error %T is not an *InvalidError: %v", err, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got errors:\n%v\nwant %d lines like %q", err, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("error line %d: %q does not contain %q", i, lines[i], w)
		}
	}
}

// kubectlConfigMap is `kubectl create configmap x --from-literal=a=b --dry-run=client -o yaml`.
const kubectlConfigMap = `apiVersion: v1
data:
  a: b
kind: ConfigMap
metadata:
  creationTimestamp: null
  name: x
`

// kubectlRegcred is `kubectl create secret docker-registry regcred --docker-server=127.0.0.1:5000
// --docker-username=u --docker-password=p --dry-run=client -o yaml`.
const kubectlRegcred = `apiVersion: v1
data:
  .dockerconfigjson: eyJhdXRocyI6eyIxMjcuMC4wLjE6NTAwMCI6eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAiLCJhdXRoIjoiZFRwdyJ9fX0=
kind: Secret
metadata:
  creationTimestamp: null
  name: regcred
type: kubernetes.io/dockerconfigjson
`

func TestLoadObjects(t *testing.T) {
	cm := func(lines ...string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n" + strings.Join(lines, "\n") + "\n"
	}
	secret := func(lines ...string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n" + strings.Join(lines, "\n") + "\n"
	}
	for _, tc := range []struct {
		name  string
		in    string
		want  []string
		check func(t *testing.T, objs []Object)
	}{
		{name: "kubectl create configmap", in: kubectlConfigMap, check: func(t *testing.T, objs []Object) {
			c := objs[0].(*ConfigMap)
			if c.Metadata.Name != "x" || c.Metadata.Namespace != "default" || c.Data["a"] != "b" || c.Metadata.CreationTimestamp != nil {
				t.Errorf("decoded %+v", c)
			}
		}},
		{name: "kubectl create secret docker-registry", in: kubectlRegcred, check: func(t *testing.T, objs []Object) {
			s := objs[0].(*Secret)
			if s.Type != SecretTypeDockerConfigJSON || !strings.Contains(string(s.Data[DockerConfigJSONKey]), `"username":"u"`) {
				t.Errorf("decoded %+v", s)
			}
		}},
		{name: "several documents and kinds", in: kubectlConfigMap + "---\n" + pod() + "---\n# nothing\n---\n" + secret("stringData: {a: b}"),
			check: func(t *testing.T, objs []Object) {
				var kinds []string
				for _, o := range objs {
					kinds = append(kinds, o.GetKind()+"/"+o.GetMeta().Name)
				}
				if want := []string{"ConfigMap/x", "Pod/web", "Secret/s"}; !reflect.DeepEqual(kinds, want) {
					t.Errorf("objects %q, want %q", kinds, want)
				}
			}},
		{name: "stringData is merged into data and wins", in: secret("data: {a: eA==, b: eQ==}", "stringData: {a: z}"), check: func(t *testing.T, objs []Object) {
			s := objs[0].(*Secret)
			if string(s.Data["a"]) != "z" || string(s.Data["b"]) != "y" || s.StringData != nil || s.Type != SecretTypeOpaque {
				t.Errorf("decoded %+v", s)
			}
		}},
		{name: "binaryData", in: cm("binaryData: {bin: AAEC}", "immutable: true"), check: func(t *testing.T, objs []Object) {
			c := objs[0].(*ConfigMap)
			if string(c.BinaryData["bin"]) != "\x00\x01\x02" || c.Immutable == nil || !*c.Immutable {
				t.Errorf("decoded %+v", c)
			}
		}},
		{name: "server fields are ignored", in: cm("  uid: abc", "  creationTimestamp: \"2020-01-01T00:00:00Z\""), check: func(t *testing.T, objs []Object) {
			if m := objs[0].GetMeta(); m.UID != "" || m.CreationTimestamp != nil {
				t.Errorf("metadata %+v", m)
			}
		}},

		{name: "empty", in: "# nothing\n", want: []string{"empty manifest: expected a Pod, ConfigMap, Secret or PersistentVolumeClaim"}},
		{name: "unknown kind", in: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
			want: []string{`apiVersion: Unsupported value: "apps/v1": supported values: "v1"`, `kind: Unsupported value: "Deployment": supported values: "ConfigMap", "PersistentVolumeClaim", "Pod", "Secret"`}},
		{name: "errors name their document", in: pod() + "---\n" + cm("data: {\"a b\": x}") + "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc}\n",
			want: []string{`document 2 (configmap/cm): data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters`,
				`document 3 (service/svc): kind: Unsupported value: "Service"`}},
		{name: "a list is not an object", in: "- a\n", want: []string{"document is a list, expected an object"}},
		{name: "unknown and unsupported fields", in: cm("  ownerReferences: [{name: x}]", "  bogus: 1", "dta: {}"),
			want: []string{`dta: unknown field "dta"`, `metadata.bogus: unknown field "bogus"`, "metadata.ownerReferences: not supported yet"}},
		{name: "invalid key and duplicate", in: cm("data: {a: x, .: z}", "binaryData: {a: eA==}"),
			want: []string{`data[.]: Invalid value: ".": must not be '.'`, `data[a]: Invalid value: "a": duplicate of key present in binaryData`}},
		{name: "bad name", in: strings.Replace(cm(), "name: cm", "name: Bad_Name", 1), want: []string{`metadata.name: Invalid value: "Bad_Name"`}},
		{name: "too large", in: cm("data: {a: " + strings.Repeat("x", MaxSecretSize+1) + "}"), want: []string{"Too long: may not be more than 1048576 bytes"}},
		{name: "secret too large", in: secret("stringData: {a: " + strings.Repeat("x", MaxSecretSize/2+1) + ", b: " + strings.Repeat("x", MaxSecretSize/2) + "}"),
			want: []string{"data: Too long: may not be more than 1048576 bytes"}},
		{name: "bad base64 is not echoed", in: secret("data: {a: '!!!'}"), want: []string{`data[a]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 0`}},
		{name: "data of the wrong type", in: cm("data: [a]"), want: []string{"data: Invalid value: must be an object, not a list"}},
		{name: "dockerconfigjson needs its key", in: secret("type: kubernetes.io/dockerconfigjson"), want: []string{"data[.dockerconfigjson]: Required value"}},
		{name: "dockerconfigjson must be JSON", in: secret("type: kubernetes.io/dockerconfigjson", "stringData: {.dockerconfigjson: nope}"),
			want: []string{`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character`}},
		{name: "dockercfg needs its key", in: secret("type: kubernetes.io/dockercfg"), want: []string{"data[.dockercfg]: Required value"}},
		{name: "tls needs both keys", in: secret("type: kubernetes.io/tls", "stringData: {tls.crt: x}"), want: []string{"data[tls.key]: Required value"}},
		{name: "basic-auth needs one of its keys", in: secret("type: kubernetes.io/basic-auth"), want: []string{"data[username]: Required value", "data[password]: Required value"}},
		{name: "ssh-auth", in: secret("type: kubernetes.io/ssh-auth", "stringData: {ssh-privatekey: ''}"), want: []string{"data[ssh-privatekey]: Required value"}},
		{name: "service account token", in: secret("type: kubernetes.io/service-account-token"),
			want: []string{"metadata.annotations[kubernetes.io/service-account.name]: Required value"}},
		{name: "custom type", in: secret("type: example.com/mine")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := LoadObjects([]byte(tc.in))
			checkErrLines(t, err, tc.want)
			if err == nil && tc.check != nil {
				tc.check(t, objs)
			}
			if err != nil && objs != nil {
				t.Error("objects and an error")
			}
		})
	}
}

func TestObjectUpdates(t *testing.T) {
	yes := true
	cm := func(imm *bool, data map[string]string) *ConfigMap {
		return &ConfigMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: ObjectMeta{Name: "c", Namespace: "default"}, Immutable: imm, Data: data}
	}
	s := func(typ SecretType, imm *bool, data map[string]Bytes) *Secret {
		return &Secret{APIVersion: "v1", Kind: "Secret", Metadata: ObjectMeta{Name: "s", Namespace: "default"}, Type: typ, Immutable: imm, Data: data}
	}
	for _, tc := range []struct {
		name     string
		new, old Object
		want     []string
	}{
		{name: "mutable configmap changes", new: cm(nil, map[string]string{"a": "2"}), old: cm(nil, map[string]string{"a": "1"})},
		{name: "immutable configmap, same data", new: cm(&yes, map[string]string{"a": "1"}), old: cm(&yes, map[string]string{"a": "1"})},
		{name: "made immutable", new: cm(&yes, map[string]string{"a": "2"}), old: cm(nil, map[string]string{"a": "1"})},
		{name: "immutable configmap, new data", new: cm(&yes, map[string]string{"a": "2"}), old: cm(&yes, map[string]string{"a": "1"}),
			want: []string{"data: Forbidden: field is immutable when `immutable` is set"}},
		{name: "immutable unset", new: cm(nil, map[string]string{"a": "1"}), old: cm(&yes, map[string]string{"a": "1"}),
			want: []string{"immutable: Forbidden: field is immutable when `immutable` is set"}},
		{name: "secret type changes", new: s("example.com/x", nil, nil), old: s(SecretTypeOpaque, nil, nil),
			want: []string{`type: Invalid value: "example.com/x": field is immutable`}},
		{name: "immutable secret, new data", new: s(SecretTypeOpaque, &yes, map[string]Bytes{"a": Bytes("2")}), old: s(SecretTypeOpaque, &yes, map[string]Bytes{"a": Bytes("1")}),
			want: []string{"data: Forbidden: field is immutable when `immutable` is set"}},
		{name: "immutable secret, same data", new: s(SecretTypeOpaque, &yes, map[string]Bytes{"a": Bytes("1")}), old: s(SecretTypeOpaque, &yes, map[string]Bytes{"a": Bytes("1")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			switch n := tc.new.(type) {
			case *ConfigMap:
				err = ValidateConfigMapUpdate(n, tc.old.(*ConfigMap))
			case *Secret:
				err = ValidateSecretUpdate(n, tc.old.(*Secret))
			}
			checkErrLines(t, err, tc.want)
		})
	}
}

func TestPodConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
		check func(t *testing.T, p *Pod)
	}{
		{name: "env sources and defaults", lines: []string{
			"    env:",
			"    - {name: A, valueFrom: {configMapKeyRef: {name: cm, key: k, optional: true}}}",
			"    - {name: B, valueFrom: {secretKeyRef: {name: s, key: k}}}",
			"    - {name: C, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}",
			"    - {name: D, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}",
			"    - {name: E, valueFrom: {fileKeyRef: {volumeName: v, path: a.env, key: E}}}",
			"    envFrom:",
			"    - {prefix: P_, configMapRef: {name: cm}}",
			"    - {secretRef: {name: s, optional: false}}",
			"  volumes: [{name: v, emptyDir: {}}]",
		}, check: func(t *testing.T, p *Pod) {
			env := p.Spec.Containers[0].Env
			if env[2].ValueFrom.FieldRef.APIVersion != "v1" || env[4].ValueFrom.FileKeyRef.Optional == nil || *env[4].ValueFrom.FileKeyRef.Optional {
				t.Errorf("defaults not applied: %+v %+v", env[2].ValueFrom.FieldRef, env[4].ValueFrom.FileKeyRef)
			}
			if d := env[3].ValueFrom.ResourceFieldRef.Divisor; d.String() != "1Mi" {
				t.Errorf("divisor %s", d.String())
			}
		}},
		{name: "env source errors", lines: []string{
			"    env:",
			"    - {name: A, value: x, valueFrom: {configMapKeyRef: {name: cm, key: k}}}",
			"    - {name: B, valueFrom: {configMapKeyRef: {name: cm, key: k}, secretKeyRef: {name: s, key: k}}}",
			"    - {name: C, valueFrom: {fieldRef: {fieldPath: spec.restartPolicy}}}",
			"    - {name: D, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}",
			"    - {name: E, valueFrom: {fieldRef: {fieldPath: \"metadata.name['x']\"}}}",
			"    - {name: F, valueFrom: {fieldRef: {apiVersion: v2, fieldPath: metadata.name}}}",
			"    - {name: G, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1Mi}}}",
			"    - {name: H, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}",
			"    - {name: I, valueFrom: {secretKeyRef: {name: Bad, key: \"a/b\"}}}",
			"    - {name: J, valueFrom: {fileKeyRef: {volumeName: nope, path: /abs, key: \"a=b\"}}}",
		}, want: []string{
			"spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
			"spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not have more than one field specified at a time",
			`spec.containers[0].env[2].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.restartPolicy": supported values: "metadata.name"`,
			`spec.containers[0].env[3].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels"`,
			`spec.containers[0].env[4].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name['x']": error converting fieldPath: field label does not support subscript: metadata.name['x']`,
			`spec.containers[0].env[5].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name": error converting fieldPath: unsupported pod version: v2`,
			`spec.containers[0].env[6].valueFrom.resourceFieldRef.divisor: Invalid value: "limits.cpu": only divisor's values 1m and 1 are supported with the cpu resource`,
			`spec.containers[0].env[7].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.gpu"`,
			`spec.containers[0].env[8].valueFrom.secretKeyRef.name: Invalid value: "Bad"`,
			`spec.containers[0].env[8].valueFrom.secretKeyRef.key: Invalid value: "a/b"`,
			`spec.containers[0].env[9].valueFrom.fileKeyRef.volumeName: Not found: "nope"`,
			`spec.containers[0].env[9].valueFrom.fileKeyRef.path: Invalid value: "/abs": must be a relative path`,
			`spec.containers[0].env[9].valueFrom.fileKeyRef.key: Invalid value: "a=b"`,
		}},
		{name: "annotation subscripts are lowercased, label ones not", lines: []string{
			"    env:",
			"    - {name: A, valueFrom: {fieldRef: {fieldPath: \"metadata.annotations['Example.COM/x']\"}}}",
			"    - {name: B, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['Bad Key']\"}}}",
		}, want: []string{`spec.containers[0].env[1].valueFrom.fieldRef: Invalid value: "Bad Key": name part must consist of alphanumeric characters`}},
		{name: "envFrom errors", lines: []string{
			"    envFrom:",
			"    - {prefix: \"A=\", configMapRef: {name: cm}}",
			"    - {configMapRef: {name: cm}, secretRef: {name: s}}",
			"    - {prefix: X}",
			"    - {configMapRef: {name: trailing-}}",
			"    - {secretRef: {name: ''}}",
		}, want: []string{
			`spec.containers[0].envFrom[0].prefix: Invalid value: "A="`,
			"spec.containers[0].envFrom: Invalid value: \"\": may not have more than one field specified at a time",
			"spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
			"spec.containers[0].envFrom[4].secretRef.name: Required value",
		}},
		{name: "volumes and defaults", lines: []string{
			"    volumeMounts: [{name: a, mountPath: /a}, {name: b, mountPath: /b}, {name: c, mountPath: /c}, {name: d, mountPath: /d}]",
			"  volumes:",
			"  - {name: a, configMap: {name: cm, items: [{key: k, path: dir/f, mode: 0400}], optional: true}}",
			"  - {name: b, secret: {secretName: s, defaultMode: 0400}}",
			"  - name: c",
			"    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}]}",
			"  - name: d",
			"    projected: {sources: [{configMap: {name: cm}}, {secret: {name: s, items: [{key: k, path: x}]}}, {downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}}]}",
		}, check: func(t *testing.T, p *Pod) {
			v := p.Spec.Volumes
			if *v[0].ConfigMap.DefaultMode != 0o644 || *v[0].ConfigMap.Items[0].Mode != 0o400 || *v[1].Secret.DefaultMode != 0o400 ||
				*v[2].DownwardAPI.DefaultMode != 0o644 || *v[3].Projected.DefaultMode != 0o644 ||
				v[2].DownwardAPI.Items[0].FieldRef.APIVersion != "v1" || v[3].Projected.Sources[2].DownwardAPI.Items[0].FieldRef.APIVersion != "v1" {
				t.Errorf("defaults not applied: %+v", v)
			}
		}},
		{name: "volume errors", lines: []string{
			"  volumes:",
			"  - {name: a, configMap: {items: [{key: '', path: ''}, {key: k, path: ../x}, {key: k, path: ..x, mode: 01000}], defaultMode: -1}}",
			"  - {name: b, secret: {}, emptyDir: {}}",
			"  - {name: c, downwardAPI: {items: [{path: /x, fieldRef: {fieldPath: status.podIP}}, {path: yy}, {path: zz, resourceFieldRef: {resource: limits.cpu}}]}}",
			"  - {name: d, configMap: {name: x}, projected: {sources: []}}",
		}, want: []string{
			`spec.volumes[0].configMap.name: Required value`,
			`spec.volumes[0].configMap.defaultMode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive`,
			`spec.volumes[0].configMap.items[0].key: Required value`,
			`spec.volumes[0].configMap.items[0].path: Required value`,
			`spec.volumes[0].configMap.items[1].path: Invalid value: "../x": must not contain '..'`,
			`spec.volumes[0].configMap.items[2].path: Invalid value: "..x": must not start with '..'`,
			`spec.volumes[0].configMap.items[2].mode: Invalid value: 512`,
			`spec.volumes[1].secret: Forbidden: may not specify more than 1 volume type`,
			`spec.volumes[2].downwardAPI.path: Invalid value: "/x": must be a relative path`,
			`spec.volumes[2].downwardAPI.fieldRef.fieldPath: Unsupported value: "status.podIP"`,
			`spec.volumes[2].downwardAPI: Required value: one of fieldRef and resourceFieldRef is required`,
			`spec.volumes[2].downwardAPI.resourceFieldRef.containerName: Required value`,
			`spec.volumes[3].projected: Forbidden: may not specify more than 1 volume type`,
		}},
		{name: "projected sources that need an API server", lines: []string{
			"  volumes:",
			"  - name: p",
			"    projected: {sources: [{serviceAccountToken: {path: token, expirationSeconds: 3600}}, {clusterTrustBundle: {name: x, path: p}}, {podCertificate: {keyType: ED25519}}]}",
		}, want: []string{
			"spec.volumes[0].projected.sources[0].serviceAccountToken: Forbidden: a service account token is issued by the Kubernetes API server, which minipod does not have",
			"spec.volumes[0].projected.sources[1].clusterTrustBundle: Forbidden: cluster trust bundles are objects of the Kubernetes API server, which minipod does not have",
			"spec.volumes[0].projected.sources[2].podCertificate: Forbidden: pod certificates are issued through the Kubernetes API server, which minipod does not have",
		}},
		{name: "projected duplicate paths and two sources in one", lines: []string{
			"  volumes:",
			"  - name: p",
			"    projected: {sources: [{configMap: {name: a, items: [{key: k, path: x}]}}, {secret: {name: b, items: [{key: k, path: x}]}, configMap: {name: c}}]}",
		}, want: []string{
			`spec.volumes[0].projected: Invalid value: "b": conflicting duplicate paths`,
			"spec.volumes[0].projected.sources[1]: Forbidden: may not specify more than 1 volume type per source",
		}},
		{name: "imagePullSecrets", lines: []string{"  imagePullSecrets: [{name: regcred}, {name: ''}]"}, check: func(t *testing.T, p *Pod) {
			if len(p.Spec.ImagePullSecrets) != 2 || p.Spec.ImagePullSecrets[0].Name != "regcred" {
				t.Errorf("imagePullSecrets %+v", p.Spec.ImagePullSecrets)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load([]byte(pod(tc.lines...)))
			checkErrLines(t, err, tc.want)
			if err == nil && tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

// The ConfigMap and Secret fields minipod reads are Kubernetes'.
func TestObjectFieldsAreKubernetesFields(t *testing.T) {
	for _, c := range []struct{ ours, theirs reflect.Type }{
		{reflect.TypeFor[ConfigMap](), reflect.TypeFor[corev1.ConfigMap]()},
		{reflect.TypeFor[Secret](), reflect.TypeFor[corev1.Secret]()},
	} {
		known := map[string]bool{}
		for _, p := range fieldPaths(c.theirs) {
			known[p] = true
		}
		for _, p := range fieldPaths(c.ours) {
			if !known[p] {
				t.Errorf("%s: %s is not a field of Kubernetes' %s", c.ours.Name(), p, c.theirs.Name())
			}
		}
	}
}
