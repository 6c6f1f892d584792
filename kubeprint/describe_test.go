package kubeprint

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/minipod/minipod/api"
)

func tm(s string) api.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return api.Time{Time: t}
}

func ev(at time.Time, typ, reason, container, msg string) api.Event {
	e := api.Event{Time: api.MicroTime{Time: at}, Type: typ, Reason: reason, Message: msg, Container: container}
	if container != "" {
		e.FieldPath = "spec.containers{" + container + "}"
	}
	return e
}

// A pod with everything describe shows, against kubectl's layout line by line.
func TestDescribe(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	start := tm("2026-11-30T11:58:00Z")
	grace := int64(30)
	hostPathType := api.HostPathDirectoryOrCreate
	size := resource.MustParse("64Mi")
	started := true
	p := &api.Pod{
		APIVersion: "v1", Kind: "Pod",
		Metadata: api.ObjectMeta{
			Name: "web", Namespace: "default", UID: "u",
			Labels:      map[string]string{"tier": "front", "app": "web"},
			Annotations: map[string]string{"note": "hello", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
		},
		Spec: api.PodSpec{
			InitContainers: []api.Container{{Name: "setup", Image: "busybox", Command: []string{"sh", "-c", "echo one\necho two"}}},
			Containers: []api.Container{
				{
					Name: "httpd", Image: "busybox:1.36", Args: []string{"httpd", "-f"},
					Ports: []api.ContainerPort{{ContainerPort: 8080, Protocol: api.ProtocolTCP}},
					Env:   []api.EnvVar{{Name: "MODE", Value: "prod"}},
					LivenessProbe: &api.Probe{
						ProbeHandler:        api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080), Scheme: api.URISchemeHTTP}},
						InitialDelaySeconds: 3, TimeoutSeconds: 1, PeriodSeconds: 3, SuccessThreshold: 1, FailureThreshold: 3,
					},
					ReadinessProbe: &api.Probe{
						ProbeHandler:   api.ProbeHandler{TCPSocket: &api.TCPSocketAction{Port: intstr.FromString("http")}},
						TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
					},
					VolumeMounts: []api.VolumeMount{{Name: "data", MountPath: "/var/www"}, {Name: "host", MountPath: "/etc/conf", ReadOnly: true, SubPath: "app"}},
				},
				{
					Name: "sidecar", Image: "busybox",
					Ports: []api.ContainerPort{{ContainerPort: 53, Protocol: api.ProtocolUDP}, {ContainerPort: 53, HostPort: 5353, Protocol: api.ProtocolTCP}},
				},
			},
			Volumes: []api.Volume{
				{Name: "data", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory, SizeLimit: &size}},
				{Name: "host", HostPath: &api.HostPathVolumeSource{Path: "/srv/conf", Type: &hostPathType}},
			},
			TerminationGracePeriodSeconds: &grace,
		},
		Status: api.PodStatus{
			Phase: api.PodRunning, HostIP: "10.66.0.1", PodIP: "10.66.0.7", PodIPs: []api.PodIP{{IP: "10.66.0.7"}},
			StartTime: &start,
			Conditions: []api.PodCondition{
				{Type: api.PodInitialized, Status: api.ConditionTrue},
				{Type: api.PodReady, Status: api.ConditionFalse},
			},
			InitContainerStatuses: []api.ContainerStatus{{
				Name: "setup", Ready: true, Image: "docker.io/library/busybox:latest", ImageID: "sha256:aaa", ContainerID: "minipod://u-setup-0",
				State: api.ContainerState{Terminated: &api.ContainerStateTerminated{Reason: "Completed", StartedAt: tm("2026-11-30T11:58:01Z"), FinishedAt: tm("2026-11-30T11:58:02Z")}},
			}},
			ContainerStatuses: []api.ContainerStatus{
				{
					Name: "httpd", Ready: true, Started: &started, RestartCount: 2, Image: "docker.io/library/busybox:1.36", ImageID: "sha256:bbb", ContainerID: "minipod://u-httpd-2",
					State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: tm("2026-11-30T11:59:00Z")}},
					LastState: api.ContainerState{Terminated: &api.ContainerStateTerminated{
						ExitCode: 137, Signal: 9, Reason: "Error", Message: "killed", StartedAt: tm("2026-11-30T11:58:30Z"), FinishedAt: tm("2026-11-30T11:58:59Z"),
					}},
				},
				{Name: "sidecar", Image: "busybox", State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off"}}},
			},
		},
	}
	events := []api.Event{
		ev(now.Add(-2*time.Minute), api.EventNormal, "Pulled", "httpd", "Container image \"busybox:1.36\" already present on machine"),
		ev(now.Add(-100*time.Second), api.EventWarning, "BackOff", "sidecar", "Back-off restarting failed container sidecar in pod web_default(u)"),
		ev(now.Add(-90*time.Second), api.EventNormal, "Started", "httpd", "Started container httpd  "),
		ev(now.Add(-10*time.Second), api.EventWarning, "BackOff", "sidecar", "Back-off restarting failed container sidecar in pod web_default(u)"),
	}
	var buf bytes.Buffer
	if err := Describe(&buf, p, events, DescribeOptions{Node: "host1", Now: now, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	want := `Name:         web
Namespace:    default
Node:         host1/10.66.0.1
Start Time:   Mon, 30 Nov 2026 11:58:00 +0000
Labels:       app=web
              tier=front
Annotations:  note: hello
Status:       Running
IP:           10.66.0.7
IPs:
  IP:  10.66.0.7
Init Containers:
  setup:
    Container ID:  minipod://u-setup-0
    Image:         busybox
    Image ID:      sha256:aaa
    Port:          <none>
    Host Port:     <none>
    Command:
      sh
      -c
      echo one
      echo two
    State:          Terminated
      Reason:       Completed
      Exit Code:    0
      Started:      Mon, 30 Nov 2026 11:58:01 +0000
      Finished:     Mon, 30 Nov 2026 11:58:02 +0000
    Ready:          True
    Restart Count:  0
    Environment:    <none>
    Mounts:         <none>
Containers:
  httpd:
    Container ID:  minipod://u-httpd-2
    Image:         busybox:1.36
    Image ID:      sha256:bbb
    Port:          8080/TCP
    Host Port:     0/TCP
    Args:
      httpd
      -f
    State:          Running
      Started:      Mon, 30 Nov 2026 11:59:00 +0000
    Last State:     Terminated
      Reason:       Error
      Message:      killed
      Exit Code:    137
      Signal:       9
      Started:      Mon, 30 Nov 2026 11:58:30 +0000
      Finished:     Mon, 30 Nov 2026 11:58:59 +0000
    Ready:          True
    Restart Count:  2
    Liveness:       http-get http://:8080/healthz delay=3s timeout=1s period=3s #success=1 #failure=3
    Readiness:      tcp-socket :http delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:
      MODE:  prod
    Mounts:
      /etc/conf from host (ro,path="app")
      /var/www from data (rw)
  sidecar:
    Container ID:   
    Image:          busybox
    Image ID:       
    Ports:          53/UDP, 53/TCP
    Host Ports:     0/UDP, 5353/TCP
    State:          Waiting
      Reason:       CrashLoopBackOff
    Ready:          False
    Restart Count:  0
    Environment:    <none>
    Mounts:         <none>
Conditions:
  Type          Status
  Initialized   True 
  Ready         False 
Volumes:
  data:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     Memory
    SizeLimit:  64Mi
  host:
    Type:          HostPath (bare host directory volume)
    Path:          /srv/conf
    HostPathType:  DirectoryOrCreate
QoS Class:         BestEffort
Node-Selectors:    <none>
Tolerations:       <none>
Events:
  Type     Reason   Age                 From     Message
  ----     ------   ----                ----     -------
  Normal   Pulled   2m                  kubelet  Container image "busybox:1.36" already present on machine
  Normal   Started  90s                 kubelet  Started container httpd
  Warning  BackOff  10s (x2 over 100s)  kubelet  Back-off restarting failed container sidecar in pod web_default(u)
`
	if got := buf.String(); got != want {
		t.Errorf("describe:\n%s\nwant:\n%s\ndiff at line: %s", got, want, firstDiff(got, want))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return strings.Join([]string{"got  " + al[i], "want " + bl[i]}, "\n")
		}
	}
	return "(lengths differ)"
}

func TestDescribeTerminatingAndEmpty(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	del := api.Time{Time: now.Add(20 * time.Second)}
	p := &api.Pod{
		Metadata: api.ObjectMeta{Name: "x", Namespace: "ns1", DeletionTimestamp: &del},
		Spec:     api.PodSpec{Containers: []api.Container{{Name: "c", Image: "img"}}},
		Status:   api.PodStatus{Phase: api.PodRunning, Reason: "Why", Message: "because\x1b[31m"},
	}
	var buf bytes.Buffer
	g := int64(5)
	if err := Describe(&buf, p, nil, DescribeOptions{Now: now, Location: time.UTC, GracePeriodSeconds: &g}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Alignment aside (TestDescribe checks it).
	var norm []string
	for _, l := range strings.Split(out, "\n") {
		norm = append(norm, strings.Join(strings.Fields(l), " "))
	}
	flat := strings.Join(norm, "\n")
	for _, want := range []string{
		"Node: <none>\n",
		"Status: Terminating (lasts <invalid>)\nTermination Grace Period: 5s\n",
		"Reason: Why\n",
		"Message: because^[[31m\n", // escaped
		"IPs: <none>\n",
		"c:\nImage: img\nPort: <none>\nHost Port: <none>\nEnvironment: <none>\nMounts: <none>\n",
		"Volumes: <none>\n",
		"QoS Class: BestEffort\n",
		"Events: <none>\n",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Start Time") || strings.Contains(out, "Container ID") || strings.Contains(out, "\x1b") {
		t.Errorf("describe shows what it should not:\n%s", out)
	}
}

func TestDescribeProbe(t *testing.T) {
	svc := "health"
	attrs := " delay=1s timeout=2s period=3s #success=4 #failure=5"
	base := api.Probe{InitialDelaySeconds: 1, TimeoutSeconds: 2, PeriodSeconds: 3, SuccessThreshold: 4, FailureThreshold: 5}
	tests := []struct {
		h    api.ProbeHandler
		want string
	}{
		{api.ProbeHandler{Exec: &api.ExecAction{Command: []string{"cat", "/tmp/ok"}}}, "exec [cat /tmp/ok]" + attrs},
		{api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, "http-get //:8080/healthz" + attrs},
		{api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Path: "/", Port: intstr.FromString("web"), Host: "10.0.0.1", Scheme: api.URISchemeHTTPS}}, "http-get https://10.0.0.1:web/" + attrs},
		{api.ProbeHandler{TCPSocket: &api.TCPSocketAction{Port: intstr.FromInt32(5432)}}, "tcp-socket :5432" + attrs},
		{api.ProbeHandler{GRPC: &api.GRPCAction{Port: 9090, Service: &svc}}, "grpc <pod>:9090 health" + attrs},
		{api.ProbeHandler{GRPC: &api.GRPCAction{Port: 9090}}, "grpc <pod>:9090 " + attrs},
		{api.ProbeHandler{}, "unknown" + attrs},
	}
	for _, tt := range tests {
		p := base
		p.ProbeHandler = tt.h
		if got := DescribeProbe(&p); got != tt.want {
			t.Errorf("DescribeProbe = %q, want %q", got, tt.want)
		}
	}
}

// Ephemeral containers come after the regular ones, in describeContainers' layout
// (describePod: "Ephemeral Containers:").
func TestDescribeEphemeral(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	p := &api.Pod{
		Metadata: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.PodSpec{
			Containers: []api.Container{{Name: "app", Image: "busybox"}},
			EphemeralContainers: []api.EphemeralContainer{{
				Container:           api.Container{Name: "debugger-x2b4k", Image: "busybox:1.36", Command: []string{"sh"}, Stdin: true, TTY: true},
				TargetContainerName: "app",
			}},
		},
		Status: api.PodStatus{
			Phase: api.PodRunning,
			ContainerStatuses: []api.ContainerStatus{{Name: "app", Ready: true, Image: "busybox", ContainerID: "minipod://u-app-0",
				State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: tm("2026-11-30T11:58:00Z")}}}},
			EphemeralContainerStatuses: []api.ContainerStatus{{Name: "debugger-x2b4k", Image: "docker.io/library/busybox:1.36", ImageID: "sha256:ccc",
				ContainerID: "minipod://u-debugger-x2b4k-0",
				State:       api.ContainerState{Terminated: &api.ContainerStateTerminated{ExitCode: 3, Reason: "Error", StartedAt: tm("2026-11-30T11:59:00Z"), FinishedAt: tm("2026-11-30T11:59:30Z")}}}},
		},
	}
	var buf bytes.Buffer
	if err := Describe(&buf, p, nil, DescribeOptions{Now: now, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	want := `Ephemeral Containers:
  debugger-x2b4k:
    Container ID:  minipod://u-debugger-x2b4k-0
    Image:         busybox:1.36
    Image ID:      sha256:ccc
    Port:          <none>
    Host Port:     <none>
    Command:
      sh
    State:          Terminated
      Reason:       Error
      Exit Code:    3
      Started:      Mon, 30 Nov 2026 11:59:00 +0000
      Finished:     Mon, 30 Nov 2026 11:59:30 +0000
    Ready:          False
    Restart Count:  0
    Environment:    <none>
    Mounts:         <none>
Volumes:`
	out := buf.String()
	if !strings.Contains(out, want) {
		t.Errorf("describe:\n%s\nwant a section\n%s", out, want)
	}
	if strings.Index(out, "Containers:\n  app:") > strings.Index(out, "Ephemeral Containers:") {
		t.Error("ephemeral containers before the regular ones")
	}
}
