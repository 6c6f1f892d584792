package monitor

import (
	"bytes"
	"io"
	"os"
	"strings"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/crilog"
)

// setWaiting, setRunning and setTerminated record state changes the way the kubelet reports
// them (convertToAPIContainerStatuses, pkg/kubelet/kubelet_pods.go), and write the status.
func (w *worker) setWaiting(reason, msg string) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := &w.status
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	cs.State = api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: reason, Message: msg}}
	m.updateLocked()
}

// setRunning records a started instance. Without a startup probe it is started at once, and
// ready too without a readiness probe (prober_manager.go UpdatePodStatus); the probes take
// over from here.
func (w *worker) setRunning(inst *container.Instance, attempt int32) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := &w.status
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	cs.State = api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: api.NewTime(inst.State().StartedAt)}}
	cs.RestartCount = attempt
	cs.ContainerID = "minipod://" + inst.ID()
	cs.User = w.user
	w.inst = inst
	started := w.c.StartupProbe == nil
	*cs.Started = started
	// A regular init container is ready only once it exited 0.
	cs.Ready = started && w.c.ReadinessProbe == nil && w.kind != initContainer
	if started {
		w.startedLocked()
	}
	if m.stopping && !w.killing {
		go w.kill(inst, "Stopping container "+w.c.Name, max(time.Until(m.deadline), 0), true)
	} else {
		w.probes = w.startProbes(inst)
	}
	m.updateLocked()
}

// startedLocked notes that the container counts as started: a sidecar then lets the next
// init container start (computeInitContainerActions).
func (w *worker) startedLocked() {
	if w.kind == sidecar {
		select {
		case <-w.initialized:
		default:
			close(w.initialized)
		}
	}
}

// setTerminated records the end of an attempt: an exit, or a failure to start, which counts
// as an attempt too (the runtime created the container before it failed).
func (w *worker) setTerminated(t *api.ContainerStateTerminated, attempt int32) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.probes != nil {
		w.probes.stop()
		w.probes = nil
	}
	w.inst = nil
	w.killing = false
	cs := &w.status
	if cs.State.Terminated != nil {
		cs.LastState = api.ContainerState{Terminated: cs.State.Terminated}
	}
	if t.ContainerID == "" {
		t.ContainerID = cs.ContainerID
	}
	cs.ContainerID = t.ContainerID
	cs.State = api.ContainerState{Terminated: t}
	cs.RestartCount = attempt
	// A regular init container that completed is ready; nothing else that stopped is.
	cs.Ready = w.kind == initContainer && t.ExitCode == 0
	*cs.Started = false
	m.instanceExitedLocked()
	m.updateLocked()
}

// The kubelet's termination message limits (pkg/kubelet/kuberuntime/kuberuntime_container.go,
// pkg/kubelet/status/status_manager.go).
const (
	maxTerminationMessage         = 4096  // MaxContainerTerminationMessageLength
	maxTerminationMessageLogLines = 80    // MaxContainerTerminationMessageLogLines
	maxTerminationMessageLog      = 2048  // MaxContainerTerminationMessageLogLength
	maxPodTerminationMessages     = 12288 // MaxPodTerminationMessageLogLength, shared by all containers
)

// terminationMessage is what the kubelet puts in state.terminated.message: the end of the
// file the container wrote at terminationMessagePath, or, with FallbackToLogsOnError and a
// failed exit, the end of its log when the file is empty.
func terminationMessage(c *api.Container, file, logPath string, exitCode int32, containers int) string {
	msg := string(tail(file, maxTerminationMessage))
	if msg == "" && c.TerminationMessagePolicy == api.TerminationMessageFallbackToLogsOnError && exitCode != 0 {
		msg = logTail(logPath, maxTerminationMessageLogLines, maxTerminationMessageLog)
	}
	// normalizeStatus shares the pod's budget between its containers.
	if limit := maxPodTerminationMessages / max(containers, 1); len(msg) > limit {
		msg = msg[:limit]
	}
	return msg
}

// tail returns at most the last n bytes of a file; nil if it cannot be read.
func tail(path string, n int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return b
}

// logTail is the kubelet's message from logs: the content of the last lines of the CRI log,
// at most bytes long.
func logTail(path string, lines int, bytesMax int64) string {
	// Read enough of the end of the file for the last lines' records.
	raw := tail(path, int64(lines)*(crilog.MaxLineSize+64))
	recs := bytes.Split(raw, []byte{'\n'})
	var out []string
	for i := len(recs) - 1; i >= 0 && len(out) < lines; i-- {
		if r, err := crilog.Parse(recs[i]); err == nil {
			out = append(out, string(r.Content))
		}
	}
	var b strings.Builder
	for i := len(out) - 1; i >= 0; i-- {
		b.WriteString(out[i])
		b.WriteByte('\n')
	}
	s := b.String()
	if int64(len(s)) > bytesMax {
		s = s[int64(len(s))-bytesMax:]
	}
	return s
}
