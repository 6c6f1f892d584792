package kubeprint

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minipod/minipod/api"
)

// DescribeOptions is what `describe pod` shows besides the pod and its events.
type DescribeOptions struct {
	// Node is the name of the host the pod runs on.
	Node string
	// Now is the time ages are computed from; Location the zone times are shown in (kubectl
	// shows them in the local zone).
	Now      time.Time
	Location *time.Location
	// GracePeriodSeconds is the grace period of the deletion under way, if known; a pod being
	// deleted shows the pod's terminationGracePeriodSeconds otherwise.
	GracePeriodSeconds *int64
}

// Describe writes `kubectl describe pod` for p and its events, in the layout of kubectl's
// describePod (k8s.io/kubectl pkg/describe/describe.go): the pod's identity and status, each
// init and regular container with its states and probes, conditions, volumes, QoS class and
// the events table. Fields Kubernetes has and minipod does not (priority, service account,
// resources, node selectors, tolerations) are left out or shown as <none> as kubectl does
// for a pod without them.
func Describe(out io.Writer, p *api.Pod, events []api.Event, o DescribeOptions) error {
	if o.Location == nil {
		o.Location = time.Local
	}
	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0) // kubectl's tabbedString
	w := &prefixWriter{w: tw}
	d := &describer{w: w, o: o, p: p}
	d.pod(p)
	d.events(events, tw)
	if w.err != nil {
		return w.err
	}
	return tw.Flush()
}

// prefixWriter is kubectl's PrefixWriter: each level indents by two spaces, and what could
// drive a terminal is escaped.
type prefixWriter struct {
	w   io.Writer
	err error
}

func (pw *prefixWriter) write(level int, format string, args ...any) {
	if pw.err != nil {
		return
	}
	s := strings.Repeat("  ", level) + fmt.Sprintf(format, args...)
	_, pw.err = io.WriteString(pw.w, EscapeTerminal(s))
}

type describer struct {
	w *prefixWriter
	o DescribeOptions
	p *api.Pod // the pod described
}

func (d *describer) time(t time.Time) string {
	return t.In(d.o.Location).Format(time.RFC1123Z)
}

func (d *describer) pod(p *api.Pod) {
	w := d.w
	w.write(0, "Name:\t%s\n", p.Metadata.Name)
	w.write(0, "Namespace:\t%s\n", p.Metadata.Namespace)
	if d.o.Node == "" {
		w.write(0, "Node:\t<none>\n")
	} else {
		w.write(0, "Node:\t%s\n", d.o.Node+"/"+p.Status.HostIP)
	}
	if t := p.Status.StartTime; t != nil {
		w.write(0, "Start Time:\t%s\n", d.time(t.Time))
	}
	d.labels("Labels", p.Metadata.Labels)
	d.annotations("Annotations", p.Metadata.Annotations)
	if p.Metadata.DeletionTimestamp != nil && p.Status.Phase != api.PodFailed && p.Status.Phase != api.PodSucceeded {
		w.write(0, "Status:\tTerminating (lasts %s)\n", Since(p.Metadata.DeletionTimestamp.Time, d.o.Now))
		grace := int64(30)
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil {
			grace = *g
		}
		if g := d.o.GracePeriodSeconds; g != nil {
			grace = *g
		}
		w.write(0, "Termination Grace Period:\t%ds\n", grace)
	} else {
		w.write(0, "Status:\t%s\n", p.Status.Phase)
	}
	if p.Status.Reason != "" {
		w.write(0, "Reason:\t%s\n", p.Status.Reason)
	}
	if p.Status.Message != "" {
		w.write(0, "Message:\t%s\n", p.Status.Message)
	}
	w.write(0, "IP:\t%s\n", p.Status.PodIP)
	if len(p.Status.PodIPs) == 0 {
		w.write(0, "IPs:\t<none>\n")
	} else {
		w.write(0, "IPs:\n")
		for _, ip := range p.Status.PodIPs {
			w.write(1, "IP:\t%s\n", ip.IP)
		}
	}
	if len(p.Spec.InitContainers) > 0 {
		d.containers("Init Containers", p.Spec.InitContainers, p.Status.InitContainerStatuses)
	}
	d.containers("Containers", p.Spec.Containers, p.Status.ContainerStatuses)
	if len(p.Spec.EphemeralContainers) > 0 {
		var ec []api.Container
		for _, c := range p.Spec.EphemeralContainers {
			ec = append(ec, c.Container)
		}
		d.containers("Ephemeral Containers", ec, p.Status.EphemeralContainerStatuses)
	}
	if len(p.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\n")
		for _, c := range p.Status.Conditions {
			w.write(1, "%v \t%v \n", c.Type, c.Status)
		}
	}
	d.volumes(p.Spec.Volumes)
	// Without resource requests or limits every pod is BestEffort (qos.GetPodQOS).
	w.write(0, "QoS Class:\t%s\n", "BestEffort")
	d.labels("Node-Selectors", nil)
	w.write(0, "Tolerations:\t<none>\n")
}

// labels is printLabelsMultiline: sorted key=value lines aligned after the title.
func (d *describer) labels(title string, labels map[string]string) {
	d.w.write(0, "%s:\t", title)
	if len(labels) == 0 {
		d.w.write(0, "<none>\n")
		return
	}
	keys := sortedKeys(labels)
	for i, k := range keys {
		if i != 0 {
			d.w.write(0, "\t")
		}
		d.w.write(0, "%s=%s\n", k, labels[k])
	}
}

// maxAnnotationLen is kubectl's: longer annotations are shown on lines of their own.
const maxAnnotationLen = 140

// annotations is printAnnotationsMultiline.
func (d *describer) annotations(title string, annotations map[string]string) {
	d.w.write(0, "%s:\t", title)
	keys := sortedKeys(annotations)
	keys = slices.DeleteFunc(keys, func(k string) bool {
		return k == "kubectl.kubernetes.io/last-applied-configuration"
	})
	if len(keys) == 0 {
		d.w.write(0, "<none>\n")
		return
	}
	for i, k := range keys {
		if i != 0 {
			d.w.write(0, "\t")
		}
		v := strings.TrimSuffix(annotations[k], "\n")
		if len(v)+len(k)+2 > maxAnnotationLen || strings.Contains(v, "\n") {
			d.w.write(0, "%s:\n", k)
			for _, s := range strings.Split(v, "\n") {
				if len(s) > maxAnnotationLen-2 {
					s = s[:maxAnnotationLen-2] + "..."
				}
				d.w.write(0, "\t  %s\n", s)
			}
		} else {
			d.w.write(0, "%s: %s\n", k, v)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// containers is describeContainers.
func (d *describer) containers(label string, containers []api.Container, statuses []api.ContainerStatus) {
	w := d.w
	if len(containers) == 0 {
		w.write(0, "%s: <none>\n", label)
		return
	}
	w.write(0, "%s:\n", label)
	byName := map[string]api.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	for _, c := range containers {
		st, ok := byName[c.Name]
		w.write(1, "%v:\n", c.Name)
		if ok {
			w.write(2, "Container ID:\t%s\n", st.ContainerID)
		}
		w.write(2, "Image:\t%s\n", c.Image)
		if ok {
			w.write(2, "Image ID:\t%s\n", st.ImageID)
		}
		ports, hostPorts := containerPorts(c.Ports)
		if strings.Contains(ports, ",") {
			w.write(2, "Ports:\t%s\n", ports)
		} else {
			w.write(2, "Port:\t%s\n", orNone(ports))
		}
		if strings.Contains(hostPorts, ",") {
			w.write(2, "Host Ports:\t%s\n", hostPorts)
		} else {
			w.write(2, "Host Port:\t%s\n", orNone(hostPorts))
		}
		d.command("Command", c.Command)
		d.command("Args", c.Args)
		if ok {
			d.state("State", st.State)
			if st.LastState.Terminated != nil {
				d.state("Last State", st.LastState)
			}
			w.write(2, "Ready:\t%s\n", printBool(st.Ready))
			w.write(2, "Restart Count:\t%d\n", st.RestartCount)
		}
		for _, pr := range []struct {
			name  string
			probe *api.Probe
		}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
			if pr.probe != nil {
				w.write(2, "%s:\t%s\n", pr.name, DescribeProbe(pr.probe))
			}
		}
		d.env(&c)
		d.mounts(c.VolumeMounts)
	}
}

func (d *describer) command(title string, words []string) {
	if len(words) == 0 {
		return
	}
	d.w.write(2, "%s:\n", title)
	for _, c := range words {
		for _, s := range strings.Split(c, "\n") {
			d.w.write(3, "%s\n", s)
		}
	}
}

func containerPorts(ports []api.ContainerPort) (string, string) {
	var cp, hp []string
	for _, p := range ports {
		proto := p.Protocol
		if proto == "" {
			proto = api.ProtocolTCP
		}
		cp = append(cp, fmt.Sprintf("%d/%s", p.ContainerPort, proto))
		hp = append(hp, fmt.Sprintf("%d/%s", p.HostPort, proto))
	}
	return strings.Join(cp, ", "), strings.Join(hp, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func printBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// state is describeStatus.
func (d *describer) state(name string, s api.ContainerState) {
	w := d.w
	switch {
	case s.Running != nil:
		w.write(2, "%s:\tRunning\n", name)
		w.write(3, "Started:\t%v\n", d.time(s.Running.StartedAt.Time))
	case s.Waiting != nil:
		w.write(2, "%s:\tWaiting\n", name)
		if s.Waiting.Reason != "" {
			w.write(3, "Reason:\t%s\n", s.Waiting.Reason)
		}
	case s.Terminated != nil:
		t := s.Terminated
		w.write(2, "%s:\tTerminated\n", name)
		if t.Reason != "" {
			w.write(3, "Reason:\t%s\n", t.Reason)
		}
		if t.Message != "" {
			w.write(3, "Message:\t%s\n", t.Message)
		}
		w.write(3, "Exit Code:\t%d\n", t.ExitCode)
		if t.Signal > 0 {
			w.write(3, "Signal:\t%d\n", t.Signal)
		}
		w.write(3, "Started:\t%s\n", d.time(t.StartedAt.Time))
		w.write(3, "Finished:\t%s\n", d.time(t.FinishedAt.Time))
	default:
		w.write(2, "%s:\tWaiting\n", name)
	}
}

// DescribeProbe is kubectl's DescribeProbe: the action, then
// "delay=Ns timeout=Ns period=Ns #success=N #failure=N".
func DescribeProbe(p *api.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d",
		p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
	switch {
	case p.Exec != nil:
		return fmt.Sprintf("exec %v %s", p.Exec.Command, attrs)
	case p.HTTPGet != nil:
		u := &url.URL{Scheme: strings.ToLower(string(p.HTTPGet.Scheme)), Path: p.HTTPGet.Path}
		if port := p.HTTPGet.Port.String(); port != "" {
			u.Host = net.JoinHostPort(p.HTTPGet.Host, port)
		} else {
			u.Host = p.HTTPGet.Host
		}
		return fmt.Sprintf("http-get %s %s", u.String(), attrs)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.TCPSocket.Host, p.TCPSocket.Port.String(), attrs)
	case p.GRPC != nil:
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", p.GRPC.Port, service, attrs)
	}
	return fmt.Sprintf("unknown %s", attrs)
}

// mounts is describeContainerVolumes: sorted by mount path.
func (d *describer) mounts(mounts []api.VolumeMount) {
	if len(mounts) == 0 {
		d.w.write(2, "Mounts:\t<none>\n")
		return
	}
	d.w.write(2, "Mounts:\n")
	sorted := slices.Clone(mounts)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].MountPath < sorted[j].MountPath })
	for _, m := range sorted {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags = []string{"ro"}
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		d.w.write(3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
	}
}

// volumes is describeVolumes, for the sources minipod has.
func (d *describer) volumes(volumes []api.Volume) {
	w := d.w
	if len(volumes) == 0 {
		w.write(0, "Volumes:\t<none>\n")
		return
	}
	w.write(0, "Volumes:\n")
	for _, v := range volumes {
		w.write(1, "%v:\n", v.Name)
		switch {
		case v.HostPath != nil:
			typ := "<none>"
			if v.HostPath.Type != nil {
				typ = string(*v.HostPath.Type)
			}
			w.write(2, "Type:\tHostPath (bare host directory volume)\n"+
				"    Path:\t%v\n"+
				"    HostPathType:\t%v\n", v.HostPath.Path, typ)
		case v.EmptyDir != nil:
			limit := "<unset>"
			if q := v.EmptyDir.SizeLimit; q != nil && q.Sign() > 0 {
				limit = q.String()
			}
			w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"+
				"    Medium:\t%v\n"+
				"    SizeLimit:\t%v\n", v.EmptyDir.Medium, limit)
		case v.PersistentVolumeClaim != nil:
			d.claimVolume(v.PersistentVolumeClaim)
		case v.Image != nil:
			d.imageVolume(v.Image)
		default:
			if !d.configVolume(&v) {
				w.write(1, "<unknown>\n")
			}
		}
	}
}

// events is DescribeEvents, with identical events folded as the kubelet's recorder folds
// them; every event of a pod comes from its kubelet (here, its monitor).
func (d *describer) events(events []api.Event, tw *tabwriter.Writer) {
	w := d.w
	sums := AggregateEvents(events)
	if len(sums) == 0 {
		w.write(0, "Events:\t<none>\n")
		return
	}
	// The table is aligned on its own (DescribeEvents flushes first).
	if w.err == nil {
		w.err = tw.Flush()
	}
	w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	w.write(1, "----\t------\t----\t----\t-------\n")
	for _, s := range sums {
		w.write(1, "%v\t%v\t%s\t%v\t%v\n", s.Type, s.Reason, describeAge(s, d.o.Now), EventSource, strings.TrimSpace(s.Message))
	}
}
