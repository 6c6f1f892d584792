package pods

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/trim"
)

// followInterval is how often a foreground `run` looks for new status and output: short
// enough to feel live, long enough to cost nothing measurable.
const followInterval = 25 * time.Millisecond

// Follow reports each new status of the pod, each event and each log record of its
// containers, in order per container, until the monitor has exited and everything it wrote
// was reported. onSettled, if not nil, is called once when no container is being created
// any more: the time for work that should not slow the start down.
func (h *Handle) Follow(onStatus func(*api.Pod), onEvent func(api.Event), onLog func(container string, r crilog.Record), onSettled func()) {
	var lastStatus []byte
	events := &lineTail{path: filepath.Join(h.Dir, state.EventsFile)}
	defer events.close()
	settled := false
	tails := map[string]*logTail{}
	poll := func() {
		if b, err := os.ReadFile(filepath.Join(h.Dir, state.StatusFile)); err == nil && !bytes.Equal(b, lastStatus) {
			lastStatus = b
			var p *api.Pod
			if err := json.Unmarshal(b, &p); err == nil {
				onStatus(p)
				// Once the pod has settled, a foreground run mostly waits, like the monitor.
				// Doing this earlier would compete with the start for the CPU.
				if !settled && hasSettled(p) {
					settled = true
					if onSettled != nil {
						onSettled()
					}
					trim.Memory()
				}
			}
		}
		events.poll(func(line []byte) {
			var e api.Event
			if json.Unmarshal(line, &e) == nil {
				onEvent(e)
			}
		})
		for _, c := range append(append([]api.Container{}, h.Pod.Spec.InitContainers...), h.Pod.Spec.Containers...) {
			t := tails[c.Name]
			if t == nil {
				t = &logTail{dir: filepath.Join(h.LogDir(), c.Name)}
				tails[c.Name] = t
			}
			t.poll(func(r crilog.Record) { onLog(c.Name, r) })
		}
	}
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.done:
			poll()
			for _, t := range tails {
				t.close()
			}
			return
		case <-tick.C:
			poll()
		}
	}
}

// logTail follows one container's log files: 0.log, then 1.log after a restart, and so on.
type logTail struct {
	dir string
	n   int
	cur *lineTail
}

func (t *logTail) poll(emit func(crilog.Record)) {
	for {
		if t.cur == nil {
			t.cur = &lineTail{path: filepath.Join(t.dir, fmt.Sprintf("%d.log", t.n))}
		}
		// The next file is created only after this one's last write: if it exists before
		// this read, the read drains this one for good.
		_, err := os.Stat(filepath.Join(t.dir, fmt.Sprintf("%d.log", t.n+1)))
		complete := err == nil
		t.cur.poll(func(line []byte) {
			if r, err := crilog.Parse(line); err == nil {
				emit(r)
			}
		})
		if !complete {
			return
		}
		t.cur.close()
		t.cur = nil
		t.n++
	}
}

func (t *logTail) close() {
	if t.cur != nil {
		t.cur.close()
	}
}

// lineTail follows one append-only file of lines.
type lineTail struct {
	path    string
	f       *os.File
	partial []byte
}

func (t *lineTail) poll(emit func([]byte)) {
	if t.f == nil {
		f, err := os.Open(t.path)
		if err != nil {
			return
		}
		t.f = f
	}
	b, _ := io.ReadAll(t.f)
	t.partial = append(t.partial, b...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			return
		}
		emit(t.partial[:i])
		t.partial = t.partial[i+1:]
	}
}

func (t *lineTail) close() {
	if t.f != nil {
		t.f.Close()
	}
}

// hasSettled reports whether every container has been started, or the pod has ended.
func hasSettled(p *api.Pod) bool {
	if p.Status.Phase == api.PodSucceeded || p.Status.Phase == api.PodFailed {
		return true
	}
	if len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range append(append([]api.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && (w.Reason == "ContainerCreating" || w.Reason == "PodInitializing") {
			return false
		}
	}
	return true
}
