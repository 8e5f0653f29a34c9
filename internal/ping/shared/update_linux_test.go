//go:build linux

package shared

import (
	"pingdeck/internal/ping"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestSharedUpdateLive changes the targets of a running engine on real sockets: the
// removed target's results stop within one interval, the added one's start within
// one, and the one kept is probed on the same beat throughout.
func TestSharedUpdateLive(t *testing.T) {
	requireRoot(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const interval = 100 * time.Millisecond
	s, err := New(Options{Mode: ping.ModePrivileged})
	if err != nil {
		t.Fatal(err)
	}
	ts := loopbackTargets(3, 2, interval, time.Second)
	removed, kept, added := ts[0], ts[1], ts[2]

	var mu sync.Mutex
	emittedAt := map[string][]time.Time{}
	sentAt := map[string][]time.Time{}
	log := &resultLog{}
	emit := func(r ping.Result) {
		mu.Lock()
		emittedAt[r.TargetID] = append(emittedAt[r.TargetID], time.Now())
		sentAt[r.TargetID] = append(sentAt[r.TargetID], r.SentAt)
		mu.Unlock()
		log.emit(r)
	}
	s.Update([]ping.Target{removed, kept})
	stop := runShared(t, s, emit)
	time.Sleep(6 * interval)
	s.Update([]ping.Target{kept, added})
	updatedAt := time.Now()
	time.Sleep(6 * interval)
	stop()

	mu.Lock()
	defer mu.Unlock()
	if n := len(emittedAt[removed.ID]); n < 4 {
		t.Fatalf("removed target: %d results before its removal, want about 6", n)
	}
	for _, at := range emittedAt[removed.ID] {
		if at.Sub(updatedAt) > interval {
			t.Errorf("removed target reported %v after its removal", at.Sub(updatedAt))
		}
	}
	if got := sentAt[added.ID]; len(got) < 4 || got[0].Sub(updatedAt) > interval {
		t.Errorf("added target: %d results, first sent %v after the update; want ≥4, within %v", len(got), got[0].Sub(updatedAt), interval)
	}
	k := sentAt[kept.ID]
	if len(k) < 10 {
		t.Errorf("kept target: %d results in 12 intervals", len(k))
	}
	for i := 1; i < len(k); i++ { // no restart, no skipped or doubled probe
		if gap := k[i].Sub(k[i-1]); gap < interval/2 || gap > interval*3/2 {
			t.Errorf("kept target: %v between probes %d and %d across the update, want about %v", gap, i-1, i, interval)
		}
	}
	for _, r := range log.snapshot() {
		if !r.OK {
			t.Errorf("loopback probe failed: %+v", r)
		}
	}
}
