package store

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"pingdeck/internal/ping"
)

// logRecorder keeps the log records it is given, for tests that check what an
// operator would read.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// attrs returns the attributes of every record with message msg.
func (l *logRecorder) attrs(msg string) []map[string]slog.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range l.records {
		if r.Message != msg {
			continue
		}
		m := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
		out = append(out, m)
	}
	return out
}

const writeFailedLog = "writing probe results failed; keeping them and retrying"

// writeJustFailed starts a writer whose write of all has just failed on db (still down);
// it is to wait an hour before it retries.
func writeJustFailed(t *testing.T) (*testWriter, *switchableStore, []ping.Result) {
	t.Helper()
	db := newSwitchableStore()
	w := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: 5 * time.Millisecond,
		RetryAfter: time.Hour, MaxRetryAfter: time.Hour})
	all := results(50, time.Now())
	w.submitAll(t, all)
	w.flush(t)
	if n := testutil.ToFloat64(w.metrics.writeErrors); n != 1 {
		t.Fatalf("%v failed writes, want 1", n)
	}
	return w, db, all
}

// When the database comes back, a writer waiting out a failed write would wait out the
// rest of its backoff; Wake (what /readyz's successful ping calls) makes it retry at
// once. The wait here is an hour, so only the wake can explain the write.
func TestWakeRetriesAFailedWriteAtOnce(t *testing.T) {
	w, db, all := writeJustFailed(t)
	db.up.Store(true)
	for waited := time.Duration(0); waited < wakeGap+100*time.Millisecond; waited += w.o.FlushEvery {
		w.tick(t, w.o.FlushEvery) // many flush ticks: none may retry before the hour is up
	}
	if n := db.count(); n != 0 {
		t.Fatalf("%d results written before the wake, with an hour left to wait", n)
	}
	before := w.clock.Now()
	w.wake(t)
	w.idle(t)
	if n := db.count(); n != len(all) {
		t.Fatalf("%d of %d results written after the wake", n, len(all))
	}
	if d := w.clock.Now().Sub(before); d != 0 {
		t.Fatalf("the wake took %v to bring the retry", d) // the clock stood still: it came at once
	}
	w.stop()
	db.check(t, all)
	w.Wake() // after Run: never blocks
}

// A Wake right after a failure (as when /readyz is polled in a loop while writes fail
// for a reason its ping does not see) brings the retry forward only to wakeGap after
// the failure, not to at once.
func TestWakeWaitsWakeGapAfterAFailure(t *testing.T) {
	w, db, all := writeJustFailed(t)
	failedAt := w.clock.Now()
	for range 3 {
		w.wake(t)
		w.idle(t)
	}
	if n := testutil.ToFloat64(w.metrics.writeErrors); n != 1 {
		t.Fatalf("%v write attempts after waking a writer whose write just failed, want the 1 failure", n)
	}
	db.up.Store(true)
	for w.clock.Now().Sub(failedAt) < wakeGap {
		w.tick(t, w.o.FlushEvery)
		w.idle(t)
		if n := db.count(); n != 0 && w.clock.Now().Sub(failedAt) < wakeGap {
			t.Fatalf("retried %v after the failure, before wakeGap (%v)", w.clock.Now().Sub(failedAt), wakeGap)
		}
	}
	if n := db.count(); n != len(all) {
		t.Fatalf("%d of %d results written wakeGap after a failure the writer was woken for", n, len(all))
	}
}

// The wait between retries doubles from RetryAfter and stops at MaxRetryAfter (5 s by
// default, no longer 30 s), as the warning each failure logs says.
func TestRetryWaitIsCapped(t *testing.T) {
	if d := NewResultWriter(newSwitchableStore(), WriterOptions{}).o.MaxRetryAfter; d != 5*time.Second {
		t.Fatalf("default longest wait between retries = %v, want 5s", d)
	}
	logs := &logRecorder{}
	db := newSwitchableStore()
	w := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: time.Millisecond,
		RetryAfter: time.Millisecond, MaxRetryAfter: 4 * time.Millisecond, Logger: slog.New(logs)})
	w.submitAll(t, results(10, time.Now()))
	w.idle(t)
	var failedAt []time.Time // when each write failed, on the writer's clock
	for ticks := 0; len(failedAt) < 6; ticks++ {
		if ticks == 100 {
			t.Fatalf("%d failed writes in %d ticks of FlushEvery", len(failedAt), ticks)
		}
		before := testutil.ToFloat64(w.metrics.writeErrors)
		w.tick(t, w.o.FlushEvery)
		w.idle(t)
		if testutil.ToFloat64(w.metrics.writeErrors) > before {
			failedAt = append(failedAt, w.clock.Now())
		}
	}
	w.stop()
	var waits []time.Duration
	for _, a := range logs.attrs(writeFailedLog)[:6] {
		waits = append(waits, a["retry_in"].Duration())
	}
	want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Fatalf("waits between retries = %v, want %v", waits, want)
	}
	var took []time.Duration
	for i := 1; i < len(failedAt); i++ {
		took = append(took, failedAt[i].Sub(failedAt[i-1]))
	}
	if !slices.Equal(took, want[:5]) {
		t.Fatalf("time between failed writes = %v, want the waits logged %v", took, want[:5])
	}
}
