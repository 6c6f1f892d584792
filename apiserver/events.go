package apiserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/state"
)

// A pod's events.jsonl keeps every occurrence; the API serves core/v1 Events as the kubelet's
// event recorder makes them (client-go tools/record, EventCorrelator): identical events about
// one object fold into one Event whose count grows and whose lastTimestamp moves, named
// <pod>.<first occurrence in hex nanoseconds> as the recorder names them (makeEvent).
type eventObject = corev1.Event

type eventKey struct{ fieldPath, typ, reason, message string }

func keyOf(ev api.Event) eventKey {
	k := eventKey{ev.FieldPath, ev.Type, ev.Reason, ev.Message}
	if k.fieldPath == "" {
		k.fieldPath = ev.Container
	}
	return k
}

func sameEvent(a, b api.Event) bool {
	return a.Time.Equal(b.Time.Time) && keyOf(a) == keyOf(b)
}

// addEventLocked adds one occurrence to the entry's events; publish logs the Event's change.
func (s *store) addEventLocked(e *podEntry, ev api.Event, publish bool) {
	if publish {
		s.countPullLocked(ev)
	}
	e.events = append(e.events, ev)
	if e.summaries == nil {
		e.summaries = map[eventKey]*eventObject{}
	}
	k := keyOf(ev)
	t := metav1.NewTime(ev.Time.Time)
	var obj eventObject
	typ := evAdded
	if prev := e.summaries[k]; prev != nil {
		obj = *prev
		obj.Count++
		obj.LastTimestamp = t
		typ = evModified
	} else {
		var uid types.UID
		if e.pod != nil {
			uid = types.UID(e.pod.Metadata.UID)
		}
		obj = corev1.Event{
			TypeMeta:   metav1.TypeMeta{Kind: "Event", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", e.name, ev.Time.UnixNano()), Namespace: e.ns, CreationTimestamp: t},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: e.ns, Name: e.name, UID: uid,
				APIVersion: "v1", FieldPath: ev.FieldPath},
			Reason: ev.Reason, Message: ev.Message,
			Source:         corev1.EventSource{Component: kubeprint.EventSource, Host: s.node},
			FirstTimestamp: t, LastTimestamp: t, Count: 1, Type: ev.Type,
			ReportingController: kubeprint.EventSource, ReportingInstance: s.node,
		}
	}
	rv := s.current
	if publish {
		rv = max(s.clock.Next(), s.current+1)
	}
	obj.ResourceVersion = state.FormatRV(rv)
	e.summaries[k] = &obj
	if publish {
		s.appendLocked(change{rv: rv, typ: typ, event: &obj})
	}
}

// readEvents reads a pod's event log.
func readEvents(dir string) ([]api.Event, error) {
	b, err := os.ReadFile(filepath.Join(dir, state.EventsFile))
	if err != nil {
		return nil, err
	}
	var out []api.Event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev api.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out, nil
}

// events returns the Events of one namespace (all for ""), with the version of the list.
func (s *store) events(ns string) ([]*eventObject, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*eventObject
	for _, e := range s.pods {
		if ns != "" && e.ns != ns {
			continue
		}
		for _, obj := range e.summaries {
			out = append(out, obj)
		}
	}
	sortEvents(out)
	return out, s.current
}

func sortEvents(evs []*eventObject) {
	slices.SortFunc(evs, func(a, b *eventObject) int {
		if c := a.LastTimestamp.Time.Compare(b.LastTimestamp.Time); c != 0 {
			return c
		}
		if a.Namespace != b.Namespace {
			return strings.Compare(a.Namespace, b.Namespace)
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// eventFields are the fields an Event field selector may name (pkg/registry/core/event
// strategy.go ToSelectableFields).
func eventFields(e *eventObject) fields.Set {
	return fields.Set{
		"metadata.name":                  e.Name,
		"metadata.namespace":             e.Namespace,
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         e.Source.Component,
		"type":                           e.Type,
	}
}
