package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestDeleteGrace(t *testing.T) {
	tests := []struct {
		name       string
		set        bool
		grace      int64
		now, force bool
		want       int64 // -1: nil, the pod's own
		wantErr    string
	}{
		{name: "default", want: -1},
		{name: "explicit", set: true, grace: 7, want: 7},
		{name: "zero becomes one", set: true, grace: 0, want: 1},
		{name: "zero with force", set: true, grace: 0, force: true, want: 0},
		{name: "force alone", force: true, want: 0},
		{name: "force with a grace", set: true, grace: 5, force: true, want: 5},
		{name: "now", now: true, want: 1},
		{name: "now and force", now: true, force: true, want: 1},
		{name: "now with grace", now: true, set: true, grace: 3, wantErr: "--now and --grace-period"},
		{name: "negative", set: true, grace: -1, wantErr: "--grace-period: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := deleteGrace(tt.set, tt.grace, tt.now, tt.force)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == -1 && g != nil:
				t.Errorf("grace = %d, want the pod's own (nil)", *g)
			case tt.want != -1 && (g == nil || *g != tt.want):
				t.Errorf("grace = %v, want %d", g, tt.want)
			}
		})
	}
}

func TestForEachBounded(t *testing.T) {
	for _, tt := range []struct{ n, workers int }{{0, 4}, {1, 4}, {10, 3}, {10, 0}, {5, 50}} {
		var mu sync.Mutex
		seen := map[int]int{}
		running, peak := 0, 0
		forEachBounded(tt.n, tt.workers, func(i int) {
			mu.Lock()
			seen[i]++
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
		})
		if len(seen) != tt.n {
			t.Errorf("n=%d workers=%d: called for %d indices", tt.n, tt.workers, len(seen))
		}
		for i, c := range seen {
			if c != 1 || i < 0 || i >= tt.n {
				t.Errorf("n=%d: index %d called %d times", tt.n, i, c)
			}
		}
		if w := max(1, tt.workers); peak > w {
			t.Errorf("n=%d workers=%d: %d ran at once", tt.n, tt.workers, peak)
		}
	}
}

func TestWaitWorkersBelowFileLimit(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if n := waitWorkers(); n < 1 || n > 64 || uint64(n) > max(1, lim.Cur/4) {
		t.Errorf("waitWorkers() = %d with RLIMIT_NOFILE %d", n, lim.Cur)
	}
}
