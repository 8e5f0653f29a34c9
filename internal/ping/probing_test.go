package ping

import (
	"context"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// collector gathers results per target.
type collector struct {
	mu  sync.Mutex
	got map[string][]Result
}

func (c *collector) emit(r Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string][]Result{}
	}
	c.got[r.TargetID] = append(c.got[r.TargetID], r)
}

func (c *collector) results(id string) []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Result(nil), c.got[id]...)
}

func needICMP(t *testing.T) Mode {
	t.Helper()
	m, err := DetectMode(ModeAuto)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must be able to send ICMP on loopback: %v", err)
		}
		t.Skip(err)
	}
	return m
}

// TestProbingLoopback probes loopback addresses for real: every probe is answered,
// RTTs are small, results arrive at the configured rate, and removing a target stops it.
func TestProbingLoopback(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mode := needICMP(t)
	e, err := NewProbing(mode, NewMetrics(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	targets := []Target{
		{ID: "a", GroupID: "g", Addr: netip.MustParseAddr("127.0.0.1"), Interval: 100 * time.Millisecond, Timeout: 500 * time.Millisecond, Size: 56},
		{ID: "b", GroupID: "g", Addr: netip.MustParseAddr("127.0.0.2"), Interval: 100 * time.Millisecond, Timeout: 500 * time.Millisecond, Size: 56},
		{ID: "c", GroupID: "g", Addr: netip.MustParseAddr("::1"), Interval: 200 * time.Millisecond, Timeout: 500 * time.Millisecond, Size: 100},
	}
	e.Update(targets)
	var c collector
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, c.emit) }()

	time.Sleep(2 * time.Second)
	e.Update(targets[1:]) // drop "a"
	removedAt := len(c.results("a"))
	time.Sleep(time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	for _, tg := range targets[1:] {
		rs := c.results(tg.ID)
		want := int(3 * time.Second / tg.Interval)
		if len(rs) < want-3 || len(rs) > want+1 {
			t.Errorf("%s: %d results in 3s at %v, want about %d", tg.Addr, len(rs), tg.Interval, want)
		}
		for _, r := range rs {
			if !r.OK || r.RTT <= 0 || r.RTT > 20*time.Millisecond || r.GroupID != "g" {
				t.Errorf("%s: result %+v, want an answered loopback probe", tg.Addr, r)
				break
			}
		}
	}
	if after := len(c.results("a")); after > removedAt+1 {
		t.Errorf("target a reported %d results after it was removed", after-removedAt)
	}
}

func TestNextSlotSpreadsAndAligns(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 300_000_000, time.UTC)
	got := nextSlot(now, time.Second, 250*time.Millisecond)
	if want := now.Truncate(time.Second).Add(1250 * time.Millisecond); !got.Equal(want) {
		t.Fatalf("nextSlot = %v, want %v", got, want)
	}
	// Phases of many targets cover the interval evenly.
	var buckets [10]int
	for i := range 10000 {
		buckets[Phase(string(rune(i))+"-target", time.Second)/(100*time.Millisecond)]++
	}
	for i, n := range buckets {
		if n < 800 || n > 1200 {
			t.Fatalf("phase bucket %d holds %d of 10000 targets; phases are not spread", i, n)
		}
	}
}
