package pods

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/hostlimit"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/trim"
)

// Follower receives what Follow reports; its methods are called one at a time.
type Follower struct {
	Status func(*api.Pod)
	Event  func(api.Event)
	Log    func(container string, r crilog.Record)
	// Settled, if not nil, is called once when no container is being created any more:
	// the time for work that should not slow the start down.
	Settled func()
	// Warn, if not nil, is told why a container's log cannot be followed when a host limit
	// is the cause (inotify instances or watches, open files): never dropped silently.
	Warn func(error)
}

// Follow reports the pod's statuses and events as its monitor pushes them, and every
// record its containers write, in order per container, until the monitor has ended. It
// returns the last status, which stays known even if the pod was removed meanwhile (a
// delete from elsewhere). Nothing is polled: an idle follower sleeps.
func Follow(ctx context.Context, dir string, f Follower) (*api.Pod, error) {
	var mu sync.Mutex // one callback at a time
	call := func(fn func()) {
		mu.Lock()
		defer mu.Unlock()
		fn()
	}
	w, st, err := Watch(ctx, dir)
	if err == nil && w == nil {
		// It ended before it could be watched (a pod it refused at once): what it left.
		if p := ended(dir, f); p != nil {
			return p, nil
		}
		err = fmt.Errorf("follow pod: its monitor is not running (%s)", st)
	}
	if err != nil {
		return nil, err
	}
	defer w.Close()
	rec, err := state.ReadRecord(dir)
	if err != nil {
		return nil, err
	}
	logs := newLogFollowers(ctx, rec, func(c string, r crilog.Record) { call(func() { f.Log(c, r) }) })
	if f.Warn != nil {
		logs.warn = func(err error) { call(func() { f.Warn(err) }) }
	}
	defer logs.wait()
	var last *api.Pod
	settled := false
	for {
		ev, err := w.Next()
		if errors.Is(err, io.EOF) {
			logs.end()
			return last, nil
		}
		if err != nil {
			logs.end()
			return last, err
		}
		switch {
		case ev.Type == "status" && ev.Pod != nil:
			last = ev.Pod
			logs.update(ev.Pod)
			call(func() { f.Status(ev.Pod) })
			if !settled && hasSettled(ev.Pod) {
				settled = true
				if f.Settled != nil {
					f.Settled()
				}
				// Once the pod has settled a follower mostly waits, like the monitor.
				trim.Memory()
			}
		case ev.Type == "event" && ev.Event != nil:
			call(func() { f.Event(*ev.Event) })
		}
	}
}

// ended reports what a monitor that ended before it could be watched (a pod it refused
// at once) left behind: its events and final status, which it returns; nil if there is none.
func ended(dir string, f Follower) *api.Pod {
	if state.MonitorAlive(dir) {
		return nil
	}
	p, err := state.ReadStatus(dir)
	if err != nil {
		return nil
	}
	if b, err := os.ReadFile(filepath.Join(dir, state.EventsFile)); err == nil {
		for _, line := range bytes.Split(b, []byte{'\n'}) {
			var e api.Event
			if json.Unmarshal(line, &e) == nil {
				f.Event(e)
			}
		}
	}
	f.Status(p)
	return p
}

// logFollowers follow each container's log, attempt after attempt, as the statuses say
// attempts start and end.
type logFollowers struct {
	ctx     context.Context
	rec     *state.Record
	emit    func(string, crilog.Record)
	warn    func(error) // may be nil
	mu      sync.Mutex
	byName  map[string]*logFollower
	running sync.WaitGroup
}

// logFollower follows one container's log files.
type logFollower struct {
	name    string
	changed chan struct{} // capacity 1: status (below) changed
	mu      sync.Mutex
	status  *api.ContainerStatus
	ended   bool // the monitor is gone: no attempt starts or runs any more
}

func newLogFollowers(ctx context.Context, rec *state.Record, emit func(string, crilog.Record)) *logFollowers {
	lf := &logFollowers{ctx: ctx, rec: rec, emit: emit, byName: map[string]*logFollower{}}
	for _, list := range [][]api.Container{rec.Pod.Spec.InitContainers, rec.Pod.Spec.Containers} {
		for _, c := range list {
			f := &logFollower{name: c.Name, changed: make(chan struct{}, 1)}
			lf.byName[c.Name] = f
			lf.running.Go(func() { lf.follow(f) })
		}
	}
	return lf
}

func (lf *logFollowers) update(p *api.Pod) {
	for _, list := range [][]api.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range list {
			if f := lf.byName[list[i].Name]; f != nil {
				cs := list[i]
				f.set(func() { f.status = &cs })
			}
		}
	}
}

// end tells every follower that no more output will come.
func (lf *logFollowers) end() {
	for _, f := range lf.byName {
		f.set(func() { f.ended = true })
	}
}

func (lf *logFollowers) wait() { lf.running.Wait() }

func (f *logFollower) set(change func()) {
	f.mu.Lock()
	change()
	f.mu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// attemptState reads where the container is relative to attempt n: whether it was created
// (its log exists), whether it is over, and whether nothing will happen any more.
func (f *logFollower) attemptState(n int32) (created, over, ended bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cs := f.status; cs != nil {
		started := cs.State.Running != nil || cs.State.Terminated != nil
		created = cs.RestartCount > n || cs.RestartCount == n && started
		over = cs.RestartCount > n || cs.RestartCount == n && cs.State.Terminated != nil
	}
	return created, over, f.ended
}

// follow emits the container's records attempt by attempt: <n>.log once attempt n was
// created, until it is over.
func (lf *logFollowers) follow(f *logFollower) {
	for n := int32(0); ; n++ {
		for {
			created, _, ended := f.attemptState(n)
			if created {
				break
			}
			if ended {
				return
			}
			select {
			case <-f.changed:
			case <-lf.ctx.Done():
				return
			}
		}
		done := make(chan struct{})
		stop := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, over, ended := f.attemptState(n); over || ended {
					return
				}
				select {
				case <-f.changed:
				case <-stop:
					return
				}
			}
		}()
		err := crilog.Follow(lf.ctx, lf.rec.LogFile(f.name, n), 0, done, func(r crilog.Record) error {
			lf.emit(f.name, r)
			return nil
		})
		close(stop)
		<-done
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			if le := (*hostlimit.Error)(nil); errors.As(err, &le) && lf.warn != nil {
				lf.warn(fmt.Errorf("container %s: its output is not followed: %w", f.name, err))
			}
			return // the context ended, or the log cannot be read
		}
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
