package apiserver

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

// The store is the daemon's view of the pods, rebuilt at every start from the state
// directory and kept current by the monitors' watch streams; it holds nothing the disk does
// not. It orders every change it serves in one log, as the API server's watch cache does with
// etcd's revisions (staging/src/k8s.io/apiserver/pkg/storage/cacher): a change's
// resourceVersion is the monitor's (state.RVClock), raised if needed to stay above the change
// before it, so that "every change after version X" is exact however changes of different
// pods interleave on their way here. The log keeps the last logSize changes; a watch from
// before them is told 410 Gone, as the API server tells a watch whose version was compacted,
// and so is one from before the daemon started (what happened then is not known).

// logSize is how many changes the store keeps for watches that resume.
const logSize = 8192

// Watch event types (k8s.io/apimachinery/pkg/watch).
const (
	evAdded    = "ADDED"
	evModified = "MODIFIED"
	evDeleted  = "DELETED"
	evBookmark = "BOOKMARK"
)

// change is one entry of the log: a pod or an event (core/v1 Event) added, modified or
// deleted. The objects are snapshots, never modified once logged.
type change struct {
	rv    uint64
	typ   string
	pod   *api.Pod
	event *eventObject
	obj   api.Object // a ConfigMap or a Secret (objects.go)
}

// podEntry is one pod directory and what is known of the pod in it.
type podEntry struct {
	key       string // namespace/name
	ns, name  string
	dir       string
	pod       *api.Pod // latest snapshot, nil until the first status; its resourceVersion is the served one
	diskRV    uint64   // the resourceVersion the snapshot had on disk
	events    []api.Event
	summaries map[eventKey]*eventObject
	changed   chan struct{} // closed and replaced on every change of the pod
	wake      chan struct{} // tells an idle follower to look again
	following bool
	firstSeen time.Time // when the store first saw the pod before it ran (pod start latency); zero once observed
}

// store holds the pods and the change log; mu guards everything in it.
type store struct {
	cfg   state.Config
	clock *state.RVClock
	log   *slog.Logger
	node  string

	mu      sync.Mutex
	pods    map[string]*podEntry
	changes []change // oldest first
	floor   uint64   // watches from a version below this are too old
	current uint64   // the version of the last change, or of the start
	subs    map[*subscriber]struct{}
	ctx     context.Context
	metrics *metrics
	objs    map[string]objEntry // ConfigMaps and Secrets by kind/namespace/name (objects.go)
}

func newStore(ctx context.Context, cfg state.Config, clock *state.RVClock, log *slog.Logger, node string) *store {
	now := clock.Next()
	return &store{
		cfg: cfg, clock: clock, log: log, node: node,
		pods:    map[string]*podEntry{},
		floor:   now,
		current: now,
		subs:    map[*subscriber]struct{}{},
		ctx:     ctx,
	}
}

// subscriber receives the changes logged after it subscribed.
type subscriber struct {
	ch     chan change
	closed bool // the subscriber fell behind: its channel is closed
}

// subscriberBuffer is how far a watcher may fall behind before its watch is ended (the
// client then watches again from the last version it saw).
const subscriberBuffer = 1024

// subscribe returns a subscriber for the changes from now on and, atomically with it, either
// the current objects (snapshot, run with the lock held) or the changes after rv (false: rv
// is too old, 410 Gone), and the current version.
func (s *store) subscribe(rv uint64, snapshot func(*store) []change) ([]change, *subscriber, uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first []change
	switch {
	case snapshot != nil:
		first = snapshot(s)
	case rv != 0:
		if rv < s.floor {
			return nil, nil, s.current, false
		}
		i := sort.Search(len(s.changes), func(i int) bool { return s.changes[i].rv > rv })
		first = append(first, s.changes[i:]...)
	}
	sub := &subscriber{ch: make(chan change, subscriberBuffer)}
	s.subs[sub] = struct{}{}
	return first, sub, s.current, true
}

func (s *store) unsubscribe(sub *subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[sub]; ok {
		delete(s.subs, sub)
		if !sub.closed {
			close(sub.ch)
		}
	}
}

// appendLocked logs a change with a version above the last one and hands it to subscribers.
func (s *store) appendLocked(c change) uint64 {
	c.rv = max(c.rv, s.current+1)
	s.current = c.rv
	if len(s.changes) >= logSize {
		s.floor = s.changes[logSize/4].rv
		s.changes = append(s.changes[:0], s.changes[logSize/4+1:]...)
	}
	s.changes = append(s.changes, c)
	for sub := range s.subs {
		if sub.closed {
			continue
		}
		select {
		case sub.ch <- c:
		default:
			sub.closed = true
			close(sub.ch)
		}
	}
	return c.rv
}

// currentRV is the version a list is served at.
func (s *store) currentRV() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// withRV returns a copy of p carrying version rv.
func withRV(p *api.Pod, rv uint64) *api.Pod {
	c := *p
	c.Metadata.ResourceVersion = state.FormatRV(rv)
	return &c
}

// setPodLocked records a new status of the pod in e (as written at diskRV; 0: a version of
// the daemon's, for a change the monitor could not write, such as Unknown).
func (s *store) setPodLocked(e *podEntry, p *api.Pod, diskRV uint64) {
	if e.pod != nil && e.pod.Metadata.UID != p.Metadata.UID {
		// Another pod of the same name: the one we had is gone.
		s.deletePodLocked(e)
	}
	typ := evModified
	if e.pod == nil {
		typ = evAdded
		if p.Status.Phase == api.PodPending && e.firstSeen.IsZero() {
			e.firstSeen = time.Now()
		}
	}
	s.observeStartLocked(e, p)
	rv := diskRV
	if rv == 0 {
		rv = s.clock.Next()
	}
	rv = max(rv, s.current+1)
	snap := withRV(p, rv)
	s.appendLocked(change{rv: rv, typ: typ, pod: snap})
	e.pod, e.diskRV = snap, diskRV
	close(e.changed)
	e.changed = make(chan struct{})
}

// deletePodLocked logs the pod of e as deleted and forgets it and its events.
func (s *store) deletePodLocked(e *podEntry) {
	if e.pod == nil {
		return
	}
	rv := max(s.clock.Next(), s.current+1)
	s.appendLocked(change{rv: rv, typ: evDeleted, pod: withRV(e.pod, rv)})
	e.pod, e.diskRV, e.firstSeen = nil, 0, time.Time{}
	e.events, e.summaries = nil, nil
	close(e.changed)
	e.changed = make(chan struct{})
}

// entry returns the entry of a pod, creating it.
func (s *store) entryLocked(ns, name string) *podEntry {
	key := ns + "/" + name
	e := s.pods[key]
	if e == nil {
		e = &podEntry{key: key, ns: ns, name: name, dir: s.cfg.PodDir(ns, name),
			changed: make(chan struct{}), wake: make(chan struct{}, 1)}
		s.pods[key] = e
	}
	return e
}

// get returns the latest snapshot of a pod and a channel closed at its next change.
func (s *store) get(ns, name string) (*api.Pod, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.pods[ns+"/"+name]
	if e == nil {
		return nil, nil
	}
	return e.pod, e.changed
}

// list returns the pods (of one namespace, or all for "") sorted by namespace and name, with
// the version they are current at.
func (s *store) list(ns string) ([]*api.Pod, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*api.Pod
	for _, e := range s.pods {
		if e.pod != nil && (ns == "" || e.ns == ns) {
			out = append(out, e.pod)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Metadata, out[j].Metadata
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out, s.current
}

// created records a pod this daemon just created, so that it is served at once; since is
// when its creation was asked for.
func (s *store) created(p *api.Pod, since time.Time) *api.Pod {
	rv, _ := state.ParseRV(p.Metadata.ResourceVersion)
	s.mu.Lock()
	e := s.entryLocked(p.Metadata.Namespace, p.Metadata.Name)
	if e.pod == nil || e.pod.Metadata.UID != p.Metadata.UID {
		if e.pod == nil && p.Status.Phase == api.PodPending {
			e.firstSeen = since
		}
		s.setPodLocked(e, p, rv)
	}
	snap := e.pod
	s.mu.Unlock()
	s.follow(e)
	return snap
}

// run keeps the store current: it follows every pod directory there is, and looks again
// whenever the pods directory changes, until ctx ends.
func (s *store) run(ctx context.Context) error {
	dir := s.cfg.PodsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dw, err := pods.NewDirWatch(dir)
	if err != nil {
		return err
	}
	go func() {
		defer dw.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-dw.C:
				s.rescan()
			}
		}
	}()
	s.rescan()
	return nil
}

// load reads every pod's status file, before the daemon serves anything.
func (s *store) load() {
	entries, _ := os.ReadDir(s.cfg.PodsDir())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range entries {
		ns, name, ok := state.ParsePodKey(d.Name())
		if !ok {
			continue
		}
		e := s.entryLocked(ns, name)
		if p, err := readPod(e.dir); err == nil {
			rv, _ := state.ParseRV(p.Metadata.ResourceVersion)
			e.pod, e.diskRV = withRV(p, rv), rv
			if p.Status.Phase == api.PodUnknown {
				e.diskRV = 0
			}
			if evs, err := readEvents(e.dir); err == nil {
				for _, ev := range evs {
					s.addEventLocked(e, ev, false)
				}
			}
		}
	}
}

// readPod reads a pod's status as pods.Get does: Unknown when its monitor died.
func readPod(dir string) (*api.Pod, error) {
	p, err := state.ReadStatus(dir)
	if err != nil {
		return nil, err
	}
	pods.MarkUnknown(dir, p)
	return p, nil
}

// rescan starts following new pod directories and wakes every follower, so that idle ones
// notice a directory that went or was replaced.
func (s *store) rescan() {
	entries, err := os.ReadDir(s.cfg.PodsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("read pods directory", "err", err)
	}
	present := map[string]bool{}
	var start []*podEntry
	s.mu.Lock()
	for _, d := range entries {
		ns, name, ok := state.ParsePodKey(d.Name())
		if !ok {
			continue
		}
		e := s.entryLocked(ns, name)
		present[e.key] = true
		start = append(start, e)
	}
	for key, e := range s.pods {
		if !present[key] && !e.following {
			s.deletePodLocked(e)
			delete(s.pods, key)
			continue
		}
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	for _, e := range start {
		s.follow(e)
	}
}

// follow starts the follower of an entry unless it runs.
func (s *store) follow(e *podEntry) {
	s.mu.Lock()
	if e.following {
		s.mu.Unlock()
		return
	}
	e.following = true
	s.mu.Unlock()
	go s.follower(e)
}

// follower keeps one pod directory's entry current: through the monitor's watch stream while
// a monitor runs, then from the files; it waits for a rescan when nothing runs, and ends when
// the directory is gone.
func (s *store) follower(e *podEntry) {
	ctx := s.ctx
	defer func() {
		s.mu.Lock()
		e.following = false
		if e.pod == nil && s.pods[e.key] == e {
			delete(s.pods, e.key)
		}
		s.mu.Unlock()
	}()
	for ctx.Err() == nil {
		w, st, err := pods.Watch(ctx, e.dir)
		if w != nil {
			s.stream(e, w)
			w.Close()
			continue // the monitor ended: the files say how
		}
		if err != nil && ctx.Err() == nil {
			s.log.Debug("watch pod", "pod", e.key, "err", err)
		}
		if st == pods.PodGone {
			s.mu.Lock()
			s.deletePodLocked(e)
			s.mu.Unlock()
			return
		}
		s.syncFiles(e)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-time.After(time.Minute):
		}
	}
}

// stream applies a monitor's watch stream to the entry until it ends. The stream starts with
// the current status and every event so far; the events already known are skipped.
func (s *store) stream(e *podEntry, w *monitorapi.Watch) {
	replayed := 0
	for {
		ev, err := w.Next()
		if err != nil {
			return
		}
		s.mu.Lock()
		switch {
		case ev.Type == "status" && ev.Pod != nil:
			rv, _ := state.ParseRV(ev.Pod.Metadata.ResourceVersion)
			if e.pod == nil || e.pod.Metadata.UID != ev.Pod.Metadata.UID || rv > e.diskRV {
				if e.pod != nil && e.pod.Metadata.UID != ev.Pod.Metadata.UID {
					replayed = 0
				}
				s.setPodLocked(e, ev.Pod, rv)
			}
		case ev.Type == "event" && ev.Event != nil:
			if replayed < len(e.events) && sameEvent(e.events[replayed], *ev.Event) {
				replayed++
			} else {
				replayed = len(e.events) + 1
				s.addEventLocked(e, *ev.Event, true)
			}
		}
		s.mu.Unlock()
	}
}

// syncFiles brings the entry in line with the pod's files once no monitor writes them: the
// final status, or Unknown for a monitor that died, and the events.
func (s *store) syncFiles(e *podEntry) {
	p, err := readPod(e.dir)
	if err != nil {
		return // being created, or removed: a rescan looks again
	}
	evs, _ := readEvents(e.dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, _ := state.ParseRV(p.Metadata.ResourceVersion)
	switch {
	case e.pod == nil || e.pod.Metadata.UID != p.Metadata.UID:
		s.setPodLocked(e, p, rv)
	case p.Status.Phase == api.PodUnknown && e.pod.Status.Phase != api.PodUnknown:
		s.setPodLocked(e, p, 0) // the monitor could not say so itself
	case p.Status.Phase != api.PodUnknown && rv > e.diskRV:
		s.setPodLocked(e, p, rv)
	}
	for i, ev := range evs {
		if i >= len(e.events) {
			s.addEventLocked(e, ev, true)
		}
	}
}
