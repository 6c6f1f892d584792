// Package staticpod runs the manifests of a directory as the kubelet runs static pods
// (pkg/kubelet/config/file.go, file_linux.go, common.go): each file is a pod, named
// <name>-<node>, created when the file appears, replaced when its content changes, deleted
// when it goes. The pods it makes are ordinary minipod pods that carry the kubelet's
// annotations (kubernetes.io/config.source=file, config.hash, and config.mirror as on the
// mirror pod the kubelet posts to the API server), so the API serves each as its mirror pod.
package staticpod

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

// The kubelet's annotations of static and mirror pods (pkg/kubelet/types/pod_update.go).
const (
	ConfigSourceAnnotation = "kubernetes.io/config.source"
	ConfigHashAnnotation   = "kubernetes.io/config.hash"
	ConfigMirrorAnnotation = "kubernetes.io/config.mirror"
	ConfigSeenAnnotation   = "kubernetes.io/config.seen"
	FileSource             = "file"
)

// resync is how often the directory is read even without an inotify event, as the kubelet's
// fileCheckFrequency (20 s): it also brings back a static pod deleted through the API.
const resync = 20 * time.Second

// maxManifest is the largest manifest file read (the API server's request limit).
const maxManifest = 3 << 20

// Manifest is one file's pod, or why it cannot run.
type Manifest struct {
	Path string
	Pod  *api.Pod
	Err  error
}

// Read reads every manifest of dir as the kubelet's file source does: regular files not
// starting with "." (subdirectories and hidden files are skipped), each one pod, named and
// annotated for node by Apply.
func Read(dir, node string) ([]Manifest, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read manifest directory %s: %w", dir, err)
	}
	var out []Manifest
	for _, d := range entries {
		if strings.HasPrefix(d.Name(), ".") || d.IsDir() {
			continue
		}
		path := filepath.Join(dir, d.Name())
		m := Manifest{Path: path}
		m.Pod, m.Err = readFile(path, node)
		out = append(out, m)
	}
	return out, nil
}

func readFile(path, node string) (*api.Pod, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxManifest)
	}
	p, err := api.Load(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := Apply(p, path, node); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Apply makes a manifest's pod the static pod of node, as the kubelet's applyDefaults does
// (pkg/kubelet/config/common.go): the name gets "-<node>", the namespace defaults to
// "default", spec.nodeName is the node, and the hash of the pod, the node and the file's path
// (the kubelet's UID of a static pod) is its config.hash and config.mirror annotations.
func Apply(p *api.Pod, path, node string) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	h := md5.New()
	h.Write(b)
	fmt.Fprintf(h, "host:%s", node)
	fmt.Fprintf(h, "file:%s", path)
	hash := hex.EncodeToString(h.Sum(nil))

	p.Metadata.Name = p.Metadata.Name + "-" + strings.ToLower(node)
	if len(p.Metadata.Name) > 253 {
		return fmt.Errorf("metadata.name: Invalid value: %q: must be no more than 253 characters (with the node name appended)", p.Metadata.Name)
	}
	if p.Metadata.Namespace == "" {
		p.Metadata.Namespace = "default"
	}
	p.Spec.NodeName = node
	if p.Metadata.Annotations == nil {
		p.Metadata.Annotations = map[string]string{}
	}
	p.Metadata.Annotations[ConfigSourceAnnotation] = FileSource
	p.Metadata.Annotations[ConfigHashAnnotation] = hash
	p.Metadata.Annotations[ConfigMirrorAnnotation] = hash
	p.Metadata.Annotations[ConfigSeenAnnotation] = time.Now().UTC().Format(time.RFC3339Nano)
	return nil
}

// IsStatic tells a static pod by its annotations.
func IsStatic(p *api.Pod) bool {
	return p.Metadata.Annotations[ConfigSourceAnnotation] == FileSource && p.Metadata.Annotations[ConfigHashAnnotation] != ""
}

// Action is what Plan decides for one pod.
type Action struct {
	Create *api.Pod // a pod to create (after Delete, if both)
	Delete string   // namespace/name of a pod to delete
}

// Plan compares the manifests with the pods there are: a manifest without its pod is
// created, one whose pod has another hash replaces it, and a static pod without a manifest
// is deleted. A pod of the same name that is not static is left alone (the manifest is
// reported in the error list). Pure: for table tests.
func Plan(manifests []Manifest, existing []*api.Pod) ([]Action, []error) {
	have := map[string]*api.Pod{}
	for _, p := range existing {
		have[p.Metadata.Namespace+"/"+p.Metadata.Name] = p
	}
	var acts []Action
	var errs []error
	want := map[string]bool{}
	for _, m := range manifests {
		if m.Err != nil {
			errs = append(errs, m.Err)
			continue
		}
		key := m.Pod.Metadata.Namespace + "/" + m.Pod.Metadata.Name
		if want[key] {
			errs = append(errs, fmt.Errorf("%s: pod %s is in another manifest too: skipped", m.Path, key))
			continue
		}
		want[key] = true
		cur := have[key]
		switch {
		case cur == nil:
			acts = append(acts, Action{Create: m.Pod})
		case !IsStatic(cur):
			errs = append(errs, fmt.Errorf("%s: pod %s exists and is not a static pod: skipped", m.Path, key))
		case cur.Metadata.Annotations[ConfigHashAnnotation] != m.Pod.Metadata.Annotations[ConfigHashAnnotation]:
			acts = append(acts, Action{Delete: key, Create: m.Pod})
		}
	}
	var gone []string
	for key, p := range have {
		if IsStatic(p) && !want[key] {
			gone = append(gone, key)
		}
	}
	sort.Strings(gone)
	for _, key := range gone {
		acts = append(acts, Action{Delete: key})
	}
	return acts, errs
}

// Manager keeps the static pods of a directory running.
type Manager struct {
	Cfg  state.Config
	Dir  string
	Node string
	Log  *slog.Logger
	// reported and reporting are the errors of the last sync and of this one: an error is
	// logged when it first appears, not at every sync while it lasts.
	reported, reporting map[string]bool
}

// Run syncs at start, on every change of the directory or of the pods (a static pod deleted
// through the API comes back at once), and every 20 s, until ctx ends. A directory that does
// not exist yet is waited for.
func (m *Manager) Run(ctx context.Context) {
	var podsWake <-chan struct{}
	if pw, err := pods.NewDirWatch(m.Cfg.PodsDir()); err == nil {
		defer pw.Close()
		podsWake = pw.C
	} else {
		m.report(err)
	}
	var wake <-chan struct{}
	var w *dirWatch
	defer func() {
		if w != nil {
			w.close()
		}
	}()
	for {
		if w == nil {
			if nw, err := newDirWatch(m.Dir); err == nil {
				w, wake = nw, nw.c
			}
		}
		m.Sync()
		select {
		case <-ctx.Done():
			return
		case <-podsWake:
		case <-wake:
			if w.gone() {
				w.close()
				w, wake = nil, nil
			}
		case <-time.After(resync):
		}
	}
}

// Sync makes the static pods match the manifests once.
func (m *Manager) Sync() {
	m.reporting = map[string]bool{}
	defer func() { m.reported = m.reporting }()
	manifests, err := Read(m.Dir, m.Node)
	if err != nil {
		// The kubelet's file source sends no update when the path cannot be read
		// (listConfig: "path does not exist, ignoring"): the static pods stay as they are.
		if !errors.Is(err, os.ErrNotExist) {
			m.report(err)
		}
		return
	}
	existing, err := pods.List(m.Cfg)
	if err != nil {
		m.report(fmt.Errorf("list pods: %w", err))
		return
	}
	acts, errs := Plan(manifests, existing)
	for _, err := range errs {
		m.report(err)
	}
	for _, a := range acts {
		if a.Delete != "" {
			ns, name, _ := strings.Cut(a.Delete, "/")
			m.Log.Info("static pod deleted", "pod", a.Delete, "replaced", a.Create != nil)
			// A replacement waits until the old pod is gone: they share a name.
			if err := pods.Delete(m.Cfg, ns, name, nil, a.Create != nil); err != nil && !errors.Is(err, pods.ErrPodNotFound) {
				m.report(fmt.Errorf("delete static pod %s: %w", a.Delete, err))
				continue
			}
		}
		if a.Create != nil {
			h, err := pods.Create(m.Cfg, a.Create)
			var rejected *pods.RejectedError
			switch {
			case errors.As(err, &rejected):
				m.Log.Warn("static pod rejected", "pod", a.Create.Metadata.Namespace+"/"+a.Create.Metadata.Name, "reason", rejected.Pod.Status.Reason)
			case errors.Is(err, pods.ErrPodExists):
				// Still being created or removed (List skips a pod without a status): the
				// next sync looks again.
			case err != nil:
				m.report(fmt.Errorf("create static pod %s/%s: %w", a.Create.Metadata.Namespace, a.Create.Metadata.Name, err))
			default:
				m.Log.Info("static pod created", "pod", h.Pod.Metadata.Namespace+"/"+h.Pod.Metadata.Name, "uid", h.Pod.Metadata.UID)
			}
		}
	}
}

func (m *Manager) report(err error) {
	if m.reporting == nil { // outside a sync
		m.reporting = map[string]bool{}
	}
	m.reporting[err.Error()] = true
	if m.reported[err.Error()] {
		return
	}
	m.Log.Error("static pods", "err", err)
}

// dirWatch wakes on any change of a directory's entries, file contents included (a file
// edited in place: IN_CLOSE_WRITE), and when the directory itself goes.
type dirWatch struct {
	f      *os.File
	c      chan struct{}
	done   chan struct{}
	isGone chan struct{}
}

func newDirWatch(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_CLOSE_WRITE | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w := &dirWatch{f: os.NewFile(uintptr(fd), "inotify"), c: make(chan struct{}, 1), done: make(chan struct{}), isGone: make(chan struct{})}
	go func() {
		defer close(w.done)
		buf := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := w.f.Read(buf)
			for off := 0; err == nil && off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
					select {
					case <-w.isGone:
					default:
						close(w.isGone)
					}
				}
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
			select {
			case w.c <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return w, nil
}

func (w *dirWatch) gone() bool {
	select {
	case <-w.isGone:
		return true
	default:
		return false
	}
}

func (w *dirWatch) close() {
	w.f.Close()
	<-w.done
}
