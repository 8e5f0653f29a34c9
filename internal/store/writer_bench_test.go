package store

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"pingdeck/internal/ping"
)

// countingStore takes every write at once and only counts the rows, so a benchmark
// measures the writer and not a database.
type countingStore struct{ rows atomic.Int64 }

func (c *countingStore) WriteResults(_ context.Context, rs []ping.Result) error {
	c.rows.Add(int64(len(rs)))
	return nil
}
func (*countingStore) EnsurePartitions(context.Context, time.Time, time.Time) error { return nil }

// BenchmarkResultWriter is the writer's own cost per result on a database that costs
// nothing: Submit, the lanes' batching, the hand-over to the writing goroutine and the
// shutdown flush. Results come in bursts of 1,000 (a prober's tick), each taken by the
// lanes before the next, as in the server; a submitter that never pauses would measure
// how long the lanes starve their writing goroutines instead.
// Run: go test -run '^$' -bench ResultWriter ./internal/store/
func BenchmarkResultWriter(b *testing.B) {
	for _, lanes := range []int{1, 2} {
		b.Run(map[int]string{1: "lanes=1", 2: "lanes=2"}[lanes], func(b *testing.B) {
			db := &countingStore{}
			w := NewResultWriter(db, WriterOptions{Lanes: lanes})
			rs := results(3*1024, time.Now())
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { w.Run(ctx) })
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if !w.Submit(rs[i%len(rs)]) {
					b.Fatal("Submit dropped a result with the queue not full")
				}
				if i%1000 == 999 {
					for _, l := range w.lanes {
						for len(l.in) > 0 {
							runtime.Gosched()
						}
					}
				}
			}
			cancel()
			wg.Wait()
			b.StopTimer()
			if int(db.rows.Load()) != b.N {
				b.Fatalf("wrote %d of %d results (dropped: %v for the memory bound)", db.rows.Load(), b.N,
					testutil.ToFloat64(w.metrics.dropped.WithLabelValues("database_unavailable")))
			}
		})
	}
}
