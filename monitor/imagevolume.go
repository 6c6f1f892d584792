package monitor

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/volume"
)

// Image volumes are pulled as the kubelet pulls them: per pod, before the containers that
// mount them start (getImageVolumes in SyncPod, pkg/kubelet/kuberuntime/kuberuntime_manager.go,
// calling the image manager's EnsureImageExists with the pod as the events' object), and a
// failed pull keeps each container that mounts the volume waiting with the pull's reason
// and message (toKubeContainerImageVolumes). The sandbox mounts the image.

// imageVolumes holds the pull state of the pod's image volumes.
type imageVolumes struct {
	mu    sync.Mutex
	byVol map[string]*imageVolume
}

// imageVolume is one image volume's pull state; mu serializes its pulls, so containers that
// mount it share them.
type imageVolume struct {
	mu       sync.Mutex
	failedAt time.Time // the last failed pull, from which the image back-off counts
	prevErr  string    // "ErrImagePull: <message>" of that pull, for the back-off's message
}

func (ivs *imageVolumes) get(name string) *imageVolume {
	ivs.mu.Lock()
	defer ivs.mu.Unlock()
	if ivs.byVol == nil {
		ivs.byVol = map[string]*imageVolume{}
	}
	v := ivs.byVol[name]
	if v == nil {
		v = &imageVolume{}
		ivs.byVol[name] = v
	}
	return v
}

// pullFailure is why an image volume is not ready: the kubelet's error (the container's
// waiting reason), its message, and when to look again.
type pullFailure struct {
	reason, msg string
	retryIn     time.Duration
}

// mountedImageVolumes returns the pod's image volumes the container mounts, in the order of
// its volumeMounts.
func (w *worker) mountedImageVolumes() []*api.Volume {
	var out []*api.Volume
	vols := w.m.pod.Spec.Volumes
	for _, vm := range w.c.VolumeMounts {
		for i := range vols {
			if v := &vols[i]; v.Name == vm.Name && v.Image != nil && !containsVolume(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func containsVolume(vs []*api.Volume, v *api.Volume) bool {
	for _, o := range vs {
		if o == v {
			return true
		}
	}
	return false
}

// pullImageVolumes ensures the images of the container's image volumes before each attempt,
// before its own image, as the kubelet does. While one fails the container waits with its
// reason and message and a Warning event "Error: <reason>" (toKubeContainerImageVolumes), and
// the pull is tried again with the image back-off: ErrImagePull, then ImagePullBackOff while
// the back-off runs, then a new pull. It returns false if the pod stops first.
func (w *worker) pullImageVolumes() bool {
	vols := w.mountedImageVolumes()
	if len(vols) == 0 {
		return true
	}
	for {
		got := map[string]*image.Image{}
		var failed *pullFailure
		for _, v := range vols {
			img, f := w.m.ensureImageVolume(v)
			if f != nil {
				failed = f // the kubelet reports the last failure
				continue
			}
			got[v.Name] = img
		}
		if failed == nil {
			w.imageVols = got
			return true
		}
		if w.m.isStopping() {
			return false
		}
		w.event(api.EventWarning, "Failed", "Error: "+failed.reason)
		w.setWaiting(failed.reason, failed.msg)
		select {
		case <-time.After(failed.retryIn):
		case <-w.m.stopc:
			return false
		}
	}
}

// ensureImageVolume is the image manager's EnsureImageExists for an image volume, its events
// about the pod: the image present (IfNotPresent, Never) or pulled (Always, IfNotPresent when
// absent), or why not.
func (m *monitor) ensureImageVolume(v *api.Volume) (*image.Image, *pullFailure) {
	iv := m.imageVolumes.get(v.Name)
	iv.mu.Lock()
	defer iv.mu.Unlock()
	ref, policy := v.Image.Reference, image.PullPolicy(v.Image.PullPolicy)
	tagged := withDefaultTag(ref)
	retry := m.rec.Config.BackoffInitial // the kubelet's next sync of a pod that failed one
	if policy != image.PullAlways {
		img, err := m.images.Get(m.ctx, ref, image.PullNever, image.PullOptions{})
		switch {
		case err == nil:
			m.event(nil, api.EventNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", ref))
			m.useImageVolume(v.Name, img)
			return img, nil
		case errors.Is(err, image.ErrInvalidReference):
			msg := fmt.Sprintf("Failed to apply default image tag %q: %v", ref, err)
			m.event(nil, api.EventWarning, "InspectFailed", msg)
			return nil, &pullFailure{"InvalidImageName", msg, retry}
		case policy == image.PullNever:
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", ref)
			m.event(nil, api.EventWarning, "ErrImageNeverPull", msg)
			return nil, &pullFailure{"ErrImageNeverPull", msg, retry}
		}
	}
	if !iv.failedAt.IsZero() {
		if wait := m.pulls.Remaining(ref, iv.failedAt, time.Now()); wait > 0 {
			msg := fmt.Sprintf("Back-off pulling image %q", tagged)
			m.event(nil, api.EventNormal, "BackOff", msg)
			return nil, &pullFailure{"ImagePullBackOff", msg + ": " + iv.prevErr, wait}
		}
	}
	started := time.Now()
	var fetched atomic.Bool
	keyring, err := m.pullKeyring()
	var img *image.Image
	if err == nil {
		img, err = m.images.Get(m.ctx, ref, policy, image.PullOptions{Progress: m.imagePullProgress(tagged, &fetched), Keyring: keyring})
	}
	if err != nil {
		if errors.Is(err, image.ErrInvalidReference) {
			msg := fmt.Sprintf("Failed to apply default image tag %q: %v", ref, err)
			m.event(nil, api.EventWarning, "InspectFailed", msg)
			return nil, &pullFailure{"InvalidImageName", msg, retry}
		}
		m.event(nil, api.EventWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", tagged, err))
		now := time.Now()
		m.pulls.Next(ref, now)
		iv.failedAt, iv.prevErr = now, "ErrImagePull: "+err.Error()
		// Looked at again within the back-off, the pod shows ImagePullBackOff until it ends.
		return nil, &pullFailure{"ErrImagePull", err.Error(), m.pulls.Remaining(ref, now, now) / 2}
	}
	iv.failedAt, iv.prevErr = time.Time{}, ""
	if fetched.Load() {
		d := time.Since(started).Truncate(time.Millisecond)
		m.event(nil, api.EventNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.", tagged, d, d, m.images.Size(img)))
	} else {
		m.event(nil, api.EventNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", ref))
	}
	m.useImageVolume(v.Name, img)
	return img, nil
}

// useImageVolume records the image an image volume uses, so that `image rm` and `image prune`
// leave it alone while the pod holds it.
func (m *monitor) useImageVolume(name string, img *image.Image) {
	key := "volume/" + name // not a container name: those have no "/"
	used := append([]string{img.ID}, img.Layers...)
	m.mu.Lock()
	changed := strings.Join(m.imagesUsed[key], "\n") != strings.Join(used, "\n")
	m.imagesUsed[key] = used
	m.mu.Unlock()
	if changed {
		m.recordImages()
	}
}

// imagePullProgress reports an image volume's pull on the pod: the kubelet's Pulling event,
// then minipod's PullProgress events for `minipod run` to show.
func (m *monitor) imagePullProgress(tagged string, fetched *atomic.Bool) func(image.Progress) {
	var once sync.Once
	return func(p image.Progress) {
		if p.Layer != "" {
			fetched.Store(true)
		}
		once.Do(func() { m.event(nil, api.EventNormal, "Pulling", fmt.Sprintf("Pulling image %q", tagged)) })
		switch {
		case p.Layer == "" && p.Message != "":
			m.event(nil, api.EventNormal, "PullProgress", fmt.Sprintf("%s: %s", tagged, p.Message))
		case p.Done:
			m.event(nil, api.EventNormal, "PullProgress", fmt.Sprintf("%s: layer %s done (%s)", tagged, p.Layer, formatBytes(p.Total)))
		}
	}
}

// volumeSources are the pod's volume sources with the container's image volumes mounted by
// the sandbox. A mount that fails is containerd's ErrImageVolumeMountFailed, a container
// that cannot be created.
func (w *worker) volumeSources() (volume.Sources, error) {
	src := w.m.sb.Volumes
	if len(w.imageVols) == 0 {
		return src, nil
	}
	src = maps.Clone(src)
	for name, img := range w.imageVols {
		p, err := w.m.sb.MountImage(img.ID, img.Layers)
		if err != nil {
			return nil, &ocispec.CreateError{Reason: ocispec.ReasonCreateContainerError,
				Message: fmt.Sprintf("ImageVolumeMountFailed: volume %q: %v", name, err)}
		}
		src[name] = p
	}
	return src, nil
}

// withDefaultTag is the image manager's applyDefaultImageTag: a registry reference without a
// tag or digest gets ":latest" in the kubelet's pull messages.
func withDefaultTag(ref string) string {
	for _, p := range []string{"rootfs:", "oci:", "oci-archive:", "docker-archive:"} {
		if strings.HasPrefix(ref, p) {
			return ref
		}
	}
	if strings.Contains(ref, "@") {
		return ref
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref
	}
	return ref + ":latest"
}
