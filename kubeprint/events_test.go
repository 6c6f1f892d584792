package kubeprint

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

func TestAggregateEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	events := []api.Event{
		ev(at(0), api.EventNormal, "Started", "a", "Started container a"),
		ev(at(1), api.EventWarning, "BackOff", "a", "back-off"),
		ev(at(2), api.EventNormal, "Started", "b", "Started container b"),
		ev(at(5), api.EventWarning, "BackOff", "a", "back-off"),
		ev(at(3), api.EventNormal, "Started", "a", "Started container a"), // out of order
		ev(at(9), api.EventWarning, "BackOff", "a", "back-off"),
		ev(at(7), api.EventWarning, "BackOff", "b", "back-off"), // another container: its own
		{Time: api.MicroTime{Time: at(8)}, Type: api.EventNormal, Reason: "DeadlineExceeded", Message: "pod event"},
	}
	got := AggregateEvents(events)
	type sum struct {
		reason, container string
		first, last       time.Time
		count             int32
	}
	var short []sum
	for _, s := range got {
		short = append(short, sum{s.Reason, s.Container, s.First, s.Last, s.Count})
	}
	want := []sum{
		{"Started", "b", at(2), at(2), 1},
		{"Started", "a", at(0), at(3), 2},
		{"BackOff", "b", at(7), at(7), 1},
		{"DeadlineExceeded", "", at(8), at(8), 1},
		{"BackOff", "a", at(1), at(9), 3},
	}
	if !reflect.DeepEqual(short, want) {
		t.Errorf("AggregateEvents:\n got %+v\nwant %+v", short, want)
	}
	if got[4].Time.Time != at(9) {
		t.Errorf("the summary carries the latest occurrence, got %v", got[4].Time)
	}
	if AggregateEvents(nil) != nil {
		t.Error("no events: no summaries")
	}
}

func TestEventCellsAndAges(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s := EventSummary{Event: api.Event{Type: "Warning", Reason: "BackOff", Message: " back-off \n"}, First: now.Add(-5 * time.Minute), Last: now.Add(-20 * time.Second), Count: 4}
	if got, want := EventCells("web", s, now), []string{"20s", "Warning", "BackOff", "pod/web", "back-off"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EventCells = %q, want %q", got, want)
	}
	if got := describeAge(s, now); got != "20s (x4 over 5m)" {
		t.Errorf("describeAge = %q", got)
	}
	s.Count = 1
	if got := describeAge(s, now); got != "5m" {
		t.Errorf("describeAge of one = %q, want the first's age", got)
	}
	if got := Since(time.Time{}, now); got != "<unknown>" {
		t.Errorf("Since(zero) = %q", got)
	}
}

// Widths are those of kubectl's tabwriter, and remembered from one flush to the next, so
// that watch rows line up under the header.
func TestTable(t *testing.T) {
	var buf bytes.Buffer
	tb := NewTable(&buf)
	tb.Add("NAME", "READY", "STATUS", "AGE")
	tb.Add("a", "1/1", "Running", "5s")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	tb.Add("a", "0/1", "Completed", "6s")
	tb.Add("b\x1b[2J", "0/1", "multi\tword\ncell", "1s")
	tb.Flush()
	want := "NAME   READY   STATUS    AGE\n" +
		"a      1/1     Running   5s\n" +
		"a        0/1     Completed         6s\n" + // the second flush widens with its widest
		"b^[[2J   0/1     multi word cell   1s\n"
	if got := buf.String(); got != want {
		t.Errorf("table:\n%q\nwant\n%q", got, want)
	}
}

func TestPodWide(t *testing.T) {
	if got := PodWide("host"); !reflect.DeepEqual(got, []string{"host", "<none>", "<none>"}) {
		t.Errorf("PodWide = %q", got)
	}
	if got := PodWide(""); got[0] != "<none>" {
		t.Errorf("PodWide without node = %q", got)
	}
	if len(PodColumns)+len(PodWideColumns) != 9 {
		t.Errorf("wide has %d columns, want kubectl's 9", len(PodColumns)+len(PodWideColumns))
	}
}
