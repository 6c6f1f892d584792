package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// pod builds a manifest from a minimal valid Pod with the given lines added under spec.
func pod(specLines ...string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n" +
		"  containers:\n  - name: app\n    image: busybox:1.36\n" + strings.Join(specLines, "\n") + "\n"
}

// kubectlRun is `kubectl run nginx --image=nginx --dry-run=client -o yaml`, minus dnsPolicy.
const kubectlRun = `apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    run: nginx
  name: nginx
spec:
  containers:
  - image: nginx
    name: nginx
    resources: {}
  restartPolicy: Always
status: {}
`

type loadCase struct {
	name string
	in   string
	// want holds, line by line, a substring of each line of the error; empty means success.
	want  []string
	check func(t *testing.T, p *Pod)
}

var loadCases = []loadCase{
	// Valid input.
	{name: "minimal yaml", in: pod(), check: func(t *testing.T, p *Pod) {
		c := p.Spec.Containers[0]
		if p.Metadata.Name != "web" || c.Name != "app" || c.Image != "busybox:1.36" {
			t.Errorf("decoded %+v", p)
		}
	}},
	{name: "json", in: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","labels":{"a":"b"}},
		"spec":{"containers":[{"name":"c","image":"nginx","command":["sh","-c"],"args":["echo hi"]}]}}`,
		check: func(t *testing.T, p *Pod) {
			c := p.Spec.Containers[0]
			if p.Metadata.Labels["a"] != "b" || !reflect.DeepEqual(c.Command, []string{"sh", "-c"}) || c.Args[0] != "echo hi" {
				t.Errorf("decoded %+v", p)
			}
		}},
	{name: "kubectl run output", in: kubectlRun, check: func(t *testing.T, p *Pod) {
		if p.Metadata.CreationTimestamp != nil || p.Metadata.Labels["run"] != "nginx" {
			t.Errorf("decoded %+v", p.Metadata)
		}
	}},
	{name: "kubectl run output with dnsPolicy ClusterFirst",
		in: strings.Replace(kubectlRun, "  restartPolicy:", "  dnsPolicy: ClusterFirst\n  restartPolicy:", 1)},
	{name: "dnsPolicy None needs a dnsConfig",
		in:   strings.Replace(kubectlRun, "  restartPolicy:", "  dnsPolicy: None\n  restartPolicy:", 1),
		want: []string{"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"}},
	{name: "kubernetes defaults of unsupported fields are accepted", in: pod(
		"    terminationMessagePath: /dev/termination-log",
		"    terminationMessagePolicy: File",
		"  schedulerName: default-scheduler",
		"  enableServiceLinks: false",
		"  securityContext: {}",
	)},
	{name: "terminationMessagePath elsewhere", in: pod("    terminationMessagePath: /tmp/log")},
	{name: "non-default schedulerName", in: pod("  schedulerName: mine"), check: func(t *testing.T, p *Pod) {
		if p.Spec.SchedulerName != "mine" {
			t.Errorf("schedulerName %q", p.Spec.SchedulerName)
		}
	}},
	{name: "empty unsupported fields count as absent", in: pod(
		"    resources: {limits: {}}",
		"    ports: []",
		"  nodeSelector: {}",
		"  tolerations: []",
		"  serviceAccountName: ''",
		"  affinity: null",
	)},
	// Init containers, sidecars, probes, hooks, ports (kubelet rules: pkg/apis/core/validation).
	{name: "init container, sidecar, probes, hooks and ports", in: pod(
		"    ports: [{name: http, containerPort: 8080}, {containerPort: 9090, protocol: UDP}]",
		"    livenessProbe: {httpGet: {port: http, httpHeaders: [{name: X-A, value: b}]}, periodSeconds: 5}",
		"    readinessProbe: {tcpSocket: {port: 8080}}",
		"    startupProbe: {exec: {command: [cat, /ready]}, failureThreshold: 30}",
		"    lifecycle: {postStart: {exec: {command: [touch, /x]}}, preStop: {sleep: {seconds: 2}}}",
		"    terminationMessagePolicy: FallbackToLogsOnError",
		"  initContainers:",
		"  - {name: setup, image: busybox, command: ['true']}",
		"  - {name: proxy, image: busybox, restartPolicy: Always, readinessProbe: {grpc: {port: 9000}}}",
		"  activeDeadlineSeconds: 60",
	), check: func(t *testing.T, p *Pod) {
		c := p.Spec.Containers[0]
		if c.Ports[0].Protocol != ProtocolTCP || c.Ports[1].Protocol != ProtocolUDP {
			t.Errorf("port protocols %+v", c.Ports)
		}
		if l := c.LivenessProbe; l.PeriodSeconds != 5 || l.TimeoutSeconds != 1 || l.SuccessThreshold != 1 || l.FailureThreshold != 3 ||
			l.HTTPGet.Path != "/" || l.HTTPGet.Scheme != URISchemeHTTP || l.HTTPGet.Port.StrVal != "http" {
			t.Errorf("liveness probe defaults: %+v %+v", l, l.HTTPGet)
		}
		if c.ReadinessProbe.PeriodSeconds != 10 || c.StartupProbe.FailureThreshold != 30 {
			t.Errorf("probe defaults: %+v %+v", c.ReadinessProbe, c.StartupProbe)
		}
		if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != TerminationMessageFallbackToLogsOnError {
			t.Errorf("termination message: %q %q", c.TerminationMessagePath, c.TerminationMessagePolicy)
		}
		ic := p.Spec.InitContainers
		if len(ic) != 2 || ic[0].IsSidecar() || !ic[1].IsSidecar() || ic[1].ImagePullPolicy != PullAlways || ic[0].TerminationMessagePolicy != TerminationMessageReadFile {
			t.Errorf("init containers %+v", ic)
		}
		if *p.Spec.ActiveDeadlineSeconds != 60 {
			t.Errorf("activeDeadlineSeconds %v", *p.Spec.ActiveDeadlineSeconds)
		}
	}},
	{name: "init container rules", in: pod(
		"  - {name: setup, image: b}",
		"  initContainers:",
		"  - {name: setup, image: b, restartPolicy: Never, livenessProbe: {exec: {command: [x]}}, lifecycle: {preStop: {exec: {command: [x]}}}}",
		"  - {name: side, image: b, restartPolicy: Always, livenessProbe: {exec: {command: [x]}}}",
	), want: []string{
		`spec.initContainers[0].restartPolicy: Unsupported value: "Never": supported values: "Always"`,
		`spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always`,
		`spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`,
		`spec.containers[1].name: Duplicate value: "setup"`,
	}},
	{name: "restartPolicy on a regular container", in: pod("    restartPolicy: Always"),
		want: []string{"spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"}},
	{name: "port rules", in: pod("    ports: [{containerPort: 0}, {name: Http, containerPort: 70000}, {name: a, containerPort: 1}, {name: a, containerPort: 2, protocol: ICMP}, {containerPort: 3, hostPort: 80800}]"),
		want: []string{
			"spec.containers[0].ports[0].containerPort: Required value",
			`spec.containers[0].ports[1].name: Invalid value: "Http"`,
			"spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			`spec.containers[0].ports[3].name: Duplicate value: "a"`,
			`spec.containers[0].ports[3].protocol: Unsupported value: "ICMP"`,
			"spec.containers[0].ports[4].hostPort: Invalid value: 80800: must be between 1 and 65535, inclusive",
		}},
	{name: "probe rules", in: pod(
		"    livenessProbe: {exec: {command: [x]}, httpGet: {port: 80}, successThreshold: 2, periodSeconds: -1}",
		"    readinessProbe: {terminationGracePeriodSeconds: 5, tcpSocket: {port: 0}}",
		"    startupProbe: {httpGet: {port: not_a_name, scheme: FTP, httpHeaders: [{name: 'a b', value: x}]}}",
	), want: []string{
		"spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
		"spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
		"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
		"spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: 0",
		`spec.containers[0].startupProbe.httpGet.port: Invalid value: "not_a_name"`,
		`spec.containers[0].startupProbe.httpGet.scheme: Unsupported value: "FTP"`,
		`spec.containers[0].startupProbe.httpGet.httpHeaders[0].name: Invalid value: "a b"`,
		"spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes",
	}},
	{name: "probe without a handler", in: pod("    readinessProbe: {periodSeconds: 3}"),
		want: []string{"spec.containers[0].readinessProbe: Required value: must specify a handler type"}},
	{name: "hook rules", in: pod(
		"    lifecycle: {postStart: {exec: {command: []}}, preStop: {sleep: {seconds: 31}}}",
	), want: []string{
		"spec.containers[0].lifecycle.postStart.exec.command: Required value",
		"spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: 31: must be non-negative and less than terminationGracePeriodSeconds (30)",
	}},
	{name: "activeDeadlineSeconds zero", in: pod("  activeDeadlineSeconds: 0"),
		want: []string{"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"}},
	{name: "relative terminationMessagePath", in: pod("    terminationMessagePath: log", "    terminationMessagePolicy: Sometimes"),
		want: []string{
			`spec.containers[0].terminationMessagePolicy: Unsupported value: "Sometimes"`,
			`spec.containers[0].terminationMessagePath: Invalid value: "log": must be an absolute path`,
		}},
	{name: "every supported field", in: `apiVersion: v1
kind: Pod
metadata:
  name: web.example
  namespace: prod
  uid: 0b6c3f4e-1111-2222-3333-444455556666
  labels: {app.kubernetes.io/name: web, tier: ""}
  annotations: {Example.com/Note: "any text at all"}
  creationTimestamp: "2024-05-06T07:08:09Z"
spec:
  hostname: web-1
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 0
  volumes:
  - name: data
    hostPath: {path: /srv/data, type: DirectoryOrCreate}
  - name: scratch
    emptyDir: {}
  - name: shm
    emptyDir: {medium: Memory, sizeLimit: 64Mi}
  containers:
  - name: app
    image: oci-archive:/images/app.tar
    command: [/bin/app]
    args: [--serve]
    workingDir: /work
    imagePullPolicy: Never
    env:
    - {name: MODE, value: prod}
    - {name: EMPTY}
    - {name: my.dotted-name}
    volumeMounts:
    - {name: data, mountPath: /data, readOnly: true, subPath: app/sub}
    - {name: scratch, mountPath: /tmp}
    - {name: shm, mountPath: /dev/shm}
`, check: func(t *testing.T, p *Pod) {
		s, c := p.Spec, p.Spec.Containers[0]
		if p.Metadata.Namespace != "prod" || p.Metadata.UID == "" || p.Metadata.CreationTimestamp.Year() != 2024 ||
			p.Metadata.Annotations["Example.com/Note"] == "" || s.Hostname != "web-1" ||
			s.RestartPolicy != RestartPolicyOnFailure || *s.TerminationGracePeriodSeconds != 0 {
			t.Errorf("decoded %+v", p)
		}
		if *s.Volumes[0].HostPath.Type != HostPathDirectoryOrCreate || s.Volumes[1].EmptyDir == nil ||
			s.Volumes[2].EmptyDir.SizeLimit.String() != "64Mi" || s.Volumes[2].EmptyDir.Medium != StorageMediumMemory {
			t.Errorf("volumes %+v", s.Volumes)
		}
		if c.WorkingDir != "/work" || c.ImagePullPolicy != PullNever || len(c.Env) != 3 || c.Env[0].Value != "prod" ||
			!c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].SubPath != "app/sub" {
			t.Errorf("container %+v", c)
		}
	}},
	{name: "defaults", in: pod(
		"  - name: latest",
		"    image: registry.local:5000/app",
		"  - name: pinned",
		"    image: registry.local:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"  - name: local",
		"    image: rootfs:/srv/rootfs",
		"  - name: explicit",
		"    image: nginx",
		"    imagePullPolicy: Never",
		"  volumes: [{name: h, hostPath: {path: /h}}]",
	), check: func(t *testing.T, p *Pod) {
		if p.Metadata.Namespace != "default" || p.Spec.RestartPolicy != RestartPolicyAlways ||
			*p.Spec.TerminationGracePeriodSeconds != 30 || p.Spec.Volumes[0].HostPath.Type != nil {
			t.Errorf("defaults %+v", p)
		}
		want := []PullPolicy{PullIfNotPresent, PullAlways, PullIfNotPresent, PullIfNotPresent, PullNever}
		for i, c := range p.Spec.Containers {
			if c.ImagePullPolicy != want[i] {
				t.Errorf("%s: imagePullPolicy %q, want %q", c.Image, c.ImagePullPolicy, want[i])
			}
		}
	}},
	{name: "status and output-only metadata are ignored", in: pod(
		"status:",
		"  phase: Running",
		"  qosClass: BestEffort",
		"  anything: [1, 2]",
	) + "", check: func(t *testing.T, p *Pod) {
		if !reflect.DeepEqual(p.Status, PodStatus{}) {
			t.Errorf("status %+v", p.Status)
		}
	}},
	{name: "deletionTimestamp is cleared",
		in: strings.Replace(pod(), "  name: web\n", "  name: web\n  deletionTimestamp: \"2024-01-01T00:00:00Z\"\n", 1),
		check: func(t *testing.T, p *Pod) {
			if p.Metadata.DeletionTimestamp != nil {
				t.Error("deletionTimestamp kept")
			}
		}},
	{name: "document markers around one document", in: "# comment\n---\n" + pod() + "---\n"},

	// Unknown and unsupported fields.
	{name: "unknown vs unsupported", in: pod(
		"    volumeDevices: [{name: v, devicePath: /dev/v}]",
		"    imagePullPolcy: Always",
		"  - name: b",
		"    image: b",
		"    Image: c",
		"  contaners: []",
		"  resourceClaims: [{name: x}]",
		"  volumes: [{name: cm, nfs: {server: x, path: /x}}]",
		"extra: 1",
	), want: []string{
		`extra: unknown field "extra" (not a Kubernetes Pod field)`,
		`spec.containers[0].imagePullPolcy: unknown field "imagePullPolcy"`,
		`spec.containers[0].volumeDevices: not supported yet`,
		`spec.containers[1].Image: unknown field "Image"`,
		`spec.contaners: unknown field "contaners"`,
		`spec.resourceClaims: not supported yet`,
		`spec.volumes[0].nfs: not supported yet`,
		`spec.volumes[0]: Required value: must specify a volume type`,
	}},
	{name: "unsupported metadata", in: strings.Replace(pod(), "  name: web\n", "  name: web\n  generateName: web-\n  ownerReferences: [{name: x}]\n", 1),
		want: []string{"metadata.generateName: not supported yet", "metadata.ownerReferences: not supported yet"}},

	// Not a Pod, or not one document.
	{name: "empty", in: "", want: []string{"empty manifest"}},
	{name: "blank", in: " \n\t\n", want: []string{"empty manifest"}},
	{name: "comments only", in: "# nothing\n---\n# here\n", want: []string{"empty manifest"}},
	{name: "yaml list", in: "- " + strings.ReplaceAll(strings.TrimSpace(pod()), "\n", "\n  "), want: []string{"manifest is a list, expected a Pod object"}},
	{name: "json list", in: `[{"apiVersion":"v1","kind":"Pod"}]`, want: []string{"manifest is a list"}},
	{name: "scalar", in: "hello", want: []string{"manifest is a string"}},
	{name: "garbage", in: "{{{ :", want: []string{"yaml"}},
	{name: "bad separator", in: pod() + "--- x\n", want: []string{"invalid Yaml document separator"}},
	{name: "two documents", in: pod() + "---\n" + pod(), want: []string{"more than one YAML document"}},
	{name: "duplicate key", in: pod("  restartPolicy: Never", "  restartPolicy: Always"), want: []string{`"restartPolicy" already set`}},
	{name: "kind List", in: `{"apiVersion":"v1","kind":"List","items":[]}`,
		want: []string{`kind: Unsupported value: "List": supported values: "Pod"`}},
	{name: "wrong apiVersion", in: strings.Replace(pod(), "apiVersion: v1", "apiVersion: apps/v1", 1),
		want: []string{`apiVersion: Unsupported value: "apps/v1": supported values: "v1"`}},
	{name: "missing apiVersion and kind", in: "metadata: {name: x}\n",
		want: []string{"apiVersion: Required value", "kind: Required value"}},
	{name: "kind not a string", in: "apiVersion: v1\nkind: [Pod]\n", want: []string{"kind: Invalid value: must be a string, not a list"}},

	// Ill-typed values.
	{name: "types", in: pod(
		"    env: [{name: PORT, value: 8080}]",
		"  - name: [b]",
		"    image: b",
		"    command: [sh, 1]",
		"  terminationGracePeriodSeconds: 1.5",
		"  volumes: [{name: v, emptyDir: {sizeLimit: lots}}, {name: w, hostPath: \"/x\"}]",
	), want: []string{
		`spec.containers[0].env[0].value: Invalid value: 8080: must be a string, not a number`,
		`spec.containers[1].command[1]: Invalid value: 1: must be a string, not a number`,
		`spec.containers[1].name: Invalid value: must be a string, not a list`,
		`spec.terminationGracePeriodSeconds: Invalid value: 1.5: must be an integer`,
		`spec.volumes[0].emptyDir.sizeLimit: Invalid value: "lots": quantities must match`,
		`spec.volumes[1].hostPath: Invalid value: "/x": must be an object, not a string`,
	}},
	{name: "label value not a string", in: strings.Replace(pod(), "  name: web\n", "  name: web\n  labels: {replicas: 3}\n  creationTimestamp: yesterday\n", 1),
		want: []string{`metadata.creationTimestamp: Invalid value: "yesterday"`, `metadata.labels[replicas]: Invalid value: 3: must be a string`}},
	{name: "containers not a list", in: "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: {name: a}}\n",
		want: []string{"spec.containers: Invalid value: must be a list, not an object"}},
	{name: "integer overflow", in: pod("  terminationGracePeriodSeconds: 99999999999999999999"),
		want: []string{"must fit in 64 bits"}},

	// Validation.
	{name: "metadata", in: `apiVersion: v1
kind: Pod
metadata:
  namespace: Prod_1
  labels: {"a/b/c": x, ok: "-bad-"}
  annotations: {"bad key": x}
spec:
  containers: [{name: a, image: b}]
`, want: []string{
		"metadata.name: Required value: name or generateName is required",
		`metadata.namespace: Invalid value: "Prod_1": a lowercase RFC 1123 label`,
		`metadata.labels: Invalid value: "a/b/c": a valid label key`,
		`metadata.labels: Invalid value: "-bad-": a valid label must be an empty string or consist of`,
		`metadata.annotations: Invalid value: "bad key": name part must consist of`,
	}},
	{name: "bad pod name", in: strings.Replace(pod(), "name: web", "name: Web_1", 1),
		want: []string{`metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain`}},
	{name: "no containers", in: "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n",
		want: []string{"spec.containers: Required value"}},
	{name: "no spec", in: "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		want: []string{"spec.containers: Required value"}},
	{name: "containers", in: pod(
		"  - name: app",
		"    image: ' nginx'",
		"  - name: Bad_Name",
		"    imagePullPolicy: Sometimes",
		"    env: [{name: ''}, {name: 'A=B'}, {name: 'WEIRD NAME-1.x'}]",
	), want: []string{
		`spec.containers[1].name: Duplicate value: "app"`,
		`spec.containers[1].image: Invalid value: " nginx": must not have leading or trailing whitespace`,
		`spec.containers[2].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label`,
		`spec.containers[2].image: Required value`,
		`spec.containers[2].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`,
		`spec.containers[2].env[0].name: Required value`,
		`spec.containers[2].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
	}},
	{name: "volumes", in: pod(
		"  volumes:",
		"  - {name: a, emptyDir: {}}",
		"  - {name: a, emptyDir: {}}",
		"  - {name: B, emptyDir: {medium: Disk, sizeLimit: -1Gi}}",
		"  - {name: c}",
		"  - {name: d, emptyDir: {}, hostPath: {path: /x}}",
		"  - {hostPath: {path: '', type: Folder}}",
		"  - {name: e, hostPath: {path: /x/../etc}}",
		"  - {name: f, hostPath: {path: relative/ok, type: ''}}",
	), want: []string{
		`spec.volumes[1].name: Duplicate value: "a"`,
		`spec.volumes[2].name: Invalid value: "B"`,
		`spec.volumes[2].emptyDir.medium: Unsupported value: "Disk": supported values: "", "Memory"`,
		`spec.volumes[2].emptyDir.sizeLimit: Forbidden`,
		`spec.volumes[3]: Required value: must specify a volume type`,
		`spec.volumes[4].hostPath: Forbidden: may not specify more than 1 volume type`,
		`spec.volumes[5].name: Required value`,
		`spec.volumes[5].hostPath.path: Required value`,
		`spec.volumes[5].hostPath.type: Unsupported value: "Folder"`,
		`spec.volumes[6].hostPath.path: Invalid value: "/x/../etc": must not contain '..'`,
	}},
	{name: "volume mounts", in: pod(
		"    volumeMounts:",
		"    - {name: v, mountPath: /a}",
		"    - {name: v, mountPath: /a}",
		"    - {name: nope, mountPath: rel}",
		"    - {name: v, mountPath: ''}",
		"    - {name: '', mountPath: /b, subPath: /abs}",
		"    - {name: v, mountPath: /c, subPath: a/../../b}",
		"  volumes: [{name: v, emptyDir: {}}]",
	), want: []string{
		`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/a": must be unique`,
		`spec.containers[0].volumeMounts[2].name: Not found: "nope"`,
		`spec.containers[0].volumeMounts[2].mountPath: Invalid value: "rel": must be an absolute path`,
		`spec.containers[0].volumeMounts[3].mountPath: Required value`,
		`spec.containers[0].volumeMounts[4].name: Required value`,
		`spec.containers[0].volumeMounts[4].subPath: Invalid value: "/abs": must be a relative path`,
		`spec.containers[0].volumeMounts[5].subPath: Invalid value: "a/../../b": must not contain '..'`,
	}},
	{name: "spec", in: pod(
		"  restartPolicy: Sometimes",
		"  terminationGracePeriodSeconds: -1",
		"  hostname: my_host",
	), want: []string{
		`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
		`spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0`,
		`spec.hostname: Invalid value: "my_host": a lowercase RFC 1123 label`,
	}},
	{name: "unsupported and invalid together", in: pod("    volumeDevices: [{name: d, devicePath: /dev/xvda}]", "  restartPolicy: Sometimes"),
		want: []string{"spec.containers[0].volumeDevices: not supported yet", `spec.restartPolicy: Unsupported value: "Sometimes"`}},
}

func TestLoad(t *testing.T) {
	for _, tc := range loadCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load([]byte(tc.in))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if err := Validate(p); err != nil {
					t.Fatalf("Validate after Load: %v", err)
				}
				if tc.check != nil {
					tc.check(t, p)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want errors %q", tc.want)
			}
			if p != nil {
				t.Error("Load returned a Pod and an error")
			}
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T is not an *InvalidError: %v", err, err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(ie.Errs) {
				t.Errorf("%d lines for %d errors", len(lines), len(ie.Errs))
			}
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

func TestDefaultPullPolicy(t *testing.T) {
	for image, want := range map[string]PullPolicy{
		"nginx":                        PullAlways,
		"nginx:latest":                 PullAlways,
		"docker.io/library/nginx":      PullAlways,
		"localhost:5000/nginx":         PullAlways,
		"localhost:5000/nginx:1.25":    PullIfNotPresent,
		"nginx:1.25":                   PullIfNotPresent,
		"nginx@sha256:abc":             PullIfNotPresent,
		"nginx:latest@sha256:abc":      PullAlways, // Kubernetes looks at the tag alone
		"rootfs:/srv/rootfs":           PullIfNotPresent,
		"oci:/srv/layout":              PullIfNotPresent,
		"oci:/srv/layout:latest":       PullIfNotPresent,
		"oci-archive:/tmp/image.tar":   PullIfNotPresent,
		"docker-archive:/tmp/save.tar": PullIfNotPresent,
	} {
		if got := defaultPullPolicy(image); got != want {
			t.Errorf("defaultPullPolicy(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestValidateNilOnSuccess(t *testing.T) {
	p := &Pod{Metadata: ObjectMeta{Name: "x"}, Spec: PodSpec{Containers: []Container{{Name: "c", Image: "i"}}}}
	SetDefaults(p)
	if err := Validate(p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Containers = nil
	var ie *InvalidError
	if err := Validate(p); !errors.As(err, &ie) || len(ie.Errs) != 1 || ie.Errs[0].Field != "spec.containers" {
		t.Fatalf("Validate without containers: %#v", err)
	}
}

func FuzzLoad(f *testing.F) {
	for _, tc := range loadCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load(data)
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) || len(ie.Errs) == 0 || p != nil {
				t.Fatalf("Load error %T %v with pod %v", err, err, p)
			}
			return
		}
		if err := Validate(p); err != nil {
			t.Fatalf("Load accepted a Pod that Validate rejects: %v", err)
		}
		// What Load accepts, re-encoded, loads again to the same Pod.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := Load(b)
		if err != nil {
			t.Fatalf("reloading %s: %v", b, err)
		}
		b2, _ := json.Marshal(p2)
		if string(b) != string(b2) {
			t.Fatalf("round trip changed the Pod:\n%s\n%s", b, b2)
		}
	})
}
