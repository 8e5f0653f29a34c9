package store

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/ping"
	"pingdeck/internal/store/spool"
)

// WriterOptions tune a ResultWriter; zero values pick the defaults.
type WriterOptions struct {
	BatchSize  int           // rows per write, default 5000
	FlushEvery time.Duration // longest a result waits before being written, default 250 ms
	QueueSize  int           // results waiting to be picked up, default 65536; beyond it Submit drops
	MaxPending int           // results held while the database is down, default 600,000; beyond it the oldest are dropped
	// Lanes is how many batches are written at once, each lane taking its own share of
	// the targets (so lanes never touch the same rollup rows and each target's results
	// stay in order); QueueSize and MaxPending are split between them. Default 2 on
	// Postgres, 1 on SQLite (one writer at a time anyway).
	Lanes int
	// Spool, when set, takes results the database cannot: during an outage (a failed
	// write, or one that hangs past SpillAfter) every flush moves what waits in memory
	// to disk, and at shutdown what could not be written goes there too. Spooled
	// batches are written first when the database answers again, also after a restart.
	Spool      *spool.Spool
	SpillAfter time.Duration // a write hung this long counts as an outage, default 5 s
	// RetryAfter is the wait after a failed write, doubled after each further failure
	// up to MaxRetryAfter; defaults 1 s and 5 s. Wake cuts the wait short.
	RetryAfter, MaxRetryAfter time.Duration
	Registry                  prometheus.Registerer
	Logger                    *slog.Logger
}

// ResultWriter batches probe results into the database. Submit never blocks the probe
// path: a full queue drops the result and counts it. When the database fails, results
// are kept in memory (up to MaxPending, oldest dropped first, counted) and retried with
// backoff until it answers again.
type ResultWriter struct {
	store   resultStore
	o       WriterOptions
	lanes   []*writerLane
	metrics writerMetrics
	clock   clock
	// stepped, when set (by tests), hears from each lane after each event it handles.
	stepped func(laneStep)
}

// resultStore is what the writer needs from the database.
type resultStore interface {
	WriteResults(ctx context.Context, rs []ping.Result) error
	EnsurePartitions(ctx context.Context, from, to time.Time) error
}

var _ resultStore = (*Store)(nil)

type writerMetrics struct {
	written, batches, writeErrors prometheus.Counter
	spoolCorruptBytes             prometheus.Counter
	dropped                       *prometheus.CounterVec
	pending, spooled              prometheus.Gauge
	batchSeconds                  prometheus.Histogram
}

// NewResultWriter returns a writer into st; call Run to start it.
func NewResultWriter(st resultStore, o WriterOptions) *ResultWriter {
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 250 * time.Millisecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 65536
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 600_000
	}
	if o.Lanes <= 0 {
		o.Lanes = 1
		if d, ok := st.(interface{ Dialect() Dialect }); ok && d.Dialect() == Postgres {
			o.Lanes = 2
		}
	}
	if o.SpillAfter <= 0 {
		o.SpillAfter = 5 * time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 5 * time.Second
	}
	o.MaxRetryAfter = max(o.MaxRetryAfter, o.RetryAfter)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := writerMetrics{
		written:     prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_results_written_total", Help: "Probe results written to the database."}),
		batches:     prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_result_batches_total", Help: "Result batches written."}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_result_write_errors_total", Help: "Failed result batch writes (retried)."}),
		dropped:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pingdeck_results_dropped_total", Help: "Probe results dropped before reaching the database, by reason."}, []string{"reason"}),
		pending:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "pingdeck_results_pending", Help: "Results waiting to be written (queue and retry buffer)."}),
		spooled:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "pingdeck_results_spooled", Help: "Results waiting in the on-disk spool."}),
		spoolCorruptBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_spool_corrupt_bytes_total",
			Help: "Bytes of damaged spool records skipped. The results in them are counted in pingdeck_results_dropped_total{reason=\"spool_corrupt\"} when the record's header survived; a damaged header hides how many it held, so those are counted here only."}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pingdeck_result_batch_seconds", Help: "Time to write one batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(m.written, m.batches, m.writeErrors, m.dropped, m.pending, m.spooled, m.batchSeconds, m.spoolCorruptBytes)
	}
	w := &ResultWriter{store: st, o: o, metrics: m, clock: wallClock{}}
	for i := range o.Lanes {
		w.lanes = append(w.lanes, &writerLane{w: w, id: i, in: make(chan ping.Result, max(o.QueueSize/o.Lanes, 1)),
			wake: make(chan struct{}, 1), maxPending: max(o.MaxPending/o.Lanes, 1)})
	}
	return w
}

// laneOf picks a target's lane (FNV-1a of its ID).
func (w *ResultWriter) laneOf(targetID string) *writerLane {
	if len(w.lanes) == 1 {
		return w.lanes[0]
	}
	h := uint32(2166136261)
	for i := 0; i < len(targetID); i++ {
		h = (h ^ uint32(targetID[i])) * 16777619
	}
	return w.lanes[h%uint32(len(w.lanes))]
}

// setPending publishes what all lanes hold and have queued.
func (w *ResultWriter) setPending() {
	var n int64
	for _, l := range w.lanes {
		n += l.held.Load() + int64(len(l.in))
	}
	w.metrics.pending.Set(float64(n))
	if w.o.Spool != nil {
		w.metrics.spooled.Set(float64(w.o.Spool.Len()))
	}
}

// Submit hands a result to the writer without waiting; it reports false (and counts
// the drop) when the queue is full.
func (w *ResultWriter) Submit(r ping.Result) bool {
	select {
	case w.laneOf(r.TargetID).in <- r:
		return true
	default:
		w.metrics.dropped.WithLabelValues("queue_full").Inc()
		return false
	}
}

// Wake tells the writer the database answers again (e.g. /readyz's ping succeeded): a
// lane waiting out a failed write retries at once rather than at the end of its wait.
// It never blocks, and costs nothing when no write is failing.
func (w *ResultWriter) Wake() {
	for _, l := range w.lanes {
		select {
		case l.wake <- struct{}{}:
		default: // one is already pending
		}
	}
}

// wakeGap is the least time between a failed write and a retry Wake brings forward, so
// that calling Wake in a loop (every /readyz request) cannot turn into a retry storm
// while writes fail for a reason a ping does not see.
const wakeGap = 250 * time.Millisecond

// Run writes until ctx ends, then writes what it holds (for up to 5 s more) and returns.
func (w *ResultWriter) Run(ctx context.Context) error {
	w.reportSpoolDamage()
	w.ensurePartitions(ctx)
	var wg sync.WaitGroup
	for _, l := range w.lanes {
		wg.Go(func() { l.run(ctx) })
	}
	partitions := w.clock.NewTicker(time.Hour)
	defer partitions.Stop()
	for {
		select {
		case <-partitions.C():
			w.ensurePartitions(ctx)
		case <-ctx.Done():
			wg.Wait()
			return nil
		}
	}
}

// reportSpoolDamage counts and logs what the spool skipped as damaged.
func (w *ResultWriter) reportSpoolDamage() {
	if w.o.Spool == nil {
		return
	}
	for _, c := range w.o.Spool.Corruptions() {
		w.metrics.dropped.WithLabelValues("spool_corrupt").Add(float64(c.Results))
		w.metrics.spoolCorruptBytes.Add(float64(c.Bytes))
		w.o.Logger.Error("the result spool had damaged records; skipped them and read on",
			"segment", c.Segment, "offset", c.Offset, "bytes", c.Bytes, "results", c.Results,
			"results_known", c.ResultsKnown, "reason", c.Reason)
	}
}

// writeAll writes *pending in batches, in this goroutine, until done or a failure;
// what was not written stays in *pending.
func (w *ResultWriter) writeAll(ctx context.Context, pending *[]ping.Result) {
	for len(*pending) > 0 {
		n := min(len(*pending), w.o.BatchSize)
		if err := w.store.WriteResults(ctx, (*pending)[:n]); err != nil {
			w.metrics.writeErrors.Inc()
			return
		}
		w.metrics.batches.Inc()
		w.metrics.written.Add(float64(n))
		*pending = (*pending)[n:]
	}
}

// ensurePartitions keeps Postgres partitions for yesterday through two days ahead.
func (w *ResultWriter) ensurePartitions(ctx context.Context) {
	now := w.clock.Now()
	if err := w.store.EnsurePartitions(ctx, now.Add(-24*time.Hour), now.Add(48*time.Hour)); err != nil && ctx.Err() == nil {
		w.o.Logger.Warn("creating result partitions failed; will retry", "err", err)
	}
}
