package monitor

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minipod/minipod/image"
)

// pullImage gets the container's image per its imagePullPolicy, retrying with the image
// back-off while the image is unavailable, as the kubelet does before every start of a
// container. It returns nil when the container will never start.
func (w *worker) pullImage() *image.Image {
	m, c := w.m, w.c
	policy := image.PullPolicy(c.ImagePullPolicy)
	for attempt := 0; ; attempt++ {
		started := time.Now()
		var fetched atomic.Bool
		img, err := m.images.Get(m.ctx, c.Image, policy, image.PullOptions{Progress: w.pullProgress(&fetched)})
		if err == nil {
			// The kubelet's events (pkg/kubelet/images/image_manager.go).
			if fetched.Load() {
				m.event(c.Name, "Pulled", fmt.Sprintf("Successfully pulled image %q in %s", c.Image, time.Since(started).Round(time.Millisecond)))
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
			w.setWaiting("InvalidImageName", fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err))
			return nil
		case errors.Is(err, image.ErrNeverPull):
			// pkg/kubelet/images/image_manager.go: the kubelet keeps checking for the image.
			reason = "ErrImageNeverPull"
			err = fmt.Errorf("container image %q is not present with pull policy of Never", c.Image)
		case attempt == 0:
			reason = "ErrImagePull"
		default:
			reason = "ImagePullBackOff"
		}
		m.event(c.Name, "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		w.setWaiting(reason, err.Error())
		m.pulls.Next(c.Image, time.Now())
		select {
		case <-time.After(m.pulls.Remaining(c.Image, time.Now(), time.Now())):
		case <-m.stopc:
			return nil
		}
	}
}

// pullProgress reports a pull as events, at most twice a second per layer, and notes in
// fetched whether any layer was downloaded.
func (w *worker) pullProgress(fetched *atomic.Bool) func(image.Progress) {
	m, c := w.m, w.c
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(p image.Progress) {
		if p.Layer != "" {
			fetched.Store(true)
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case p.Layer == "" && p.Message != "":
			m.event(c.Name, "Pulling", fmt.Sprintf("%s: %s", c.Image, p.Message))
		case p.Done:
			m.event(c.Name, "Pulling", fmt.Sprintf("%s: layer %s done (%s)", c.Image, p.Layer, formatBytes(p.Total)))
		case time.Since(last[p.Layer]) > 500*time.Millisecond:
			last[p.Layer] = time.Now()
			m.event(c.Name, "Pulling", fmt.Sprintf("%s: layer %s %s / %s", c.Image, p.Layer, formatBytes(p.Complete), formatBytes(p.Total)))
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
