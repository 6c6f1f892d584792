package kubeprint

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/minipod/minipod/api"
)

// EventSource is the component the kubelet's events name as their source (From).
const EventSource = "kubelet"

// EventSummary is a run of identical events about one pod: the same container, type,
// reason and message. The kubelet's event recorder (client-go's EventCorrelator) turns such a
// run into one Event whose count grows and whose lastTimestamp moves; a pod's event log keeps
// every occurrence, and this puts them back together.
type EventSummary struct {
	api.Event // the latest occurrence
	// First and Last are the times of the first and the latest occurrence.
	First, Last time.Time
	Count       int32
}

type eventKey struct{ fieldPath, typ, reason, message string }

// AggregateEvents folds identical events into summaries, ordered by their latest occurrence
// (kubectl's SortableEvents order), oldest first.
func AggregateEvents(events []api.Event) []EventSummary {
	var out []EventSummary
	index := map[eventKey]int{}
	for _, e := range events {
		k := eventKey{e.FieldPath, e.Type, e.Reason, e.Message}
		if e.FieldPath == "" {
			k.fieldPath = e.Container
		}
		if i, ok := index[k]; ok {
			s := &out[i]
			s.Count++
			if e.Time.Before(s.First) {
				s.First = e.Time.Time
			}
			if !e.Time.Before(s.Last) {
				s.Last = e.Time.Time
				s.Event = e
			}
			continue
		}
		index[k] = len(out)
		out = append(out, EventSummary{Event: e, First: e.Time.Time, Last: e.Time.Time, Count: 1})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Last.Before(out[j].Last) })
	return out
}

// Since is kubectl's translateTimestampSince: how long ago t was, "<unknown>" for no time.
func Since(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// EventColumns are the columns of `kubectl get events`.
var EventColumns = []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}

// EventCells is one row of `kubectl get events` (printEvent) for an event about pod: LAST
// SEEN, TYPE, REASON, OBJECT (pod/NAME) and MESSAGE.
func EventCells(pod string, s EventSummary, now time.Time) []string {
	return []string{Since(s.Last, now), s.Type, s.Reason, "pod/" + pod, strings.TrimSpace(s.Message)}
}

// describeAge is the Age column of describe's events (DescribeEvents): how long ago, with the
// count and the age of the first occurrence when there were several.
func describeAge(s EventSummary, now time.Time) string {
	if s.Count > 1 {
		return fmt.Sprintf("%s (x%d over %s)", Since(s.Last, now), s.Count, Since(s.First, now))
	}
	return Since(s.First, now)
}
