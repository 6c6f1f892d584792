package monitor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/state"
)

// event appends one of the kubelet's events about the pod, or about a container of it
// when w is not nil, to the pod's event log. One write per line keeps lines whole for
// readers. It takes its own lock, so it may be called with m.mu held or not.
func (m *monitor) event(w *worker, typ, reason, msg string) {
	e := api.Event{Time: api.MicroTime{Time: time.Now()}, Type: typ, Reason: reason, Message: msg}
	if w != nil {
		e.Container, e.FieldPath = w.c.Name, w.ref
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	m.eventsMu.Lock()
	defer m.eventsMu.Unlock()
	if m.events == nil {
		f, err := os.OpenFile(filepath.Join(m.dir, state.EventsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			m.log.Error("event log", "err", err)
			return
		}
		m.events = f
	}
	m.events.Write(append(b, '\n'))
	m.broadcast(eventLine(b))
}

func (w *worker) event(typ, reason, msg string) { w.m.event(w, typ, reason, msg) }

// recordImages writes the image IDs and layer directories the pod's containers use, so that
// `image rm` and `image prune` leave them alone while the pod holds resources.
func (m *monitor) recordImages() {
	m.mu.Lock()
	var ids []string
	for _, used := range m.imagesUsed {
		ids = append(ids, used...)
	}
	m.mu.Unlock()
	if err := atomicfile.WriteJSON(filepath.Join(m.dir, state.ImagesFile), ids, 0o644); err != nil {
		m.log.Error("record images", "err", err)
	}
}
