//go:build linux

package store

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"pingdeck/internal/ping"
	"pingdeck/internal/ping/shared"
)

// TestHungDatabaseDoesNotDisturbProbing runs the shared engine on 200 loopback targets
// into a writer whose database hangs for the whole run: every target is still probed
// once per interval, on its schedule (one result in each interval-long slot around its
// phase, none skipped or bunched), every result reaches the writer, and once the
// database answers every one is written.
func TestHungDatabaseDoesNotDisturbProbing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for ICMP sockets (run the tests as root, as CI does)")
	}
	const (
		n        = 200
		interval = time.Second
	)
	engine, err := shared.New(shared.Options{Mode: ping.ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	targets := make([]ping.Target, n)
	for i := range targets {
		targets[i] = ping.Target{ID: fmt.Sprintf("t%d", i), Addr: netip.AddrFrom4([4]byte{127, 14, byte(i / 250), byte(i%250 + 1)}),
			Interval: interval, Timeout: interval, Size: 56}
	}
	engine.Update(targets)

	db := newBlockingStore()
	w := startWriter(t, db, WriterOptions{BatchSize: 500, FlushEvery: 10 * time.Millisecond, QueueSize: 1000})
	var mu sync.Mutex
	sentAt := map[string][]time.Time{}
	refused := 0
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		engine.Run(ctx, func(r ping.Result) {
			ok := w.Submit(r)
			mu.Lock()
			defer mu.Unlock()
			sentAt[r.TargetID] = append(sentAt[r.TargetID], r.SentAt)
			if !ok {
				refused++
			}
		})
	})
	start := time.Now()
	time.Sleep(5 * time.Second)
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if refused > 0 {
		t.Errorf("%d results refused by the writer while its database hung", refused)
	}
	// Slots of one interval centred on each target's phase, from the second interval
	// to the fifth: exactly one send in each.
	base := start.Truncate(interval).Add(interval)
	slots := 3
	var bad []string
	total := 0
	for _, tg := range targets {
		counts := make([]int, slots)
		for _, at := range sentAt[tg.ID] {
			total++
			from := base.Add(ping.Phase(tg.ID, interval) - interval/2)
			if k := int(at.Sub(from) / interval); at.Compare(from) >= 0 && k < slots {
				counts[k]++
			}
		}
		for k, c := range counts {
			if c != 1 {
				bad = append(bad, fmt.Sprintf("%s: %d sends in slot %d", tg.ID, c, k))
				break
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d targets off schedule while the database hung: %v", len(bad), n, bad[:min(len(bad), 5)])
	}

	close(db.release)
	w.flush(t)
	if n := len(db.written()); n != total {
		t.Errorf("wrote %d of the %d results sent once the database answered", n, total)
	}
	w.stop()
	if d := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("database_unavailable")); d != 0 {
		t.Errorf("%v results dropped", d)
	}
}
