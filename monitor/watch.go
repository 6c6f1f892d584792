package monitor

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/state"
)

// maxPending bounds the lines queued for one watcher; one that falls this far behind is
// dropped (its stream ends with an error line) rather than letting the monitor's memory grow.
const maxPending = 4096

// watcher is one open watch stream.
type watcher struct {
	mu      sync.Mutex
	pending [][]byte
	dropped bool
	wake    chan struct{} // capacity 1: there is something to send
}

func (w *watcher) push(line []byte) {
	w.mu.Lock()
	if len(w.pending) >= maxPending {
		w.dropped = true
		w.pending = nil
	} else if !w.dropped {
		w.pending = append(w.pending, line)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) take() ([][]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending
	w.pending = nil
	return p, w.dropped
}

// broadcast queues a line for every watcher; called with the lock of what it reports held
// (m.mu for statuses, m.eventsMu for events), so lines reach watchers in the order of changes.
func (m *monitor) broadcast(line []byte) {
	m.watchMu.Lock()
	defer m.watchMu.Unlock()
	for w := range m.watchers {
		w.push(line)
	}
}

func statusLine(pod []byte) []byte {
	return append(append([]byte(`{"type":"status","pod":`), pod...), '}', '\n')
}

func eventLine(event []byte) []byte {
	return append(append([]byte(`{"type":"event","event":`), event...), '}', '\n')
}

// watch streams the pod's status and events to c: the current status and every event so
// far, then each change, until the client hangs up or the monitor ends (see closeWatchers).
func (m *monitor) watch(c net.Conn, r *bufio.Reader) {
	w := &watcher{wake: make(chan struct{}, 1)}
	// Under the locks of both feeds, so that nothing is missed or sent twice.
	m.mu.Lock()
	m.eventsMu.Lock()
	var first [][]byte
	if m.lastStatus != nil {
		first = append(first, statusLine(m.lastStatus))
	}
	if b, err := os.ReadFile(filepath.Join(m.dir, state.EventsFile)); err == nil {
		for _, l := range bytes.Split(bytes.TrimSpace(b), []byte{'\n'}) {
			if len(l) > 0 {
				first = append(first, eventLine(l))
			}
		}
	}
	m.watchMu.Lock()
	closing := m.watchersClosed
	if !closing {
		m.watchers[w] = struct{}{}
		m.watchWG.Add(1) // under watchMu: never after closeWatchers began waiting
	}
	m.watchMu.Unlock()
	m.eventsMu.Unlock()
	m.mu.Unlock()
	if closing {
		return
	}
	defer func() {
		m.watchMu.Lock()
		delete(m.watchers, w)
		m.watchMu.Unlock()
		m.watchWG.Done()
	}()
	if reply(c, &monitorapi.Reply{}) != nil {
		return
	}
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, r) // the client sends nothing more; EOF means it left
		close(gone)
	}()
	send := func(lines [][]byte) bool {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		for _, l := range lines {
			if _, err := c.Write(l); err != nil {
				return false
			}
		}
		return true
	}
	if !send(first) {
		return
	}
	for {
		select {
		case <-w.wake:
		case <-gone:
			return
		case <-m.watchDone:
			lines, _ := w.take()
			send(lines)
			return
		}
		lines, dropped := w.take()
		if dropped {
			send([][]byte{[]byte(`{"type":"error","event":{"reason":"TooSlow","message":"watcher fell behind"}}` + "\n")})
			return
		}
		if !send(lines) {
			return
		}
	}
}

// closeWatchers ends every watch stream once what is queued has been sent, so that a
// follower sees the pod's final status before its stream ends with the monitor.
func (m *monitor) closeWatchers() {
	m.watchMu.Lock()
	m.watchersClosed = true
	m.watchMu.Unlock()
	close(m.watchDone)
	done := make(chan struct{})
	go func() { m.watchWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
