// Package backoff reproduces the kubelet's crash-loop back-off: the per-container
// flowcontrol.Backoff of client-go (util/flowcontrol/backoff.go) as the kubelet drives it in
// doBackOff (pkg/kubelet/kuberuntime/kuberuntime_manager.go).
//
// On every sync of a pod whose container has exited, the kubelet asks whether the container
// is still in back-off since it finished (IsInBackOffSince: now-finishedAt < the entry's
// current back-off). If not, it calls Next, which creates the entry with the initial back-off
// or doubles it up to the maximum, and restarts the container at once. An entry expires, and
// the sequence starts over, once more than 2*Max has passed since it was last advanced
// (hasExpired; the kubelet also deletes such entries in its housekeeping, Backoff.GC). With
// the kubelet's 10 s initial and 300 s maximum (containerBackOffPeriod in pkg/kubelet/kubelet.go,
// MaxContainerBackOff) that is the documented "10 minutes without problems" reset. An entry
// that expires while its container is still waiting ends that wait, as GC's deletion does.
//
// Because the entry is only created by the first restart, the delays a crash-looping container
// actually sees are 0, Initial, 2*Initial, ... capped at Max: the first crash restarts
// immediately (kubernetes/kubernetes#133472). minipod deliberately reproduces what the kubelet
// does, not what its documentation says, so a pod behaves the same under both.
//
// Time is passed in to every method, so callers and tests control the clock. A Backoff is
// safe for concurrent use.
package backoff

import (
	"sync"
	"time"
)

// Kubelet defaults.
const (
	// DefaultInitial is the kubelet's containerBackOffPeriod (pkg/kubelet/kubelet.go).
	DefaultInitial = 10 * time.Second
	// DefaultMax is MaxContainerBackOff (pkg/kubelet/apis/config/v1beta1/defaults.go).
	DefaultMax = 300 * time.Second
)

// Backoff holds one back-off entry per key (the kubelet keys by pod and container).
// The zero value is not useful; set Initial and Max or use New.
type Backoff struct {
	Initial, Max time.Duration

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	backoff    time.Duration
	lastUpdate time.Time // when Next last advanced the entry
}

// New returns a Backoff starting at initial and doubling up to max.
func New(initial, max time.Duration) *Backoff {
	return &Backoff{Initial: initial, Max: max, entries: map[string]entry{}}
}

// expired is client-go's hasExpired: after 2*Max without a restart the container is
// considered stable and its back-off starts over.
func (b *Backoff) expired(e entry, t time.Time) bool {
	return t.Sub(e.lastUpdate) > 2*b.Max
}

// Remaining reports how long a restart of key must still wait, given when the container
// finished; 0 means it may restart now. It is IsInBackOffSince(key, finishedAt) turned into a
// duration: no entry, or an expired one, means no wait.
//
// client-go checks expiry at finishedAt, but the kubelet's housekeeping GC deletes an entry
// once 2*Max has passed since its last restart even while the container is waiting, which
// ends the wait. So the wait is also cut short at the moment the entry expires.
func (b *Backoff) Remaining(key string, finishedAt, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || b.expired(e, finishedAt) || b.expired(e, now) {
		return 0
	}
	d := e.backoff - now.Sub(finishedAt)
	// expired is a strict >, so the entry is gone 1 ns after lastUpdate+2*Max.
	if untilExpiry := e.lastUpdate.Add(2*b.Max).Sub(now) + 1; untilExpiry < d {
		d = untilExpiry
	}
	return max(d, 0)
}

// Next records a restart of key at now: the first time, or after the entry expired, the
// back-off becomes Initial; otherwise it doubles, capped at Max.
func (b *Backoff) Next(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.entries == nil {
		b.entries = map[string]entry{}
	}
	e, ok := b.entries[key]
	switch {
	case !ok || b.expired(e, now):
		e.backoff = b.Initial
	case e.backoff > b.Max/2: // doubling would reach or pass Max (and must not overflow)
		e.backoff = b.Max
	default:
		e.backoff *= 2
	}
	e.lastUpdate = now
	b.entries[key] = e
}

// Get returns key's current back-off, as the kubelet's "back-off 20s restarting failed
// container" message shows it; 0 if there is no entry.
func (b *Backoff) Get(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entries[key].backoff
}

// Reset forgets key, e.g. when its pod is removed.
func (b *Backoff) Reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, key)
}

// GC drops every entry that has expired at now, like the kubelet's housekeeping
// (crashLoopBackOff.GC in HandlePodCleanups), so keys of vanished pods do not accumulate.
func (b *Backoff) GC(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, e := range b.entries {
		if b.expired(e, now) {
			delete(b.entries, k)
		}
	}
}
