package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/state"
)

// maxEventLine bounds one line of a pod's event log; longer lines are skipped.
const maxEventLine = 1 << 20

// readEvents reads a pod's event log (<pod dir>/events.jsonl, one api.Event a line);
// malformed lines are skipped. A pod without events has no log.
func readEvents(dir string) ([]api.Event, error) {
	f, err := os.Open(filepath.Join(dir, state.EventsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var events []api.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxEventLine)
	for sc.Scan() {
		var e api.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			events = append(events, e)
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return events, err
	}
	return events, nil
}

// eventRow is one line of `get events`.
type eventRow struct {
	id  podID
	sum kubeprint.EventSummary
}

type eventPrinter struct {
	withNS bool
	table  *kubeprint.Table
	header bool
}

func (ep *eventPrinter) add(r eventRow, now time.Time) {
	if !ep.header {
		ep.header = true
		var h []string
		if ep.withNS {
			h = append(h, "NAMESPACE")
		}
		ep.table.Add(append(h, kubeprint.EventColumns...)...)
	}
	var c []string
	if ep.withNS {
		c = append(c, r.id.ns)
	}
	ep.table.Add(append(c, kubeprint.EventCells(r.id.name, r.sum, now)...)...)
}

// getEvents lists the events of the pods of a namespace (or all), folded as the kubelet's
// recorder folds identical ones, oldest first; -w then prints each new one.
func getEvents(cfg state.Config, o getOptions, names []string) error {
	if len(names) > 0 {
		return badInput(fmt.Errorf("get events: argument %q: events are listed per namespace (use describe pod NAME for one pod's)", names[0]))
	}
	if o.output != "" {
		return badInput(fmt.Errorf("-o: unsupported output format %q for events (the table only)", o.output))
	}
	filter := selectPods(o, nil)
	ents, err := os.ReadDir(cfg.PodsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return &exitError{exitFailed, fmt.Errorf("get events: %w", err)}
	}
	var rows []eventRow
	seen := map[podID]map[eventKey]bool{}
	history := map[podID][]api.Event{}
	for _, e := range ents {
		ns, name, ok := state.ParsePodKey(e.Name())
		id := podID{ns, name}
		if !ok || !filter(id) {
			continue
		}
		evs, err := readEvents(filepath.Join(cfg.PodsDir(), e.Name()))
		if err != nil {
			return &exitError{exitFailed, fmt.Errorf("get events: pod/%s: %w", name, err)}
		}
		history[id] = evs
		seen[id] = map[eventKey]bool{}
		for _, ev := range evs {
			seen[id][keyOf(ev)] = true
		}
		for _, s := range kubeprint.AggregateEvents(evs) {
			rows = append(rows, eventRow{id, s})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].sum.Last.Before(rows[j].sum.Last) })
	ep := &eventPrinter{withNS: o.allNamespaces, table: kubeprint.NewTable(os.Stdout)}
	now := time.Now()
	for _, r := range rows {
		ep.add(r, now)
	}
	if err := ep.table.Flush(); err != nil {
		return err
	}
	if !o.watch {
		if len(rows) == 0 {
			noResources(o)
		}
		return nil
	}
	err = watchPodSet(context.Background(), cfg, podSetHandler{
		filter: filter,
		event: func(id podID, ev api.Event) error {
			if seen[id] == nil {
				seen[id] = map[eventKey]bool{}
			}
			k := keyOf(ev)
			if seen[id][k] {
				return nil // replayed by the watch stream, or listed above
			}
			seen[id][k] = true
			history[id] = append(history[id], ev)
			for _, s := range kubeprint.AggregateEvents(history[id]) {
				if keyOf(s.Event) == k {
					ep.add(eventRow{id, s}, time.Now())
				}
			}
			return ep.table.Flush()
		},
		gone: func(id podID) error {
			delete(seen, id)
			delete(history, id)
			return nil
		},
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{exitFailed, fmt.Errorf("get events --watch: %w", err)}
	}
	return nil
}

// eventKey identifies one occurrence of an event.
type eventKey struct {
	t                                          int64
	typ, reason, message, container, fieldPath string
}

func keyOf(e api.Event) eventKey {
	return eventKey{e.Time.UnixNano(), e.Type, e.Reason, e.Message, e.Container, e.FieldPath}
}
