package state

import (
	"sync"
	"testing"
)

func TestRVClock(t *testing.T) {
	dir := t.TempDir()
	// Processes racing to fix the epoch all end up with one.
	clocks := make([]*RVClock, 8)
	var wg sync.WaitGroup
	for i := range clocks {
		wg.Go(func() {
			c, err := OpenRVClock(dir)
			if err != nil {
				t.Error(err)
				return
			}
			clocks[i] = c
		})
	}
	wg.Wait()
	for _, c := range clocks[1:] {
		if c.epoch != clocks[0].epoch {
			t.Fatalf("epochs differ: %d, %d", c.epoch, clocks[0].epoch)
		}
	}
	// Versions from different clocks order as the calls did; one clock's never repeat.
	a, b := clocks[0], clocks[1]
	var prevA, prevB uint64
	for range 1000 {
		x := a.Next()
		y := b.Next()
		if !(prevA < x && prevB < y && x <= y) {
			t.Fatalf("not increasing: %d, %d after %d, %d", x, y, prevA, prevB)
		}
		prevA, prevB = x, y
	}
	prev := prevB
	if rv, err := ParseRV(FormatRV(prev)); err != nil || rv != prev {
		t.Fatalf("round trip: %d, %v", rv, err)
	}
}
