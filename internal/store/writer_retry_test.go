package store

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
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

// When the database comes back, a writer waiting out a failed write would wait out the
// rest of its backoff; Wake (what /readyz's successful ping calls) makes it retry at
// once. The wait here is an hour, so only the wake can explain the write.
func TestWakeRetriesAFailedWriteAtOnce(t *testing.T) {
	db := newSwitchableStore()
	w, stop := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: 5 * time.Millisecond,
		RetryAfter: time.Hour, MaxRetryAfter: time.Hour})
	all := results(50, time.Now())
	submitAll(t, w, all)
	waitFor(t, "a failed write", func() bool { return testutil.ToFloat64(w.metrics.writeErrors) >= 1 })
	db.up.Store(true)
	time.Sleep(wakeGap + 100*time.Millisecond) // many flush ticks: none may retry before the hour is up
	if n := db.count(); n != 0 {
		t.Fatalf("%d results written before the wake, with an hour left to wait", n)
	}
	start := time.Now()
	w.Wake()
	waitFor(t, "the retry after the wake", func() bool { return db.count() == len(all) })
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the wake took %v to bring the retry", d)
	}
	stop()
	db.check(t, all)
	w.Wake() // after Run: never blocks
}

// The wait between retries doubles from RetryAfter and stops at MaxRetryAfter (5 s by
// default, no longer 30 s), as the warning each failure logs says.
func TestRetryWaitIsCapped(t *testing.T) {
	if d := NewResultWriter(newSwitchableStore(), WriterOptions{}).o.MaxRetryAfter; d != 5*time.Second {
		t.Fatalf("default longest wait between retries = %v, want 5s", d)
	}
	logs := &logRecorder{}
	db := newSwitchableStore()
	w, stop := startWriter(t, db, WriterOptions{BatchSize: 100, FlushEvery: time.Millisecond,
		RetryAfter: time.Millisecond, MaxRetryAfter: 4 * time.Millisecond, Logger: slog.New(logs)})
	submitAll(t, w, results(10, time.Now()))
	waitFor(t, "six failed writes", func() bool { return len(logs.attrs(writeFailedLog)) >= 6 })
	stop()
	var waits []time.Duration
	for _, a := range logs.attrs(writeFailedLog)[:6] {
		waits = append(waits, a["retry_in"].Duration())
	}
	want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Fatalf("waits between retries = %v, want %v", waits, want)
	}
}
