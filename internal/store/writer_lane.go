package store

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"pingdeck/internal/ping"
	"pingdeck/internal/store/spool"
)

// writerLane batches and writes the results of its share of the targets. Its loop
// (run) is batch-or-deadline: a result is added as it comes and a full batch is written
// at once; at every FlushEvery tick what waits is written even if the batch is not
// full, moved to the spool during an outage, or retried once the wait after a failure
// is over.
//
// Writes run on a goroutine of their own (writeBatches), one batch at a time, so the
// queue keeps being emptied into memory while the database is slow: a write that hangs
// holds one batch, and what comes meanwhile waits in pending under MaxPending, exactly
// as during an outage, instead of filling the queue and being dropped at Submit.
type writerLane struct {
	w          *ResultWriter
	id         int // its index in w.lanes, in what it reports to w.stepped
	in         chan ping.Result
	wake       chan struct{} // Wake's signal; one pending is enough, more are dropped
	maxPending int
	held       atomic.Int64 // results taken from in and not yet written, for the gauge

	// The rest belongs to run's goroutine.

	batches  chan []ping.Result // to writeBatches, one at a time
	outcomes chan error         // its answer for the batch it took

	pending   []ping.Result // taken from in, oldest first, not yet being written
	inflight  []ping.Result // the batch being written: a copy of pending's head, or a spooled batch
	spare     []ping.Result // storage for the next copy
	fromSpool *spool.Token  // inflight came from the spool
	writing   bool          // inflight is with writeBatches
	abandoned bool          // a write hung through shutdown: do not wait for it

	writeStarted time.Time
	failing      bool          // the last write failed
	failedAt     time.Time     // when it did
	retryAt      time.Time     // no write starts before this
	backoff      time.Duration // the wait after the next failure
}

// laneEvent is what a lane has just handled.
type laneEvent int

const (
	laneResult  laneEvent = iota // a result from the queue
	laneWritten                  // the outcome of a write, failed or not
	laneTick                     // a FlushEvery tick
	laneWoken                    // a Wake
)

// laneStep is what a lane reports to ResultWriter.stepped after each event, from its
// own goroutine, so that tests wait for the lane rather than sleep.
type laneStep struct {
	lane    int
	event   laneEvent
	writing bool // a write is under way after it
}

// shutdownGrace bounds what the lane does after its context ends: waiting for the
// write under way and writing what it holds. It is a deadline for the database driver,
// so it is wall-clock time.
const shutdownGrace = 5 * time.Second

// run is the lane's loop, until ctx ends; then it writes, spools or counts what it holds.
func (l *writerLane) run(ctx context.Context) {
	o := &l.w.o
	l.batches, l.outcomes = make(chan []ping.Result), make(chan error, 1)
	l.spare = make([]ping.Result, 0, o.BatchSize)
	l.backoff = o.RetryAfter

	var wg sync.WaitGroup
	wg.Go(func() { l.writeBatches(ctx) })
	defer func() {
		close(l.batches)
		if !l.abandoned {
			wg.Wait()
		}
	}()
	flush := l.w.clock.NewTicker(o.FlushEvery)
	defer flush.Stop()

	for {
		var ev laneEvent
		select {
		case r := <-l.in:
			ev = laneResult
			l.add(r)
			l.writeNext(false)
		case err := <-l.outcomes:
			ev = laneWritten
			l.finished(ctx, err)
			l.writeNext(false)
		case <-flush.C():
			ev = laneTick
			l.flushDue()
		case <-l.wake:
			ev = laneWoken
			l.retrySoon()
		case <-ctx.Done():
			l.shutdown(ctx)
			return
		}
		l.held.Store(int64(l.holding()))
		l.w.setPending()
		if l.w.stepped != nil {
			l.w.stepped(laneStep{lane: l.id, event: ev, writing: l.writing})
		}
	}
}

// writeBatches writes each batch it is handed and answers on outcomes.
func (l *writerLane) writeBatches(ctx context.Context) {
	w := l.w
	for batch := range l.batches {
		start := w.clock.Now()
		err := w.store.WriteResults(ctx, batch)
		if err == nil {
			w.metrics.batchSeconds.Observe(w.clock.Now().Sub(start).Seconds())
		}
		l.outcomes <- err
	}
}

// add takes a result into pending; beyond maxPending the oldest go, counted.
func (l *writerLane) add(r ping.Result) {
	l.pending = append(l.pending, r)
	if over := l.holding() - l.maxPending; over > 0 {
		over = min(over, len(l.pending))
		l.pending = l.pending[over:]
		l.w.metrics.dropped.WithLabelValues("database_unavailable").Add(float64(over))
	}
}

// holding is how many results the lane holds in memory.
func (l *writerLane) holding() int {
	if l.fromSpool != nil {
		return len(l.pending)
	}
	return len(l.pending) + len(l.inflight)
}

// writeNext hands a batch to writeBatches, unless a write is under way or the lane is
// waiting out a failure: spooled batches first (they are the oldest), then the oldest
// pending results. Only a full batch goes, unless flush.
func (l *writerLane) writeNext(flush bool) {
	o := &l.w.o
	if l.writing || l.w.clock.Now().Before(l.retryAt) {
		return
	}
	if o.Spool != nil {
		batch, tok, ok := o.Spool.Take()
		l.w.reportSpoolDamage()
		if ok {
			l.fromSpool = &tok
			l.send(batch)
			return
		}
	}
	if len(l.pending) == 0 || (!flush && len(l.pending) < o.BatchSize) {
		return
	}
	n := min(len(l.pending), o.BatchSize)
	batch := append(l.spare[:0], l.pending[:n]...)
	l.pending = l.pending[n:]
	if len(l.pending) == 0 && cap(l.pending) > 4*o.BatchSize {
		l.pending = nil // release what an outage grew
	}
	l.send(batch)
}

// send starts writing batch.
func (l *writerLane) send(batch []ping.Result) {
	l.inflight = batch
	l.writing, l.writeStarted = true, l.w.clock.Now()
	l.batches <- batch
}

// finished takes the outcome of the write under way.
func (l *writerLane) finished(ctx context.Context, err error) {
	l.writing = false
	if err != nil {
		l.failed(ctx, err)
		return
	}
	m, sp := &l.w.metrics, l.w.o.Spool
	l.failing = false
	m.batches.Inc()
	m.written.Add(float64(len(l.inflight)))
	if l.fromSpool != nil {
		sp.Ack(*l.fromSpool)
		l.fromSpool = nil
	} else {
		l.spare = l.inflight
	}
	l.inflight = nil
	l.backoff = l.w.o.RetryAfter
}

// failed keeps the batch whose write failed, to retry it after the backoff.
func (l *writerLane) failed(ctx context.Context, err error) {
	w := l.w
	l.failing = true
	w.metrics.writeErrors.Inc()
	if ctx.Err() == nil {
		w.o.Logger.Warn("writing probe results failed; keeping them and retrying",
			"pending", len(l.pending)+len(l.inflight), "retry_in", l.backoff, "err", err)
	}
	if l.fromSpool != nil {
		w.o.Spool.Release(*l.fromSpool) // still on disk, taken again later
		l.fromSpool = nil
	} else {
		l.pending = append(slices.Clone(l.inflight), l.pending...) // oldest first, as before
		l.spare = l.inflight[:0]
	}
	l.inflight = nil
	l.failedAt = w.clock.Now()
	l.retryAt, l.backoff = l.failedAt.Add(l.backoff), min(2*l.backoff, w.o.MaxRetryAfter)
}

// flushDue is the FlushEvery tick: during an outage what waits goes to the spool; then
// a batch goes even if not full.
func (l *writerLane) flushDue() {
	if l.outage() {
		l.pending = l.spoolOut(l.pending)
	}
	l.writeNext(true)
}

// outage reports whether the database counts as away: the last write failed, or the
// one under way has hung past SpillAfter. Without a spool there is none to act on.
func (l *writerLane) outage() bool {
	o := &l.w.o
	return o.Spool != nil && (l.failing || (l.writing && l.w.clock.Now().Sub(l.writeStarted) > o.SpillAfter))
}

// spoolOut moves results to the spool, a batch a record, and returns what the spool
// could not take.
func (l *writerLane) spoolOut(results []ping.Result) []ping.Result {
	w := l.w
	for len(results) > 0 {
		n := min(len(results), w.o.BatchSize)
		dropped, err := w.o.Spool.Append(results[:n])
		if err != nil {
			w.o.Logger.Error("spooling probe results to disk failed; keeping them in memory", "err", err)
			return results
		}
		if dropped > 0 {
			w.metrics.dropped.WithLabelValues("spool_full").Add(float64(dropped))
			w.o.Logger.Warn("the result spool is full; dropped its oldest results", "count", dropped)
		}
		results = results[n:]
	}
	return nil
}

// retrySoon is Wake: a lane waiting out a failed write retries at once, unless the
// failure was less than wakeGap ago; then at the first tick after it.
func (l *writerLane) retrySoon() {
	if !l.failing || l.writing {
		return
	}
	if soon := l.failedAt.Add(wakeGap); soon.Before(l.retryAt) {
		l.retryAt = soon
	}
	l.writeNext(true)
}

// shutdown takes what is left in the queue, waits (up to shutdownGrace) for the write
// under way, and writes what the lane holds; what the database does not take goes to
// the spool, or is counted as lost.
func (l *writerLane) shutdown(ctx context.Context) {
	w := l.w
	for drained := false; !drained; {
		select {
		case r := <-l.in:
			l.pending = append(l.pending, r)
		default:
			drained = true
		}
	}
	final, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if l.writing { // cancelled with ctx: its rows come back unless it got through
		select {
		case err := <-l.outcomes:
			l.finished(ctx, err)
		case <-final.Done():
			l.abandoned = true
			if l.fromSpool == nil { // it may or may not have got through: keep it, a replay is harmless
				l.pending = append(l.inflight, l.pending...)
			}
		}
	}
	if !l.abandoned {
		w.writeAll(final, &l.pending)
	}
	if len(l.pending) > 0 && w.o.Spool != nil {
		l.pending = l.spoolOut(l.pending)
	}
	if len(l.pending) > 0 {
		w.metrics.dropped.WithLabelValues("shutdown").Add(float64(len(l.pending)))
		w.o.Logger.Error("probe results lost at shutdown: the database did not take them", "count", len(l.pending))
	}
}
