package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"pingdeck/internal/ping"
)

// assertRows checks how many rows probe_results holds.
func assertRows(t *testing.T, s *Store, want int) {
	t.Helper()
	var n int64
	if err := s.db.Table("probe_results").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if int(n) != want {
		t.Fatalf("probe_results has %d rows, want %d", n, want)
	}
}

func results(n int, start time.Time) []ping.Result {
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	out := make([]ping.Result, n)
	for i := range out {
		out[i] = ping.Result{TargetID: ids[i%3], SentAt: start.Add(time.Duration(i) * time.Millisecond), RTT: time.Millisecond, OK: i%4 != 0}
	}
	return out
}

// TestWriterSurvivesDatabaseOutage makes the results table disappear while results
// keep coming, then brings it back: every result is stored exactly once.
func TestWriterSurvivesDatabaseOutage(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	eachDB(t, func(t *testing.T, s *Store) {
		reg := prometheus.NewRegistry()
		w := startWriter(t, s, WriterOptions{BatchSize: 500, FlushEvery: 20 * time.Millisecond, Registry: reg})
		all := results(6000, time.Now().UTC())
		w.submitAll(t, all[:2000])
		w.flush(t)
		assertRows(t, s, 2000)

		if err := s.db.Exec("ALTER TABLE probe_results RENAME TO probe_results_away").Error; err != nil {
			t.Fatal(err)
		}
		for _, r := range all[2000:4000] {
			if !w.Submit(r) {
				t.Fatal("Submit dropped a result while the database was down")
			}
		}
		w.idle(t)     // the full batches failed
		for range 3 { // several failed attempts, each after the longest wait
			w.tick(t, w.o.MaxRetryAfter)
			w.idle(t)
		}
		if testutil.ToFloat64(w.metrics.writeErrors) == 0 {
			t.Fatal("the outage was not noticed")
		}
		if err := s.db.Exec("ALTER TABLE probe_results_away RENAME TO probe_results").Error; err != nil {
			t.Fatal(err)
		}
		w.submitAll(t, all[4000:])
		w.tick(t, w.o.MaxRetryAfter) // the retry
		w.flush(t)
		assertRows(t, s, 6000)
		w.stop()
		if d := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("database_unavailable")); d != 0 {
			t.Fatalf("dropped %v results", d)
		}
	})
}

// TestWriterFlushesOnShutdown checks that stopping the writer writes what it holds.
func TestWriterFlushesOnShutdown(t *testing.T) {
	s := openTest(t, "sqlite:"+t.TempDir()+"/w.db")
	w := startWriter(t, s, WriterOptions{BatchSize: 100_000, FlushEvery: time.Hour})
	w.submitAll(t, results(3000, time.Now()))
	w.stop()
	assertRows(t, s, 3000)
}

// failingStore refuses every write.
type failingStore struct{}

func (failingStore) WriteResults(context.Context, []ping.Result) error {
	return context.DeadlineExceeded
}
func (failingStore) EnsurePartitions(context.Context, time.Time, time.Time) error {
	return nil
}

// TestWriterBoundsMemoryAndCountsDrops: a database that never answers costs at most
// MaxPending results of memory, and every result dropped is counted.
func TestWriterBoundsMemoryAndCountsDrops(t *testing.T) {
	w := newWriter(t, failingStore{}, WriterOptions{BatchSize: 10, FlushEvery: time.Millisecond, QueueSize: 100, MaxPending: 1000})
	all := results(5000, time.Now())
	const burst = 150               // half as much again as the queue holds
	for _, r := range all[:burst] { // before the writer runs: the queue takes 100
		w.Submit(r)
	}
	w.start(t)
	for i := burst; i < len(all); i += burst {
		w.taken(t) // let the writer drain the queue
		for _, r := range all[i:min(i+burst, len(all))] {
			w.Submit(r)
		}
	}
	w.taken(t)
	w.stop()
	accepted := int(w.accepted.Load())
	queueFull := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("queue_full"))
	overflow := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("database_unavailable"))
	atShutdown := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("shutdown"))
	if int(queueFull)+accepted != 5000 {
		t.Fatalf("queue_full drops %v + accepted %d != 5000 submitted", queueFull, accepted)
	}
	if queueFull < burst-100 {
		t.Fatalf("queue_full drops %v, want at least the %d submitted to a full queue", queueFull, burst-100)
	}
	if atShutdown > 1000 {
		t.Fatalf("held %v results at shutdown, bound is 1000", atShutdown)
	}
	if int(overflow+atShutdown) != accepted {
		t.Fatalf("accepted %d but counted %v overflow + %v at shutdown", accepted, overflow, atShutdown)
	}
}

// blockingStore is a database that takes writes only once released: until then every
// write hangs (as on a locked table or a stalled network), unless its context ends.
type blockingStore struct {
	release chan struct{}
	mu      sync.Mutex
	rows    []ping.Result
}

func newBlockingStore() *blockingStore { return &blockingStore{release: make(chan struct{})} }

func (b *blockingStore) WriteResults(ctx context.Context, rs []ping.Result) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rows = append(b.rows, rs...)
	return nil
}
func (b *blockingStore) EnsurePartitions(context.Context, time.Time, time.Time) error { return nil }

func (b *blockingStore) written() []ping.Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.rows)
}

// TestWriterKeepsTakingResultsWhileTheDatabaseHangs: while a write hangs, the writer
// keeps emptying its queue into memory, so Submit keeps succeeding; the memory bound
// then drops the oldest results, counted; once the database answers, everything held
// is written.
func TestWriterKeepsTakingResultsWhileTheDatabaseHangs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxPending int
	}{{"within the memory bound", 10_000}, {"beyond it", 3000}} {
		t.Run(tc.name, func(t *testing.T) {
			db := newBlockingStore()
			w := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: time.Millisecond,
				QueueSize: 100, MaxPending: tc.maxPending})
			all := results(5000, time.Now())
			for i := 0; i < len(all); i += 50 { // half a queue at a time, then wait until it is taken
				for _, r := range all[i : i+50] {
					if !w.Submit(r) {
						t.Fatalf("Submit refused result %d with the queue not full: the writer stopped taking results", i)
					}
				}
				w.taken(t)
			}
			overflow := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("database_unavailable"))
			if want := float64(max(len(all)-tc.maxPending, 0)); overflow != want {
				t.Errorf("dropped %v results for the memory bound, want %v", overflow, want)
			}
			close(db.release)
			w.flush(t)
			if n := len(db.written()); n+int(overflow) != len(all) {
				t.Errorf("wrote %d results and dropped %v of %d once the database answered", n, overflow, len(all))
			}
			w.stop()
			got := db.written()
			if len(got) == 0 || got[len(got)-1] != all[len(all)-1] {
				t.Errorf("the newest result was not kept")
			}
			if q := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("queue_full")); q != 0 {
				t.Errorf("%v results dropped at Submit", q)
			}
		})
	}
}
