package objects

import (
	"bytes"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ref names an object that a Watch follows.
type Ref struct{ Kind, Name string }

// Watch wakes its reader when an object it follows, all of one namespace, is created,
// replaced or deleted (inotify on the kinds' directories: nothing is polled). Wakeups
// coalesce; what changed is for the reader to read.
type Watch struct {
	f    *os.File
	C    chan struct{} // capacity 1
	done chan struct{}
}

// Watch follows the objects refs of a namespace. Their directories are created if missing,
// so that an object created later is seen.
func (s *Store) Watch(namespace string, refs []Ref) (*Watch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch objects: %w", err)
	}
	names := map[int32]map[string]bool{} // watch descriptor -> file names followed
	wds := map[string]int32{}
	for _, r := range refs {
		if err := s.ensureDir(r.Kind, namespace); err != nil {
			unix.Close(fd)
			return nil, err
		}
		wd, ok := wds[r.Kind]
		if !ok {
			// An atomic replacement is a rename into the directory; a deletion an unlink.
			const mask = unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_CLOSE_WRITE | unix.IN_ONLYDIR
			w, err := unix.InotifyAddWatch(fd, s.Dir(r.Kind, namespace), mask)
			if err != nil {
				unix.Close(fd)
				return nil, fmt.Errorf("watch %s: %w", s.Dir(r.Kind, namespace), err)
			}
			wd = int32(w)
			wds[r.Kind] = wd
			names[wd] = map[string]bool{}
		}
		names[wd][r.Name+".json"] = true
	}
	w := &Watch{f: os.NewFile(uintptr(fd), "inotify"), C: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run(names)
	return w, nil
}

func (w *Watch) run(names map[int32]map[string]bool) {
	defer close(w.done)
	buf := make([]byte, 8*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed
		}
		wake := false
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i] // NUL-padded
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
			// A lost event or a directory gone: whatever changed must be looked at.
			if ev.Mask&(unix.IN_Q_OVERFLOW|unix.IN_IGNORED) != 0 || names[ev.Wd][string(name)] {
				wake = true
			}
		}
		if wake {
			select {
			case w.C <- struct{}{}:
			default:
			}
		}
	}
}

// Close stops the watch.
func (w *Watch) Close() {
	w.f.Close()
	<-w.done
}
