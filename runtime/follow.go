package runtime

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
)

// followInterval is how often a foreground `run` looks for new status and output: short
// enough to feel live, long enough to cost nothing measurable.
const followInterval = 25 * time.Millisecond

// Follow reports each new status of the pod and each log record of its containers, in
// order per container, until the monitor has exited and everything it wrote was reported.
func (h *Handle) Follow(onStatus func(*api.Pod), onLog func(container string, r crilog.Record)) {
	var lastStatus []byte
	trimmed := false
	tails := map[string]*logTail{}
	poll := func() {
		if b, err := os.ReadFile(filepath.Join(h.Dir, statusFile)); err == nil && !bytes.Equal(b, lastStatus) {
			lastStatus = b
			if p, err := readStatus(h.Dir); err == nil {
				onStatus(p)
				// From here on a foreground run mostly waits, like the monitor.
				if !trimmed && p.Status.Phase != api.PodPending {
					trimmed = true
					trimMemory()
				}
			}
		}
		for _, c := range h.Pod.Spec.Containers {
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
	dir     string
	n       int
	f       *os.File
	partial []byte
}

func (t *logTail) poll(emit func(crilog.Record)) {
	for {
		if t.f == nil {
			f, err := os.Open(filepath.Join(t.dir, fmt.Sprintf("%d.log", t.n)))
			if err != nil {
				return
			}
			t.f = f
		}
		// The next file is created only after this one's last write: if it exists before
		// this read, the read drains this one for good.
		_, err := os.Stat(filepath.Join(t.dir, fmt.Sprintf("%d.log", t.n+1)))
		complete := err == nil
		b, _ := io.ReadAll(t.f)
		t.partial = append(t.partial, b...)
		for {
			i := bytes.IndexByte(t.partial, '\n')
			if i < 0 {
				break
			}
			if r, err := crilog.Parse(t.partial[:i]); err == nil {
				emit(r)
			}
			t.partial = t.partial[i+1:]
		}
		if !complete {
			return
		}
		t.f.Close()
		t.f = nil
		t.partial = nil
		t.n++
	}
}

func (t *logTail) close() {
	if t.f != nil {
		t.f.Close()
	}
}
