// Package ingest stores probe results from the bus: the database writer is a durable
// JetStream consumer that acks a batch only after the transaction holding it commits.
// While the database is down the stream keeps the results (up to its limits) and the
// writer retries; a batch delivered again after an uncertain failure is harmless,
// because the store skips results it has (same target and send time).
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
)

// Store is what the writer needs from the database.
type Store interface {
	// WriteResults stores results, skipping any already stored.
	WriteResults(ctx context.Context, rs []ping.Result) error
	EnsurePartitions(ctx context.Context, from, to time.Time) error
}

// Options tune a Writer; zero values take the defaults.
type Options struct {
	MaxMessages int           // batches fetched at once, 500
	FetchWait   time.Duration // longest a fetch waits to fill, 200 ms
	WriteSize   int           // results in one transaction at most, 5000
	// RetryAfter is the wait after a failed write, doubled after each further failure
	// up to MaxRetryAfter; 1 s and 5 s. Wake cuts it short.
	RetryAfter, MaxRetryAfter time.Duration
	Metrics                   *bus.ResultMetrics
	Registry                  prometheus.Registerer
	Logger                    *slog.Logger
}

// Writer moves results from the bus's writer consumer into the database.
type Writer struct {
	store   Store
	cons    jetstream.Consumer
	o       Options
	wake    chan struct{}
	m       writerMetrics
	sources map[string]*source // Run's own
}

// source is what the writer knows of one publisher: how many of its results it has
// seen, so that a jump in Before counts what the bus dropped.
type source struct {
	next uint64 // Before + len of the latest batch stored
	seen time.Time
}

type writerMetrics struct {
	written, batches, writeErrors prometheus.Counter
	batchSeconds                  prometheus.Histogram
}

// New returns a writer of what cons delivers into st; call Run to start it.
func New(st Store, cons jetstream.Consumer, o Options) *Writer {
	if o.MaxMessages <= 0 {
		o.MaxMessages = 500
	}
	if o.FetchWait <= 0 {
		o.FetchWait = 200 * time.Millisecond
	}
	if o.WriteSize <= 0 {
		o.WriteSize = 5000
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 5 * time.Second
	}
	o.MaxRetryAfter = max(o.MaxRetryAfter, o.RetryAfter)
	if o.Metrics == nil {
		o.Metrics = bus.NewResultMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := writerMetrics{
		written:      prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_results_written_total", Help: "Probe results written to the database (a result already stored is skipped, and counted again here)."}),
		batches:      prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_result_batches_total", Help: "Result transactions committed."}),
		writeErrors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_result_write_errors_total", Help: "Failed result writes (retried)."}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pingdeck_result_batch_seconds", Help: "Time to write one transaction of results.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(m.written, m.batches, m.writeErrors, m.batchSeconds)
	}
	return &Writer{store: st, cons: cons, o: o, wake: make(chan struct{}, 1), m: m, sources: map[string]*source{}}
}

// Wake tells the writer the database answers again (/readyz's ping succeeded): a
// write waiting out a failure is retried at once. It never blocks.
func (w *Writer) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// fetched is one fetch's messages that decoded, and their results.
type fetched struct {
	msgs     []jetstream.Msg
	received []bus.Received
	results  []ping.Result
}

// Run fetches, writes and acks until ctx ends. A batch fetched but not stored by then
// is handed back (nak) and is the first delivered at the next start.
func (w *Writer) Run(ctx context.Context) {
	w.ensurePartitions(ctx)
	partitions := time.NewTicker(time.Hour)
	defer partitions.Stop()
	for ctx.Err() == nil {
		select {
		case <-partitions.C:
			w.ensurePartitions(ctx)
			w.forgetSources(time.Now().Add(-time.Hour))
		default:
		}
		f, err := w.fetch()
		if err != nil {
			w.o.Logger.Warn("reading results from the bus failed; retrying", "err", err)
			w.sleep(ctx, w.o.RetryAfter)
			continue
		}
		if len(f.msgs) == 0 {
			continue
		}
		if !w.write(ctx, f.results, f.msgs) {
			for _, m := range f.msgs {
				_ = m.Nak()
			}
			return
		}
		for _, m := range f.msgs {
			if err := m.Ack(); err != nil {
				w.o.Logger.Debug("ack of a stored batch failed; it may come again and is skipped then", "err", err)
			}
		}
		w.account(f.received)
	}
}

// fetch takes what the consumer has, up to MaxMessages, waiting at most FetchWait.
// Messages that cannot be read are terminated (never delivered again) and counted.
func (w *Writer) fetch() (fetched, error) {
	var f fetched
	batch, err := w.cons.Fetch(w.o.MaxMessages, jetstream.FetchMaxWait(w.o.FetchWait))
	if err != nil {
		return f, err
	}
	for m := range batch.Messages() {
		got, err := bus.DecodeResults(m.Subject(), m.Data())
		if err != nil {
			w.o.Metrics.Dropped.WithLabelValues(bus.DropUndecodable).Inc()
			w.o.Logger.Error("a result message the writer cannot read; dropped", "subject", m.Subject(), "err", err)
			_ = m.Term()
			continue
		}
		f.msgs = append(f.msgs, m)
		f.received = append(f.received, got)
		f.results = append(f.results, got.Results...)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return f, err
	}
	return f, nil
}

// write stores rs in transactions of WriteSize, retrying a failed one (with backoff,
// keeping msgs from being handed out again meanwhile) until it commits. It reports
// false when ctx ended first.
func (w *Writer) write(ctx context.Context, rs []ping.Result, msgs []jetstream.Msg) bool {
	backoff := w.o.RetryAfter
	for len(rs) > 0 {
		n := min(len(rs), w.o.WriteSize)
		start := time.Now()
		err := w.store.WriteResults(ctx, rs[:n])
		if err == nil {
			w.m.batchSeconds.Observe(time.Since(start).Seconds())
			w.m.batches.Inc()
			w.m.written.Add(float64(n))
			rs, backoff = rs[n:], w.o.RetryAfter
			continue
		}
		if ctx.Err() != nil {
			return false
		}
		w.m.writeErrors.Inc()
		w.o.Logger.Warn("writing probe results failed; the bus keeps them, retrying", "results", len(rs), "retry_in", backoff, "err", err)
		for _, m := range msgs {
			_ = m.InProgress()
		}
		if !w.sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, w.o.MaxRetryAfter)
	}
	return true
}

// sleep waits d, or less when woken; it reports false when ctx ended.
func (w *Writer) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-w.wake:
	}
	return true
}

// account counts, per source, the results that never arrived: a batch whose Before
// is past what its source's earlier batches added up to follows a gap.
func (w *Writer) account(received []bus.Received) {
	now := time.Now()
	for _, r := range received {
		s := w.sources[r.Source]
		if s == nil {
			s = &source{next: r.Before}
			w.sources[r.Source] = s
		}
		if r.Before > s.next {
			lost := r.Before - s.next
			w.o.Metrics.Dropped.WithLabelValues(bus.DropDiscarded).Add(float64(lost))
			w.o.Logger.Error("results never reached the writer: the bus dropped them (over --bus-max-mb or --bus-max-age) or their publish failed",
				"source", r.Source, "location", r.Location, "count", lost)
		}
		s.next = max(s.next, r.Before+uint64(len(r.Results)))
		s.seen = now
	}
}

// forgetSources drops what it knows of sources not heard from since cutoff.
func (w *Writer) forgetSources(cutoff time.Time) {
	for id, s := range w.sources {
		if s.seen.Before(cutoff) {
			delete(w.sources, id)
		}
	}
}

// ensurePartitions keeps Postgres partitions for yesterday through two days ahead.
func (w *Writer) ensurePartitions(ctx context.Context) {
	now := time.Now()
	if err := w.store.EnsurePartitions(ctx, now.Add(-24*time.Hour), now.Add(48*time.Hour)); err != nil && ctx.Err() == nil {
		w.o.Logger.Warn("creating result partitions failed; will retry", "err", err)
	}
}
