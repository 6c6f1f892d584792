package apiserver

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// A watch is served as the API server's cacher serves it (staging/src/k8s.io/apiserver/pkg/
// storage/cacher): a stream of {"type","object"} lines. Without a resourceVersion (or "0"),
// or with sendInitialEvents=true, it starts with an ADDED event for every object there is
// (then, with sendInitialEvents, a BOOKMARK annotated k8s.io/initial-events-end); with a
// resourceVersion it starts with every change after that version, or a 410 Expired ERROR
// event when the version is older than what the store keeps. With allowWatchBookmarks,
// BOOKMARK events carry the current version now and then. A watch ends after timeoutSeconds
// (default: 30 to 60 minutes, as the API server's --min-request-timeout spreads them).

// watchFilter turns a change into the object a watch sends, if it matches.
type watchFilter struct {
	resource resource
	// pick returns the change's object if the watch wants it.
	pick func(c change) (any, *api.Pod, bool)
	// snapshot lists the objects there are, as changes, with the store's lock held.
	snapshot func(st *store) []change
	bookmark func(rv string) any
	// table renders a picked object (not a pod) as a Table row, if set.
	table func(r *http.Request, obj any) any
}

func watchPods(match func(*api.Pod) bool) watchFilter {
	return watchFilter{
		resource: podsResource,
		pick: func(c change) (any, *api.Pod, bool) {
			if c.pod == nil || !match(c.pod) {
				return nil, nil, false
			}
			return nil, c.pod, true
		},
		snapshot: func(st *store) []change {
			var out []change
			for _, e := range st.pods {
				if e.pod != nil {
					out = append(out, change{typ: evAdded, pod: e.pod})
				}
			}
			return out
		},
		bookmark: func(rv string) any {
			return &api.Pod{APIVersion: "v1", Kind: "Pod", Metadata: api.ObjectMeta{ResourceVersion: rv}}
		},
	}
}

func watchEvents(match func(*eventObject) bool) watchFilter {
	return watchFilter{
		resource: eventsResource,
		pick: func(c change) (any, *api.Pod, bool) {
			if c.event == nil || !match(c.event) {
				return nil, nil, false
			}
			return c.event, nil, true
		},
		snapshot: func(st *store) []change {
			var out []change
			for _, e := range st.pods {
				for _, ev := range e.summaries {
					out = append(out, change{typ: evAdded, event: ev})
				}
			}
			return out
		},
		bookmark: func(rv string) any {
			return &eventObject{TypeMeta: metav1.TypeMeta{Kind: "Event", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}
		},
	}
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request, f watchFilter) {
	q := r.URL.Query()
	rvs := q.Get("resourceVersion")
	rv, err := state.ParseRV(rvs)
	if err != nil {
		writeError(w, errBadRequest(fmt.Sprintf("invalid resource version: %s", rvs)))
		return
	}
	sendInitial := q.Get("sendInitialEvents") == "true"
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	timeout := time.Duration(30*60+rand.IntN(30*60)) * time.Second
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, errBadRequest(fmt.Sprintf("invalid timeoutSeconds: %s", v)))
			return
		}
		timeout = time.Duration(n) * time.Second
	}
	// Without a version the watch starts from the current objects; with sendInitialEvents
	// too, the state at the version asked for being not kept but the current one newer,
	// which NotOlderThan allows.
	var snapshot func(*store) []change
	if rv == 0 || sendInitial {
		snapshot = f.snapshot
	}
	first, sub, cur, ok := s.store.subscribe(rv, snapshot)
	table := wantsTable(r)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush() // the client has its answer before the first event
	}
	enc := json.NewEncoder(w)
	send := func(typ string, obj any) bool {
		if err := enc.Encode(map[string]any{"type": typ, "object": obj}); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !ok {
		send("ERROR", &errGone(fmt.Sprintf("too old resource version: %d (%d)", rv, cur)).(*statusError).s)
		return
	}
	defer s.store.unsubscribe(sub)
	emit := func(c change) bool {
		obj, pod, ok := f.pick(c)
		if !ok {
			return true
		}
		if pod == nil && table && f.table != nil {
			obj = f.table(r, obj)
		}
		if pod != nil {
			if table {
				obj = s.table(r, []*api.Pod{pod}, "", true)
			} else {
				obj = s.out(pod)
			}
		}
		return send(c.typ, obj)
	}
	for _, c := range first {
		if !emit(c) {
			return
		}
	}
	if sendInitial {
		b := f.bookmark(state.FormatRV(cur))
		switch b := b.(type) {
		case *api.Pod:
			b.Metadata.Annotations = map[string]string{"k8s.io/initial-events-end": "true"}
		case *eventObject:
			b.Annotations = map[string]string{"k8s.io/initial-events-end": "true"}
		case api.Object:
			b.GetMeta().Annotations = map[string]string{"k8s.io/initial-events-end": "true"}
		}
		if !send(evBookmark, b) {
			return
		}
	}
	end := time.NewTimer(timeout)
	defer end.Stop()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	if !bookmarks {
		tick.Stop()
	}
	for {
		select {
		case c, ok := <-sub.ch:
			if !ok {
				return // fell behind: the client watches again from where it is
			}
			if !emit(c) {
				return
			}
		case <-tick.C:
			if !send(evBookmark, f.bookmark(state.FormatRV(s.store.currentRV()))) {
				return
			}
		case <-end.C:
			return
		case <-r.Context().Done():
			return
		}
	}
}
