package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/minipod/minipod/api"
)

// Event is one line of a pod's event log, a small stand-in for Kubernetes Events: what a
// person watching the pod wants to know beyond its status (image pulls, mostly).
type Event struct {
	Time      api.Time `json:"time"`
	Container string   `json:"container,omitempty"`
	Reason    string   `json:"reason"`
	Message   string   `json:"message"`
}

const eventsFile = "events.jsonl"

// event appends to the pod's event log; one write per line keeps lines whole for readers.
func (m *monitor) event(container, reason, msg string) {
	b, err := json.Marshal(Event{Time: api.Time{Time: time.Now()}, Container: container, Reason: reason, Message: msg})
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		f, err := os.OpenFile(filepath.Join(m.dir, eventsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			m.log.Error("event log", "err", err)
			return
		}
		m.events = f
	}
	m.events.Write(append(b, '\n'))
}

// imagesFile lists the image IDs and layer directories the pod's containers use, so that
// `image rm` and `image prune` leave them alone while the pod holds resources.
const imagesFile = "images.json"

func (m *monitor) recordImages() {
	m.mu.Lock()
	var ids []string
	for _, used := range m.imagesUsed {
		ids = append(ids, used...)
	}
	m.mu.Unlock()
	if err := writeJSONAtomic(filepath.Join(m.dir, imagesFile), ids); err != nil {
		m.log.Error("record images", "err", err)
	}
}

// ImagesInUse returns whether an image ID or layer directory is used by a pod on this host:
// one whose resources are not released yet (its monitor runs, or died without tearing down).
func ImagesInUse(cfg Config) (func(imageID string) bool, error) {
	entries, err := os.ReadDir(cfg.podsDir())
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	used := map[string]bool{}
	for _, e := range entries {
		dir := filepath.Join(cfg.podsDir(), e.Name())
		if exists(filepath.Join(dir, tornDownFile)) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, imagesFile))
		if err != nil {
			continue
		}
		var ids []string
		if json.Unmarshal(b, &ids) == nil {
			for _, id := range ids {
				used[id] = true
			}
		}
	}
	return func(id string) bool { return used[id] }, nil
}
