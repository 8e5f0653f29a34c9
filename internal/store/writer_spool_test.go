package store

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"pingdeck/internal/ping"
	"pingdeck/internal/store/spool"
)

// switchableStore refuses writes while down and counts every row it takes.
type switchableStore struct {
	up   atomic.Bool
	mu   sync.Mutex
	rows map[rowKey]int
}

type rowKey struct {
	target string
	at     int64
}

func newSwitchableStore() *switchableStore { return &switchableStore{rows: map[rowKey]int{}} }

func (s *switchableStore) WriteResults(_ context.Context, rs []ping.Result) error {
	if !s.up.Load() {
		return context.DeadlineExceeded
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		s.rows[rowKey{r.TargetID, r.SentAt.UnixNano()}]++
	}
	return nil
}
func (*switchableStore) EnsurePartitions(context.Context, time.Time, time.Time) error { return nil }

// check reports whether every result was taken exactly once.
func (s *switchableStore) check(t *testing.T, all []ping.Result) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rows) != len(all) {
		t.Fatalf("store holds %d distinct results, want %d", len(s.rows), len(all))
	}
	for _, r := range all {
		if n := s.rows[rowKey{r.TargetID, r.SentAt.UnixNano()}]; n != 1 {
			t.Fatalf("result %v written %d times, want once", r.SentAt, n)
		}
	}
}

func (s *switchableStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

func openSpool(t *testing.T, dir string) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// During an outage results move to disk instead of piling up in memory; a server
// stopped while the database is still away leaves them there, and the next one
// writes them, each exactly once.
func TestWriterSpoolsThroughAnOutageAndARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	db := newSwitchableStore()
	all := results(3000, time.Now())

	sp := openSpool(t, dir)
	w := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: 5 * time.Millisecond, Spool: sp})
	w.submitAll(t, all[:2000])
	w.idle(t) // the first full batch failed
	w.tick(t, w.o.FlushEvery)
	if sp.Len() != 2000 {
		t.Fatalf("spool holds %d results after a flush during the outage, want 2000", sp.Len())
	}
	w.submitAll(t, all[2000:])
	w.stop() // the database is still down: what is left in memory goes to disk too
	if sp.Len() != 3000 {
		t.Fatalf("spool holds %d results after shutdown, want 3000", sp.Len())
	}
	for _, reason := range []string{"shutdown", "database_unavailable", "spool_full"} {
		if n := testutil.ToFloat64(w.metrics.dropped.WithLabelValues(reason)); n != 0 {
			t.Fatalf("dropped %v results (%s)", n, reason)
		}
	}
	sp.Close()

	db.up.Store(true)
	again := openSpool(t, dir) // the next start
	w = startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: 5 * time.Millisecond, Spool: again})
	w.flush(t)
	if n := db.count(); n != len(all) {
		t.Fatalf("wrote %d spooled results, want %d", n, len(all))
	}
	w.stop()
	db.check(t, all)
	if again.Len() != 0 {
		t.Fatalf("spool still holds %d results", again.Len())
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("spool files left: %d", len(files))
	}
}

// A write that hangs counts as an outage once it has hung for SpillAfter: what
// arrives meanwhile goes to disk, and all of it is written once the database answers.
func TestWriterSpillsWhileAWriteHangs(t *testing.T) {
	db := newBlockingStore()
	sp := openSpool(t, t.TempDir())
	const spillAfter = 50 * time.Millisecond
	w := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: 5 * time.Millisecond, SpillAfter: spillAfter, Spool: sp})
	all := results(1000, time.Now())
	w.submitAll(t, all)
	w.taken(t)
	for hung := time.Duration(0); hung < spillAfter; { // hung up to SpillAfter, not beyond: no outage yet
		w.tick(t, w.o.FlushEvery)
		hung += w.o.FlushEvery
	}
	if sp.Len() != 0 {
		t.Fatalf("spilled %d results after a write hung for SpillAfter, not longer", sp.Len())
	}
	w.tick(t, w.o.FlushEvery)
	// One batch is in the hung write; the rest is spilled.
	if sp.Len() != int64(len(all)-100) {
		t.Fatalf("spool holds %d results behind a write hung past SpillAfter, want %d", sp.Len(), len(all)-100)
	}
	close(db.release)
	w.flush(t)
	if n := len(db.written()); n != len(all) {
		t.Fatalf("wrote %d results, want %d", n, len(all))
	}
	w.stop()
	seen := map[rowKey]bool{}
	for _, r := range db.written() {
		k := rowKey{r.TargetID, r.SentAt.UnixNano()}
		if seen[k] {
			t.Fatalf("result %v written twice", r.SentAt)
		}
		seen[k] = true
	}
	if sp.Len() != 0 {
		t.Fatalf("spool still holds %d results", sp.Len())
	}
}

// A byte flipped in a spool segment costs the one record it hit: the writer writes
// every other spooled result, and the metric and the log say what was skipped.
func TestWriterCountsAndLogsSpoolDamage(t *testing.T) {
	dir := t.TempDir()
	sp := openSpool(t, dir)
	all := results(50, time.Now())
	for i := 0; i < len(all); i += 10 {
		if _, err := sp.Append(all[i : i+10]); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(files) != 1 {
		t.Fatalf("segments: %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff // in the payload of the third of five records
	if err := os.WriteFile(files[0], data, 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &logRecorder{}
	db := newSwitchableStore()
	db.up.Store(true)
	w := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: 5 * time.Millisecond,
		Spool: openSpool(t, dir), Logger: slog.New(logs)})
	w.flush(t)
	w.stop()
	db.check(t, slices.Concat(all[:20], all[30:]))
	if n := testutil.ToFloat64(w.metrics.dropped.WithLabelValues("spool_corrupt")); n != 10 {
		t.Fatalf("spool_corrupt drops = %v, want the 10 results of the damaged record", n)
	}
	reports := logs.attrs("the result spool had damaged records; skipped them and read on")
	if len(reports) != 1 || reports[0]["results"].Int64() != 10 || reports[0]["bytes"].Int64() == 0 ||
		float64(reports[0]["bytes"].Int64()) != testutil.ToFloat64(w.metrics.spoolCorruptBytes) {
		t.Fatalf("damage logged as %v (bytes metric %v); want one report of 10 results and the bytes skipped",
			reports, testutil.ToFloat64(w.metrics.spoolCorruptBytes))
	}
}
