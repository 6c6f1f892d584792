package pods

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/hostlimit"
	"github.com/minipod/minipod/monitorapi"
)

// Watch opens the watch stream of the pod in dir. A monitor being started may not listen
// yet: the call is retried as files appear in the pod directory (inotify), with a short
// back-off besides for the moment between the socket's creation and its listen. When no
// monitor will answer, it returns a nil watch and the state found: the pod's files are then
// final.
func Watch(ctx context.Context, dir string) (*monitorapi.Watch, MonitorState, error) {
	c := monitorapi.NewClient(dir)
	var dw *DirWatch
	defer func() {
		if dw != nil {
			dw.Close()
		}
	}()
	delay := 2 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		w, err := c.Watch(ctx)
		if err == nil {
			return w, MonitorRunning, nil
		}
		if !monitorapi.IsKind(err, monitorapi.Unavailable) {
			return nil, 0, err
		}
		st := MonitorStateOf(dir)
		if st != MonitorStarting && st != MonitorRunning {
			return nil, st, nil
		}
		if time.Now().After(deadline) {
			return nil, st, err
		}
		if dw == nil {
			if dw, err = NewDirWatch(dir); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return nil, PodGone, nil
				}
				return nil, st, err
			}
			continue // look again now that no change can be missed
		}
		select {
		case <-ctx.Done():
			return nil, st, ctx.Err()
		case <-dw.C:
		case <-time.After(delay):
			delay = min(2*delay, 100*time.Millisecond)
		}
	}
}

// DirWatch wakes its reader when entries of a directory are created, removed or renamed,
// or when the directory itself goes; what changed is for the reader to look up.
type DirWatch struct {
	f    *os.File
	C    chan struct{} // capacity 1: changes coalesce
	done chan struct{}
}

// NewDirWatch watches dir with inotify.
func NewDirWatch(dir string) (*DirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, hostlimit.Inotify("inotify_init1", err))
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, hostlimit.Inotify("inotify_add_watch", &os.PathError{Op: "inotify_add_watch", Path: dir, Err: err}))
	}
	d := &DirWatch{f: os.NewFile(uintptr(fd), "inotify"), C: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		buf := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			_, err := d.f.Read(buf)
			select {
			case d.C <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return d, nil
}

// Close stops the watch.
func (d *DirWatch) Close() {
	d.f.Close()
	<-d.done
}
