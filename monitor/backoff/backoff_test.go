package backoff

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const s = time.Second

// crashLoop drives b like the kubelet's doBackOff for a container that runs for each of
// runFor and then exits; it returns the restart delay observed after each exit.
func crashLoop(b *Backoff, key string, start time.Time, runFor []time.Duration) (delays []time.Duration, end time.Time) {
	now := start
	for _, r := range runFor {
		finished := now.Add(r)
		d := b.Remaining(key, finished, finished)
		delays = append(delays, d)
		now = finished.Add(d)
		if got := b.Remaining(key, finished, now); got != 0 {
			panic(fmt.Sprintf("still in back-off %v after waiting %v", got, d))
		}
		b.Next(key, now) // the kubelet restarts it
	}
	return delays, now
}

func repeat(d time.Duration, n int) []time.Duration {
	r := make([]time.Duration, n)
	for i := range r {
		r[i] = d
	}
	return r
}

func TestDelaySequence(t *testing.T) {
	tests := []struct {
		name   string
		runFor []time.Duration
		want   []time.Duration
	}{
		{
			name:   "immediate crashes",
			runFor: repeat(0, 8),
			want:   []time.Duration{0, 10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 300 * s, 300 * s},
		},
		{
			name:   "short runs do not reset",
			runFor: repeat(5*s, 8),
			want:   []time.Duration{0, 10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 300 * s, 300 * s},
		},
		{
			name:   "a long run inside the 2*Max window does not reset",
			runFor: []time.Duration{0, 0, 0, 500 * s, 0},
			want:   []time.Duration{0, 10 * s, 20 * s, 40 * s, 80 * s},
		},
		{
			// Restarted at T, crashes at T+590 s with a 40 s back-off: the entry expires at
			// T+600 s (the kubelet's GC deletes it), which ends the wait early; the next
			// restart starts a fresh sequence.
			name:   "expiry during the wait ends it",
			runFor: []time.Duration{0, 0, 0, 590 * s, 0, 0},
			want:   []time.Duration{0, 10 * s, 20 * s, 10*s + 1, 10 * s, 20 * s},
		},
		{
			name:   "a run longer than 2*Max resets to an immediate restart",
			runFor: []time.Duration{0, 0, 0, 600*s + 1, 0, 0},
			want:   []time.Duration{0, 10 * s, 20 * s, 0, 10 * s, 20 * s},
		},
		{
			name:   "reset after reaching Max",
			runFor: append(repeat(0, 8), 601*s, 0, 0),
			want:   []time.Duration{0, 10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 300 * s, 300 * s, 0, 10 * s, 20 * s},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(DefaultInitial, DefaultMax)
			got, _ := crashLoop(b, "k", t0, tt.runFor)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("delays %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRemaining(t *testing.T) {
	b := New(10*s, 300*s)
	if d := b.Remaining("k", t0, t0); d != 0 {
		t.Fatalf("no entry: %v", d)
	}
	b.Next("k", t0)    // first restart: back-off now 10 s
	f := t0.Add(2 * s) // second exit
	tests := []struct {
		now  time.Time
		want time.Duration
	}{
		{f, 10 * s},
		{f.Add(3 * s), 7 * s},
		{f.Add(10*s - 1), 1},
		{f.Add(10 * s), 0}, // IsInBackOffSince is a strict <
		{f.Add(time.Hour), 0},
		{t0.Add(600 * s), 0}, // long after the back-off: not waiting
	}
	for _, tt := range tests {
		if got := b.Remaining("k", f, tt.now); got != tt.want {
			t.Errorf("Remaining at +%v = %v, want %v", tt.now.Sub(f), got, tt.want)
		}
	}
	if got := b.Get("k"); got != 10*s {
		t.Errorf("Get = %v", got)
	}
}

// The wait never outlasts the entry: it ends when the entry expires, 2*Max after the last
// restart, as the kubelet's GC would delete it then.
func TestRemainingEndsAtExpiry(t *testing.T) {
	b := New(700*s, 300*s) // initial above 2*Max, so expiry is what ends the wait
	b.Next("k", t0)
	f := t0.Add(500 * s)
	tests := []struct {
		now  time.Time
		want time.Duration
	}{
		{f, 100*s + 1},
		{f.Add(50 * s), 50*s + 1},
		{t0.Add(600 * s), 1},
		{t0.Add(600*s + 1), 0},
	}
	for _, tt := range tests {
		if got := b.Remaining("k", f, tt.now); got != tt.want {
			t.Errorf("Remaining at t0+%v = %v, want %v", tt.now.Sub(t0), got, tt.want)
		}
	}
}

func TestKeysIndependentAndReset(t *testing.T) {
	b := New(10*s, 300*s)
	da, now := crashLoop(b, "a", t0, repeat(0, 4))
	db, _ := crashLoop(b, "b", now, repeat(0, 2))
	if fmt.Sprint(da) != "[0s 10s 20s 40s]" || fmt.Sprint(db) != "[0s 10s]" {
		t.Fatalf("a %v, b %v", da, db)
	}
	if b.Get("a") != 80*s || b.Get("b") != 20*s {
		t.Fatalf("a %v, b %v", b.Get("a"), b.Get("b"))
	}
	b.Reset("a")
	if b.Get("a") != 0 || b.Remaining("a", now, now) != 0 {
		t.Error("a not reset")
	}
	if b.Get("b") != 20*s {
		t.Error("Reset(a) touched b")
	}
}

func TestGC(t *testing.T) {
	b := New(10*s, 300*s)
	b.Next("old", t0)
	b.Next("new", t0.Add(300*s))
	b.GC(t0.Add(600 * s)) // exactly 2*Max: kept
	if b.Get("old") == 0 {
		t.Fatal("collected at exactly 2*Max")
	}
	b.GC(t0.Add(600*s + 1))
	if b.Get("old") != 0 || b.Get("new") == 0 {
		t.Errorf("old %v new %v", b.Get("old"), b.Get("new"))
	}
}

func TestZeroValueAndCap(t *testing.T) {
	b := &Backoff{Initial: 3, Max: 5}
	want := []time.Duration{3, 5, 5}
	for i, w := range want {
		b.Next("k", t0.Add(time.Duration(i)))
		if got := b.Get("k"); got != w {
			t.Errorf("step %d: %v, want %v", i, got, w)
		}
	}
}

func TestConcurrent(t *testing.T) {
	b := New(10*s, 300*s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint(i % 2)
			for j := range 1000 {
				now := t0.Add(time.Duration(j) * s)
				b.Remaining(key, now, now)
				b.Next(key, now)
				b.GC(now)
			}
		}()
	}
	wg.Wait()
	if b.Get("0") != 300*s {
		t.Errorf("Get = %v", b.Get("0"))
	}
}
