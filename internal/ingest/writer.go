// Package ingest stores probe results from the bus: the database writer is a durable
// JetStream consumer. It holds each batch's results in the store's open blocks (where
// reads see them at once) and acks the batch only after the blocks holding its results
// are committed, when their five minutes have passed. While the database is down the
// stream keeps the results (up to its limits) and the writer retries; a batch
// delivered again is harmless, because the store keeps one probe per target, location
// and send time.
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
)

// Store is what the writer needs from the database.
type Store interface {
	// Hold keeps results where reads see them and returns the end of their latest
	// block; CommitDue stores the blocks closed by now (all with a zero now) and says
	// from when blocks are still held.
	Hold(rs []ping.Result) time.Time
	CommitDue(ctx context.Context, now time.Time, grace time.Duration) (heldFrom time.Time, err error)
	HeldResults() int
	EnsurePartitions(ctx context.Context, from, to time.Time) error
	// SourceProgress and SaveSourceProgress keep, per bus source, how many of its
	// results the stored batches account for, so that gaps are counted across restarts.
	SourceProgress(ctx context.Context) (map[string]uint64, error)
	SaveSourceProgress(ctx context.Context, progress map[string]uint64, now time.Time) error
	ForgetSourcesBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// Options tune a Writer; zero values take the defaults.
type Options struct {
	MaxMessages int           // batches fetched at once, 500
	FetchWait   time.Duration // longest a fetch waits to fill, 200 ms
	// Grace is how long after a block's span ends the writer waits for its last
	// results before committing it, 15 s; later ones are merged into it.
	Grace time.Duration
	// HoldResults bounds the results held in memory (about 40 bytes each): past it
	// every held block is committed at once, open ones too (merged later). Zero
	// commits every fetch at once, as a writer without blocks would.
	HoldResults int
	// RetryAfter is the wait after a failed write, doubled after each further failure
	// up to MaxRetryAfter; 1 s and 5 s. Wake cuts it short.
	RetryAfter, MaxRetryAfter time.Duration
	// Admit says which of a batch's results are stored: the server's own all, an
	// enrolled agent's those of its assignment; the others are dropped and counted
	// under the reason it gives. Nil admits bus.LocalLocation's results only.
	Admit func(location, group string, rs []ping.Result) (kept []ping.Result, reason string)
	// SourceTTL is how long a source that publishes nothing more is remembered: at
	// least as long as the stream keeps a batch (--bus-max-age), 73 h.
	SourceTTL time.Duration
	Metrics   *bus.ResultMetrics
	Registry  prometheus.Registerer
	Logger    *slog.Logger
}

// Writer moves results from the bus's writer consumer into the database.
type Writer struct {
	store Store
	cons  jetstream.Consumer
	o     Options
	wake  chan struct{}
	m     writerMetrics
	// sources is, per publisher, how many of its results the batches stored account
	// for (Before + len of its newest): a batch whose Before is past it follows a gap.
	// Loaded from the database at start, saved after each write. Run's own.
	sources map[string]uint64
	// gaps are results that did not arrive in order, not counted lost yet: a batch the
	// stream did not confirm is published again and may come after its successors.
	// Run's own.
	gaps []gap
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
	if o.Grace <= 0 {
		o.Grace = 15 * time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 5 * time.Second
	}
	o.MaxRetryAfter = max(o.MaxRetryAfter, o.RetryAfter)
	if o.Admit == nil {
		o.Admit = func(location, _ string, rs []ping.Result) ([]ping.Result, string) {
			if location == bus.LocalLocation {
				return rs, ""
			}
			return nil, bus.DropUnknownLocation
		}
	}
	if o.SourceTTL <= 0 {
		o.SourceTTL = 73 * time.Hour
	}
	if o.Metrics == nil {
		o.Metrics = bus.NewResultMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := writerMetrics{
		written:      prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_results_written_total", Help: "Probe results taken by the writer: held where reads see them, stored when their block closes (a result delivered again is counted again)."}),
		batches:      prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_result_batches_total", Help: "Block commits (transactions of closed blocks)."}),
		writeErrors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_result_write_errors_total", Help: "Failed result writes (retried)."}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pingdeck_result_batch_seconds", Help: "Time to commit the blocks due at once.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(m.written, m.batches, m.writeErrors, m.batchSeconds,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_results_held", Help: "Probe results held in memory until their block closes."},
				func() float64 { return float64(st.HeldResults()) }))
	}
	return &Writer{store: st, cons: cons, o: o, wake: make(chan struct{}, 1), m: m}
}

// Wake tells the writer the database answers again (/readyz's ping succeeded): a
// write waiting out a failure is retried at once. It never blocks.
func (w *Writer) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// fetched is one fetch's messages that decoded, and what they carry.
type fetched struct {
	msgs     []jetstream.Msg
	received []bus.Received
}

// heldBatch is a fetched batch whose results are held: it is acked once the blocks
// closing by due are committed.
type heldBatch struct {
	msg jetstream.Msg
	due time.Time
}

// shutdownWait bounds the commit of every held block when the writer stops.
const shutdownWait = 10 * time.Second

// Run fetches, holds, commits and acks until ctx ends. Then it commits every held
// block (the open ones as they are, with what the fetcher still had) and acks; what it
// cannot commit in time goes back (nak) and is the first delivered at the next start.
func (w *Writer) Run(ctx context.Context) {
	if !w.loadSources(ctx) {
		return
	}
	w.housekeep(ctx)
	hourly := time.NewTicker(time.Hour)
	defer hourly.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// Fetching and decoding the next batches overlaps with committing.
	next := make(chan fetched)
	var wg sync.WaitGroup
	wg.Go(func() { w.fetchLoop(ctx, next) })
	var held []heldBatch
	defer func() {
		for f := range next { // what the fetcher still has is held and stored with the rest
			for i, r := range f.received {
				held = append(held, heldBatch{msg: f.msgs[i], due: w.store.Hold(r.Results)})
			}
		}
		wg.Wait()
		w.countGaps(time.Time{}) // those still open are lost, as far as this run knows
		final, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWait)
		defer cancel()
		if !w.commit(final, time.Time{}, &held) {
			for _, h := range held {
				_ = h.msg.Nak()
			}
		}
	}()
	for {
		select {
		case <-hourly.C:
			w.housekeep(ctx)
		case now := <-tick.C:
			w.countGaps(now.Add(-gapGrace))
			if !w.commit(ctx, now, &held) {
				return
			}
		case f, ok := <-next:
			if !ok { // the fetcher stopped: ctx ended
				return
			}
			progress := w.progress(f.received, time.Now())
			n := 0
			for i, r := range f.received {
				held = append(held, heldBatch{msg: f.msgs[i], due: w.store.Hold(r.Results)})
				n += len(r.Results)
			}
			w.m.written.Add(float64(n))
			maps.Copy(w.sources, progress)
			if w.store.HeldResults() > w.o.HoldResults && !w.commit(ctx, time.Time{}, &held) {
				return
			}
		}
	}
}

// commit stores the held blocks closed by now (every held block with a zero now) and
// the sources' progress, retrying until both are done (with backoff; meanwhile
// nothing is fetched), then acks the held batches all of whose results are stored.
// It reports false when ctx ended first.
func (w *Writer) commit(ctx context.Context, now time.Time, held *[]heldBatch) bool {
	backoff := w.o.RetryAfter
	var heldFrom time.Time
	for {
		start := time.Now()
		var err error
		heldFrom, err = w.store.CommitDue(ctx, now, w.o.Grace)
		if err == nil {
			if err = w.store.SaveSourceProgress(ctx, w.sources, time.Now()); err == nil {
				w.m.batchSeconds.Observe(time.Since(start).Seconds())
				w.m.batches.Inc()
				break
			}
		}
		if ctx.Err() != nil {
			return false
		}
		w.m.writeErrors.Inc()
		w.o.Logger.Warn("storing probe results failed; the bus keeps them, retrying", "held", w.store.HeldResults(), "retry_in", backoff, "err", err)
		if !w.sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, w.o.MaxRetryAfter)
	}
	kept := (*held)[:0]
	for _, h := range *held {
		if heldFrom.IsZero() || h.due.Before(heldFrom) {
			if err := h.msg.Ack(); err != nil {
				w.o.Logger.Debug("ack of a stored batch failed; it may come again and is merged then", "err", err)
			}
			continue
		}
		kept = append(kept, h)
	}
	clear((*held)[len(kept):])
	*held = kept
	return true
}

// fetchLoop fetches until ctx ends, handing each non-empty fetch to next; it closes
// next when it stops.
func (w *Writer) fetchLoop(ctx context.Context, next chan<- fetched) {
	defer close(next)
	for ctx.Err() == nil {
		f, err := w.fetch()
		if err != nil {
			w.o.Logger.Warn("reading results from the bus failed; retrying", "err", err)
			w.sleep(ctx, w.o.RetryAfter)
			continue
		}
		if len(f.msgs) == 0 {
			continue
		}
		next <- f // Run takes it, or, stopping, holds it with the rest and stores it
	}
}

// nakAll hands msgs back to the stream, to be delivered again (first).
func nakAll(msgs []jetstream.Msg) {
	for _, m := range msgs {
		_ = m.Nak()
	}
}

// loadSources reads what earlier runs stored of each source, retrying while the
// database does not answer; it reports false when ctx ended first.
func (w *Writer) loadSources(ctx context.Context) bool {
	for {
		got, err := w.store.SourceProgress(ctx)
		if err == nil {
			w.sources = got
			return true
		}
		w.o.Logger.Warn("reading the bus sources' progress failed; retrying before storing results", "err", err)
		if !w.sleep(ctx, w.o.RetryAfter) {
			return false
		}
	}
}

// housekeep keeps partitions ahead and forgets sources silent past SourceTTL.
func (w *Writer) housekeep(ctx context.Context) {
	w.ensurePartitions(ctx)
	cutoff := time.Now().Add(-w.o.SourceTTL)
	if _, err := w.store.ForgetSourcesBefore(ctx, cutoff); err != nil && ctx.Err() == nil {
		w.o.Logger.Warn("forgetting silent bus sources failed; will retry", "err", err)
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
		kept, reason := w.o.Admit(got.Location, got.GroupID, got.Results)
		if reason == bus.DropUnknownLocation {
			if len(got.Results) > 0 { // not a progress mark
				w.o.Metrics.Dropped.WithLabelValues(reason).Add(float64(len(got.Results)))
				w.o.Logger.Error("results from a location this server does not store; dropped", "location", got.Location, "source", got.Source, "count", len(got.Results))
			}
			_ = m.Term()
			continue
		}
		if refused := len(got.Results) - len(kept); refused > 0 {
			w.o.Metrics.Dropped.WithLabelValues(reason).Add(float64(refused))
			w.o.Logger.Warn("results a location was not assigned; dropped", "location", got.Location, "group", got.GroupID,
				"source", got.Source, "count", refused, "reason", reason)
			got.Results, got.Refused = kept, refused
		}
		f.msgs = append(f.msgs, m)
		f.received = append(f.received, got)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return f, err
	}
	return f, nil
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

// gap is results of one source that have not arrived: its results numbered from to to.
type gap struct {
	source, location string
	from, to         uint64
	seen             time.Time // when a later batch showed it
}

// Counting gaps: one still open gapGrace after it was seen is counted lost. A batch
// the stream did not confirm (its leader changing) is published again every 250 ms,
// so it comes within seconds of its successors; one later than gapGrace is counted
// lost, then stored (an over-count, logged). At most maxOpenGaps wait, past that the
// oldest is counted at once.
const (
	gapGrace    = 15 * time.Second
	maxOpenGaps = 10000
)

// progress is, for the sources of received, what the stored batches will account for
// once these are stored. A batch whose Before is past what its source's batches
// account for (nothing, for a source never stored) opens a gap; a batch that comes
// late fills the gap it falls in.
func (w *Writer) progress(received []bus.Received, now time.Time) map[string]uint64 {
	progress := map[string]uint64{}
	for _, r := range received {
		next, ok := progress[r.Source]
		if !ok {
			next = w.sources[r.Source]
		}
		end := r.Before + uint64(len(r.Results)+r.Refused)
		switch {
		case r.Before > next:
			w.gaps = append(w.gaps, gap{source: r.Source, location: r.Location, from: next, to: r.Before, seen: now})
		case r.Before < next:
			w.fill(r.Source, r.Before, end)
		}
		progress[r.Source] = max(next, end)
	}
	if over := len(w.gaps) - maxOpenGaps; over > 0 {
		w.count(w.gaps[:over])
		w.gaps = slices.Delete(w.gaps, 0, over)
	}
	return progress
}

// fill takes source's results from to to out of the open gaps.
func (w *Writer) fill(source string, from, to uint64) {
	var kept []gap
	for _, g := range w.gaps {
		if g.source != source || to <= g.from || from >= g.to {
			kept = append(kept, g)
			continue
		}
		if g.from < from {
			kept = append(kept, gap{source: g.source, location: g.location, from: g.from, to: from, seen: g.seen})
		}
		if to < g.to {
			kept = append(kept, gap{source: g.source, location: g.location, from: to, to: g.to, seen: g.seen})
		}
	}
	w.gaps = kept
}

// countGaps counts as lost the open gaps seen before cutoff (all of them with a zero
// cutoff).
func (w *Writer) countGaps(cutoff time.Time) {
	n := 0
	for n < len(w.gaps) && (cutoff.IsZero() || w.gaps[n].seen.Before(cutoff)) {
		n++
	}
	w.count(w.gaps[:n])
	w.gaps = slices.Delete(w.gaps, 0, n)
}

// count counts and logs results that never reached the writer.
func (w *Writer) count(gaps []gap) {
	for _, g := range gaps {
		w.o.Metrics.Dropped.WithLabelValues(bus.DropDiscarded).Add(float64(g.to - g.from))
		w.o.Logger.Error("results never reached the writer: the bus dropped them (over --bus-max-mb or --bus-max-age) or their publish failed",
			"source", g.source, "location", g.location, "count", g.to-g.from)
	}
}

// ensurePartitions keeps Postgres partitions for yesterday through two days ahead.
func (w *Writer) ensurePartitions(ctx context.Context) {
	now := time.Now()
	if err := w.store.EnsurePartitions(ctx, now.Add(-24*time.Hour), now.Add(48*time.Hour)); err != nil && ctx.Err() == nil {
		w.o.Logger.Warn("creating result partitions failed; will retry", "err", err)
	}
}
