package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/objects"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/podconfig"
	"github.com/minipod/minipod/resources"
	"github.com/minipod/minipod/volume"
)

// configVolumes keeps the pod's configMap, secret, downwardAPI and projected volumes as the
// kubelet's volume manager does: every one is written (podconfig.VolumePayload, then
// volume.WriteAtomic) before any container is created, a failure being the kubelet's
// FailedMount event and a wait; then, while the pod runs, each is written again whenever an
// object it projects changes in the store (inotify: the kubelet's refresh, done at once) or
// the pod's metadata does (Refresh). A pod without such volumes costs nothing: no goroutine,
// no watch.
type configVolumes struct {
	m       *monitor
	store   *objects.Store
	vols    []*api.Volume
	ready   chan struct{} // closed once every volume was written once
	done    chan struct{} // closed when run returns: nothing more is written
	refresh chan struct{} // the pod's metadata changed (capacity 1)

	failed map[string]string // volume name -> the message of its last failed write
}

func newConfigVolumes(m *monitor) *configVolumes {
	cv := &configVolumes{m: m, store: objects.Open(m.rec.Config.ObjectsDir()), ready: make(chan struct{}), done: make(chan struct{}),
		refresh: make(chan struct{}, 1), failed: map[string]string{}}
	for i := range m.pod.Spec.Volumes {
		if v := &m.pod.Spec.Volumes[i]; podconfig.IsConfigVolume(v) {
			cv.vols = append(cv.vols, v)
		}
	}
	return cv
}

// refs are the objects the volumes project.
func (cv *configVolumes) refs() []objects.Ref {
	var refs []objects.Ref
	add := func(kind, name string) { refs = append(refs, objects.Ref{Kind: kind, Name: name}) }
	for _, v := range cv.vols {
		switch {
		case v.ConfigMap != nil:
			add("ConfigMap", v.ConfigMap.Name)
		case v.Secret != nil:
			add("Secret", v.Secret.SecretName)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					add("ConfigMap", s.ConfigMap.Name)
				}
				if s.Secret != nil {
					add("Secret", s.Secret.Name)
				}
			}
		}
	}
	return refs
}

// run writes the volumes once the sandbox has made their directories, then keeps them up to
// date until the pod stops.
func (cv *configVolumes) run() {
	defer close(cv.done)
	if len(cv.vols) == 0 {
		close(cv.ready)
		return
	}
	if !cv.m.waitSandbox() {
		return
	}
	var changed <-chan struct{}
	if refs := cv.refs(); len(refs) > 0 {
		w, err := cv.store.Watch(cv.m.pod.Metadata.Namespace, refs)
		if err != nil {
			// The volumes are written all the same; they only miss later updates.
			cv.m.log.Error("watch the objects of configuration volumes", "err", err)
		} else {
			defer w.Close()
			changed = w.C
		}
	}
	first := true
	for {
		if cv.writeAll(!first) && first {
			first = false
			close(cv.ready)
		}
		select {
		case <-changed:
		case <-cv.refresh:
		case <-cv.m.stopc:
			return
		}
	}
}

// writeAll writes every volume and reports whether all were written.
func (cv *configVolumes) writeAll(update bool) bool {
	m := cv.m
	m.mu.Lock()
	pod := m.pod // metadata maps are replaced, never changed in place
	m.mu.Unlock()
	facts := m.podFacts(&pod)
	ok := true
	for _, v := range cv.vols {
		dir := m.sb.Volumes[v.Name]
		payload, err := podconfig.VolumePayload(v, &pod, facts, cv.store)
		var changed bool
		if err == nil {
			changed, err = volume.WriteAtomic(dir, payload, setPerms(dir, pod.Spec.SecurityContext))
		}
		if err != nil {
			ok = false
			// The kubelet's operation executor: MountVolume.SetUp failed, retried.
			msg := fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
			if cv.failed[v.Name] != msg {
				cv.failed[v.Name] = msg
				m.event(nil, api.EventWarning, "FailedMount", msg)
			}
			continue
		}
		delete(cv.failed, v.Name)
		if changed && update {
			m.log.Info("configuration volume updated", "volume", v.Name)
		}
	}
	return ok
}

// setPerms gives the pod's fsGroup the whole volume, as the kubelet's configMap, secret,
// downwardAPI and projected plugins do at each write (SetVolumeOwnership of a read-only
// volume, no change policy: group read, setgid directories).
func setPerms(dir string, sc *api.PodSecurityContext) func(string) error {
	if sc == nil || sc.FSGroup == nil {
		return nil
	}
	g := *sc.FSGroup
	return func(string) error { return volume.SetOwnership(dir, g, nil, true) }
}

// waitConfigVolumes waits until the configuration volumes are written (the kubelet's
// WaitForAttachAndMount); false if the pod stops first.
func (m *monitor) waitConfigVolumes() bool {
	select {
	case <-m.configVols.ready:
		return true
	case <-m.stopc:
		return false
	}
}

// MetadataChanged has the downwardAPI volumes (and projections) written again after the pod's
// labels or annotations changed, as the kubelet does at its next sync of the pod.
func (m *monitor) metadataChanged() {
	if m.configVols == nil {
		return // not running
	}
	select {
	case m.configVols.refresh <- struct{}{}:
	default:
	}
}

// setMetadata replaces the pod's labels and annotations (what `kubectl label` and `kubectl
// annotate` change on a running pod), writes the status and refreshes the volumes that show
// them.
func (m *monitor) setMetadata(labels, annotations map[string]string) (*api.Pod, error) {
	if err := api.ValidateLabelsAndAnnotations(labels, annotations); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.pod.Metadata.Labels, m.pod.Metadata.Annotations = labels, annotations
	m.updateLocked()
	pod := m.pod
	m.mu.Unlock()
	m.metadataChanged()
	return &pod, nil
}

// nodeFacts are the host's facts of the downward API, read once.
var nodeFacts = sync.OnceValues(func() (string, error) {
	h, err := os.Hostname()
	// The kubelet's node name: the hostname, lower case (nodeutil.GetHostname).
	return strings.ToLower(strings.TrimSpace(h)), err
})

// podFacts are what the downward API reads from outside the pod's spec: the node's name and
// allocatable resources, the pod's and the host's addresses.
func (m *monitor) podFacts(pod *api.Pod) podconfig.Facts {
	node, _ := nodeFacts()
	f := podconfig.Facts{NodeName: node, Allocatable: m.allocatable()}
	for _, ip := range pod.Status.PodIPs {
		f.PodIPs = append(f.PodIPs, ip.IP)
	}
	for _, ip := range pod.Status.HostIPs {
		f.HostIPs = append(f.HostIPs, ip.IP)
	}
	return f
}

// allocatable is the node's allocatable resources, as the kubelet reports them: capacity less
// --reserved. Read at each use: cheap, and only pods that ask pay for it.
func (m *monitor) allocatable() api.ResourceList {
	capacity, err := resources.HostCapacity(m.rec.Config.Root)
	if err != nil {
		m.log.Error("host capacity", "err", err)
		return nil
	}
	return resources.NewNode(capacity, m.rec.Config.Reserved).Allocatable
}

// containerEnv is the container's environment as the kubelet makes it; a missing ConfigMap,
// Secret or key is a CreateContainerConfigError with the kubelet's message.
func (w *worker) containerEnv() ([]api.EnvVar, error) {
	m := w.m
	if len(w.c.EnvFrom) == 0 && !hasValueFrom(w.c.Env) {
		return nil, nil // the values as written, expanded by ocispec
	}
	m.mu.Lock()
	pod := m.pod
	m.mu.Unlock()
	vars, events, err := podconfig.Env(&podconfig.EnvInput{Pod: &pod, Container: w.c, Facts: m.podFacts(&pod),
		Objects: m.configVols.store, OpenEnvFile: m.openEnvFile})
	for _, e := range events {
		m.event(nil, e.Type, e.Reason, e.Message)
	}
	if err != nil {
		return nil, &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerConfigError, Message: err.Error()}
	}
	return vars, nil
}

func hasValueFrom(env []api.EnvVar) bool {
	for _, e := range env {
		if e.ValueFrom != nil {
			return true
		}
	}
	return false
}

// openEnvFile opens a file of one of the pod's volumes for a fileKeyRef, resolved inside the
// volume (SecureJoin, as the kubelet).
func (m *monitor) openEnvFile(vol, path string) (io.ReadCloser, string, error) {
	dir, ok := m.sb.Volumes[vol]
	if !ok {
		return nil, "", podconfig.ErrNoVolume
	}
	p, err := securejoin.SecureJoin(dir, path)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, p, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, p, errors.Join(err, fmt.Errorf("%s is not a regular file", p))
	}
	return f, p, nil
}
