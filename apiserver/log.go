package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/state"
)

// pods/log, as the API server checks the request (pkg/registry/core/pod/strategy.go
// LogLocation, validateContainer) and the kubelet reads the CRI log
// (pkg/kubelet/kubelet_pods.go GetContainerLogs, validateContainerLogStatus;
// pkg/kubelet/kuberuntime/logs ReadLogs): the current instance of the container, or the
// previous one; tailLines first, then sinceSeconds/sinceTime; timestamps; limitBytes; follow
// until the instance ends, across the log's rotations.

// logOptions are a pods/log request's parameters (PodLogOptions).
type logOptions struct {
	container  string
	follow     bool
	previous   bool
	timestamps bool
	tail       int // -1: all
	since      time.Time
	limitBytes int64 // 0: none
}

func parseLogOptions(r *http.Request) (*logOptions, error) {
	q := r.URL.Query()
	o := &logOptions{container: q.Get("container"), tail: -1}
	var err error
	boolean := func(name string) bool {
		v := q.Get(name)
		if v == "" {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil && err == nil {
			err = errBadRequest(fmt.Sprintf("%s: invalid value %q", name, v))
		}
		return b
	}
	o.follow, o.previous, o.timestamps = boolean("follow"), boolean("previous"), boolean("timestamps")
	if err != nil {
		return nil, err
	}
	var invalid []api.FieldError
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			invalid = append(invalid, api.FieldError{Field: "tailLines", Detail: fmt.Sprintf("Invalid value: %s: must be greater than or equal to 0", v)})
		} else {
			o.tail = int(min(n, 1<<30))
		}
	}
	if v := q.Get("limitBytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			invalid = append(invalid, api.FieldError{Field: "limitBytes", Detail: fmt.Sprintf("Invalid value: %s: must be greater than 0", v)})
		} else {
			o.limitBytes = n
		}
	}
	ss, st := q.Get("sinceSeconds"), q.Get("sinceTime")
	if ss != "" && st != "" {
		invalid = append(invalid, api.FieldError{Detail: "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"})
	}
	if ss != "" {
		n, err := strconv.ParseInt(ss, 10, 64)
		if err != nil || n < 1 {
			invalid = append(invalid, api.FieldError{Field: "sinceSeconds", Detail: fmt.Sprintf("Invalid value: %s: must be greater than 0", ss)})
		} else {
			o.since = time.Now().Add(-time.Duration(n) * time.Second)
		}
	}
	if st != "" {
		t, err := time.Parse(time.RFC3339, st)
		if err != nil {
			return nil, errBadRequest(fmt.Sprintf("sinceTime: %v", err))
		}
		o.since = t
	}
	if len(invalid) > 0 {
		return nil, errInvalid("PodLogOptions", "", invalid)
	}
	return o, nil
}

// logContainer resolves the container a request names (validateContainer).
func logContainer(p *api.Pod, name string) (string, error) {
	if name == "" {
		switch len(p.Spec.Containers) {
		case 1:
			return p.Spec.Containers[0].Name, nil
		case 0:
			return "", errBadRequest(fmt.Sprintf("a container name must be specified for pod %s", p.Metadata.Name))
		}
		var names []string
		for _, c := range append(append([]api.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			names = append(names, c.Name)
		}
		return "", errBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", p.Metadata.Name, names))
	}
	for _, c := range append(append([]api.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == name {
			return name, nil
		}
	}
	for _, c := range p.Spec.EphemeralContainers {
		if c.Name == name {
			return name, nil
		}
	}
	return "", errBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, p.Metadata.Name))
}

func containerStatus(p *api.Pod, name string) *api.ContainerStatus {
	for _, list := range [][]api.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// logAttempt is the instance whose log is read (validateContainerLogStatus): the current one,
// or the one before it with previous.
func logAttempt(cs *api.ContainerStatus, pod, container string, previous bool) (int32, error) {
	if cs == nil {
		return 0, errBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", container, pod))
	}
	if previous {
		if cs.RestartCount == 0 && cs.LastState.Terminated == nil {
			return 0, errBadRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod))
		}
		return max(cs.RestartCount-1, 0), nil
	}
	if cs.RestartCount == 0 && cs.State.Waiting != nil && cs.LastState.Terminated == nil {
		reason := cs.State.Waiting.Reason
		if reason == "" {
			reason = "ContainerCreating"
		}
		return 0, errBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, pod, reason))
	}
	return cs.RestartCount, nil
}

// instanceOver reports whether instance n of a container will not be written to any more.
func instanceOver(p *api.Pod, container string, n int32) bool {
	if p == nil {
		return true
	}
	cs := containerStatus(p, container)
	switch {
	case cs == nil:
		return false
	case cs.RestartCount > n:
		return true
	case cs.State.Running != nil:
		return false
	case cs.State.Terminated != nil:
		return true
	case cs.State.Waiting != nil && cs.LastState.Terminated != nil:
		return true
	}
	return p.Status.Phase == api.PodUnknown
}

// logWriter writes records as the kubelet's log writer does: optional timestamps, a limit in
// bytes, flushed after each record when following.
type logWriter struct {
	w          *bufio.Writer
	flusher    http.Flusher
	o          *logOptions
	written    int64
	errLimit   error
	headerSent func()
}

var errLimitReached = errors.New("limit reached")

func (lw *logWriter) emit(r crilog.Record) error {
	if !lw.o.since.IsZero() && r.Time.Before(lw.o.since) {
		return nil
	}
	lw.headerSent()
	var line []byte
	if lw.o.timestamps {
		line = append(line, r.Time.Format(time.RFC3339Nano)...)
		line = append(line, ' ')
	}
	line = append(line, r.Content...)
	if !r.Partial {
		line = append(line, '\n')
	}
	if lw.o.limitBytes > 0 && lw.written+int64(len(line)) > lw.o.limitBytes {
		line = line[:lw.o.limitBytes-lw.written]
	}
	n, err := lw.w.Write(line)
	lw.written += int64(n)
	if err != nil {
		return err
	}
	if lw.o.follow {
		if err := lw.w.Flush(); err != nil {
			return err
		}
		if lw.flusher != nil {
			lw.flusher.Flush()
		}
	}
	if lw.o.limitBytes > 0 && lw.written >= lw.o.limitBytes {
		return errLimitReached
	}
	return nil
}

func (s *Server) podLog(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	o, err := parseLogOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	p, changed := s.store.get(ns, name)
	if p == nil {
		writeError(w, errNotFound(podsResource, name))
		return
	}
	c, err := logContainer(p, o.container)
	if err != nil {
		writeError(w, err)
		return
	}
	n, err := logAttempt(containerStatus(p, c), name, c, o.previous)
	if err != nil {
		writeError(w, err)
		return
	}
	rec := &state.Record{Config: s.cfg, Pod: *p}
	path := rec.LogFile(c, n)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !o.previous && n > 0 {
		// Restarting: the new instance has no log yet; the last one that ran has.
		n--
		path = rec.LogFile(c, n)
	}
	started := false
	lw := &logWriter{w: bufio.NewWriterSize(w, 32<<10), o: o, headerSent: func() {
		if !started {
			started = true
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
		}
	}}
	lw.flusher, _ = w.(http.Flusher)
	defer func() {
		if !started {
			lw.headerSent()
		}
		lw.w.Flush()
	}()
	if !o.follow || o.previous || instanceOver(p, c, n) {
		recs, err := crilog.Tail(path, o.tail)
		if errors.Is(err, os.ErrNotExist) {
			return // no output yet
		}
		if err != nil {
			writeError(w, errInternal(err))
			started = true
			return
		}
		for _, rec := range recs {
			if lw.emit(rec) != nil {
				return
			}
		}
		return
	}
	// Follow until the instance is over: done closes when a status says so.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
			var cur *api.Pod
			cur, changed = s.store.get(ns, name)
			if cur == nil || cur.Metadata.UID != p.Metadata.UID || instanceOver(cur, c, n) {
				return
			}
		}
	}()
	lw.headerSent() // headers now: kubectl shows nothing until they arrive
	lw.flusher.Flush()
	err = crilog.FollowTail(ctx, path, o.tail, done, lw.emit)
	if err != nil && !errors.Is(err, errLimitReached) && !errors.Is(err, context.Canceled) && !errors.Is(err, os.ErrNotExist) {
		s.log.Debug("follow log", "pod", ns+"/"+name, "container", c, "err", err)
	}
}
