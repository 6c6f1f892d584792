package monitor

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/image"
)

// pullImage gets the container's image per its imagePullPolicy, retrying with the image
// back-off while the image is unavailable, as the kubelet does before every start of a
// container (pkg/kubelet/images/image_manager.go). It returns nil when the container will
// never start.
func (w *worker) pullImage() *image.Image {
	m, c := w.m, w.c
	policy := image.PullPolicy(c.ImagePullPolicy)
	for attempt := 0; ; attempt++ {
		started := time.Now()
		var fetched atomic.Bool
		keyring, err := m.pullKeyring()
		var img *image.Image
		if err == nil {
			img, err = m.images.Get(m.ctx, c.Image, policy, image.PullOptions{Progress: w.pullProgress(&fetched), Keyring: keyring})
		}
		if err == nil {
			if fetched.Load() {
				d := time.Since(started).Truncate(time.Millisecond)
				w.event(api.EventNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.", c.Image, d, d, m.images.Size(img)))
			} else if attempt == 0 {
				w.event(api.EventNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image))
			}
			m.mu.Lock()
			// Like the kubelet: the normalized name, and the repo digest when there is one.
			w.status.ImageID = img.ImageRef()
			if img.Name != "" {
				w.status.Image = img.Name
			}
			used := append([]string{img.ID}, img.Layers...)
			changed := !slices.Equal(m.imagesUsed[c.Name], used)
			m.imagesUsed[c.Name] = used
			m.mu.Unlock()
			if changed {
				m.recordImages()
			}
			return img
		}
		if m.isStopping() {
			return nil
		}
		var reason string
		switch {
		case errors.Is(err, image.ErrInvalidReference):
			w.event(api.EventWarning, "InspectFailed", fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err))
			w.setWaiting("InvalidImageName", fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err))
			return nil
		case errors.Is(err, image.ErrNeverPull):
			// The kubelet keeps checking for the image.
			reason = "ErrImageNeverPull"
			err = fmt.Errorf("container image %q is not present with pull policy of Never", c.Image)
			w.event(api.EventWarning, reason, fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image))
		case attempt == 0:
			reason = "ErrImagePull"
			w.event(api.EventWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		default:
			reason = "ImagePullBackOff"
			w.event(api.EventNormal, "BackOff", fmt.Sprintf("Back-off pulling image %q", c.Image))
		}
		w.setWaiting(reason, err.Error())
		m.pulls.Next(c.Image, time.Now())
		select {
		case <-time.After(m.pulls.Remaining(c.Image, time.Now(), time.Now())):
		case <-m.stopc:
			return nil
		}
	}
}

// pullProgress reports a pull: the kubelet's Pulling event when it begins, then PullProgress
// events at most twice a second per layer (minipod's own, for `minipod run` to show); it
// notes in fetched whether any layer was downloaded.
func (w *worker) pullProgress(fetched *atomic.Bool) func(image.Progress) {
	c := w.c
	var mu sync.Mutex
	var pulling bool
	last := map[string]time.Time{}
	return func(p image.Progress) {
		if p.Layer != "" {
			fetched.Store(true)
		}
		mu.Lock()
		defer mu.Unlock()
		if !pulling {
			pulling = true
			w.event(api.EventNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
		}
		switch {
		case p.Layer == "" && p.Message != "":
			w.event(api.EventNormal, "PullProgress", fmt.Sprintf("%s: %s", c.Image, p.Message))
		case p.Done:
			w.event(api.EventNormal, "PullProgress", fmt.Sprintf("%s: layer %s done (%s)", c.Image, p.Layer, formatBytes(p.Total)))
		case time.Since(last[p.Layer]) > 500*time.Millisecond:
			last[p.Layer] = time.Now()
			w.event(api.EventNormal, "PullProgress", fmt.Sprintf("%s: layer %s %s / %s", c.Image, p.Layer, formatBytes(p.Complete), formatBytes(p.Total)))
		}
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
