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

// event appends to the pod's event log; one write per line keeps lines whole for readers.
func (m *monitor) event(container, reason, msg string) {
	b, err := json.Marshal(api.Event{Time: api.Time{Time: time.Now()}, Container: container, Reason: reason, Message: msg})
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		f, err := os.OpenFile(filepath.Join(m.dir, state.EventsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			m.log.Error("event log", "err", err)
			return
		}
		m.events = f
	}
	m.events.Write(append(b, '\n'))
}

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
