package ingest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// flakyStore is a real store whose writes fail while down is set, as during an outage.
type flakyStore struct {
	*store.Store
	down   atomic.Bool
	failed atomic.Int64
}

func (f *flakyStore) CommitDue(ctx context.Context, now time.Time, grace time.Duration) (time.Time, error) {
	if f.down.Load() {
		f.failed.Add(1)
		return time.Time{}, errors.New("database unavailable (test)")
	}
	return f.Store.CommitDue(ctx, now, grace)
}

// rig is an embedded bus with the result stream, a publisher, and a SQLite store.
type rig struct {
	t       *testing.T
	dir     string
	bus     *bus.Bus
	cons    jetstream.Consumer
	stream  jetstream.Stream
	st      *flakyStore
	metrics *bus.ResultMetrics
	pub     *bus.ResultPublisher
	stopPub func()
}

func newRig(t *testing.T, lim bus.StreamLimits) *rig {
	t.Helper()
	dir := t.TempDir()
	b, err := bus.Open(bus.Config{StoreDir: filepath.Join(dir, "bus")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	stream, cons, err := b.OpenResults(ctx, lim)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "db.sqlite"), store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{t: t, dir: dir, bus: b, cons: cons, stream: stream, st: &flakyStore{Store: st}, metrics: bus.NewResultMetrics(prometheus.NewRegistry())}
	if r.pub, err = b.NewResultPublisher(bus.PublisherOptions{Metrics: r.metrics, FlushEvery: 10 * time.Millisecond, MaxBatch: 100}); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.pub.Run(pctx) })
	r.stopPub = func() { cancel(); wg.Wait() }
	t.Cleanup(r.stopPub)
	return r
}

// startWriter runs a writer until the returned stop is called.
func (r *rig) startWriter() (*Writer, func()) {
	return r.startWriterWith(nil)
}

// startWriterWith starts a writer that admits what admit says (nil: the default).
func (r *rig) startWriterWith(admit func(location, group string, rs []ping.Result) ([]ping.Result, string)) (*Writer, func()) {
	return r.startWriterOpts(Options{Admit: admit})
}

// startWriterOpts starts a writer with o (and the rig's metrics and short waits).
func (r *rig) startWriterOpts(o Options) (*Writer, func()) {
	o.Metrics, o.FetchWait, o.RetryAfter, o.MaxRetryAfter = r.metrics, 50*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
	w := New(r.st, r.cons, o)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			wg.Wait()
		}
	}
	r.t.Cleanup(stop)
	return w, stop
}

// results makes n results of targets sent 10 ms apart from start, spread over groups.
func results(targets []string, group string, n int, start time.Time) []ping.Result {
	out := make([]ping.Result, n)
	for i := range out {
		out[i] = ping.Result{TargetID: targets[i%len(targets)], GroupID: group, SentAt: start.Add(time.Duration(i) * 10 * time.Millisecond)}
		if i%5 != 0 {
			out[i].OK, out[i].RTT = true, time.Duration(100+i)*time.Microsecond
		} else {
			out[i].Err = ping.ErrTimeout
		}
	}
	return out
}

func newTargets(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	return ids
}

// stored is how many results the database holds for targets in [from, to), from the
// raw rows and from the minute rollups; a result counted twice shows as a difference.
func (r *rig) stored(targets []string, from, to time.Time) (raw, rolled int64) {
	r.t.Helper()
	ctx := context.Background()
	stats, err := r.st.ResultStats(ctx, targets, from, to)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, s := range stats {
		raw += s.Sent
	}
	rep, err := r.st.Report(ctx, store.ReportQuery{TargetIDs: targets, From: from, To: to, RawSince: from.Add(-time.Hour)})
	if err != nil {
		r.t.Fatal(err)
	}
	return raw, rep.Summary.Sent
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// aligned is a whole minute, an hour back, so that windows of whole minutes read rollups.
func aligned() time.Time { return time.Now().Add(-time.Hour).Truncate(time.Minute) }

func TestStoresEachResultOnceEvenWhenABatchComesTwice(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	targets, group, start := newTargets(4), uuid.NewString(), aligned()
	rs := results(targets, group, 1000, start)
	for _, res := range rs {
		r.pub.Submit(res)
	}
	_, stop := r.startWriter()
	from, to := start, start.Add(time.Minute)
	waitFor(t, "1000 results stored", func() bool { raw, _ := r.stored(targets, from, to); return raw == 1000 })

	// The same results again, as a publisher that lost its ack and republished under a
	// new message ID would send them (JetStream's dedup does not catch that one).
	again, err := r.bus.NewResultPublisher(bus.PublisherOptions{Metrics: r.metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, res := range rs[:500] {
		again.Submit(res)
	}
	cancel()
	again.Run(ctx) // publishes what it holds and waits for the acks
	waitFor(t, "the repeated batch to be consumed", func() bool {
		info, err := r.cons.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	stop()
	raw, rolled := r.stored(targets, from, to)
	if raw != 1000 || rolled != 1000 {
		t.Fatalf("after a batch delivered twice: %d raw rows and %d in the rollups, want 1000 and 1000", raw, rolled)
	}
	if d := testutil.CollectAndCount(r.metrics.Dropped); d != 0 {
		t.Fatalf("drops counted under %d reasons, want none", d)
	}
}

func TestAnOutageKeepsResultsOnTheBusUntilTheDatabaseIsBack(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	r.st.down.Store(true)
	w, stop := r.startWriter()
	defer stop()
	targets, group, start := newTargets(3), uuid.NewString(), aligned()
	rs := results(targets, group, 3000, start)
	for i, res := range rs {
		r.pub.Submit(res)
		if i%500 == 0 {
			time.Sleep(20 * time.Millisecond) // several batches, as probing would make
		}
	}
	waitFor(t, "failed writes", func() bool { return r.st.failed.Load() >= 3 })
	info, err := r.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		t.Fatal("during the outage the stream holds nothing: where did the results go?")
	}
	r.st.down.Store(false)
	w.Wake()
	from, to := start, start.Add(time.Minute)
	waitFor(t, "every result stored after the outage", func() bool { raw, _ := r.stored(targets, from, to); return raw == 3000 })
	stop()
	if raw, rolled := r.stored(targets, from, to); raw != 3000 || rolled != 3000 {
		t.Fatalf("%d raw rows and %d in the rollups, want 3000 and 3000", raw, rolled)
	}
}

func TestAWriterStoppedMidOutageHandsItsBatchBack(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	r.st.down.Store(true)
	_, stop := r.startWriter()
	targets, group, start := newTargets(2), uuid.NewString(), aligned()
	for _, res := range results(targets, group, 400, start) {
		r.pub.Submit(res)
	}
	waitFor(t, "a failed write", func() bool { return r.st.failed.Load() >= 1 })
	stop() // it holds the fetched batches: they go back (nak), not wait out the ack timeout

	r.st.down.Store(false)
	_, stop2 := r.startWriter()
	defer stop2()
	from, to := start, start.Add(time.Minute)
	waitFor(t, "the next writer to store what the first handed back", func() bool { raw, _ := r.stored(targets, from, to); return raw == 400 })
}

func TestAStreamOverItsLimitDropsTheOldestAndCountsThem(t *testing.T) {
	const limit = 64 << 10
	r := newRig(t, bus.StreamLimits{MaxBytes: limit, MaxAge: time.Hour})
	targets, group, start := newTargets(5), uuid.NewString(), aligned()
	all := results(targets, group, 5100, start)
	const n = 5100 // ~ 400 KB of batches: most cannot wait
	w, stop := r.startWriter()
	// The writer has stored this prober's first results when the database goes away.
	for _, res := range all[:100] {
		r.pub.Submit(res)
	}
	waitFor(t, "the first results stored", func() bool { raw, _ := r.stored(targets, start, start.Add(time.Minute)); return raw == 100 })
	r.st.down.Store(true)
	for i, res := range all[100:] {
		r.pub.Submit(res)
		if i%100 == 99 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitFor(t, "everything published", func() bool { return testutil.ToFloat64(r.metrics.Published) == n })
	r.st.down.Store(false)
	w.Wake()
	waitFor(t, "the stream drained", func() bool {
		info, err := r.cons.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	stop()
	raw, rolled := r.stored(targets, start, start.Add(time.Minute))
	dropped := int64(testutil.ToFloat64(r.metrics.Dropped.WithLabelValues(bus.DropDiscarded)))
	if dropped == 0 || raw <= 100 {
		t.Fatalf("stored %d, counted %d dropped: want some of each (the stream holds %d bytes)", raw, dropped, limit)
	}
	if raw+dropped != n || rolled != raw {
		t.Fatalf("stored %d (rollups %d) + dropped %d = %d, want %d: every result stored or counted, none twice", raw, rolled, dropped, raw+dropped, n)
	}
	// The oldest went: the newest results are all stored.
	if newest, _ := r.stored(targets, all[n-500].SentAt, start.Add(time.Minute)); newest != 500 {
		t.Fatalf("of the newest 500 results, %d are stored: the stream should drop the oldest", newest)
	}
}

func TestAMessageTheWriterCannotReadIsDroppedAndCounted(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	js, err := jetstream.New(r.bus.Conn())
	if err != nil {
		t.Fatal(err)
	}
	group := uuid.NewString()
	for _, bad := range []string{`not json`, `{"source":"x","before":0,"results":[{"target":"not-a-uuid","sent_us":1}]}`} {
		if _, err := js.Publish(context.Background(), bus.ResultSubject("local", group), []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	targets, start := newTargets(1), aligned()
	for _, res := range results(targets, group, 10, start) {
		r.pub.Submit(res)
	}
	_, stop := r.startWriter()
	defer stop()
	waitFor(t, "the good results stored", func() bool { raw, _ := r.stored(targets, start, start.Add(time.Minute)); return raw == 10 })
	if d := testutil.ToFloat64(r.metrics.Dropped.WithLabelValues(bus.DropUndecodable)); d != 2 {
		t.Fatalf("undecodable messages counted: %v, want 2", d)
	}
}

// TestGapsAreCountedAcrossAWriterRestart: the writer that finds the gap is not the one
// that stored the source's earlier batches (a server restarted during an outage), and
// one source's batches were all dropped before any was stored: both gaps are counted
// exactly, from what the database says was stored.
func TestGapsAreCountedAcrossAWriterRestart(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 10, MaxAge: time.Hour})
	targets, group, start := newTargets(5), uuid.NewString(), aligned()
	all := results(targets, group, 5100, start)
	_, stop := r.startWriter()
	for _, res := range all[:100] {
		r.pub.Submit(res)
	}
	waitFor(t, "the first results stored", func() bool { raw, _ := r.stored(targets, start, start.Add(time.Minute)); return raw == 100 })
	stop() // the writer goes; the prober goes on and overflows the stream
	for i, res := range all[100:] {
		r.pub.Submit(res)
		if i%100 == 99 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	// A second prober whose every early batch overflows too.
	other, err := r.bus.NewResultPublisher(bus.PublisherOptions{Metrics: r.metrics, MaxBatch: 100})
	if err != nil {
		t.Fatal(err)
	}
	otherTargets := newTargets(2)
	ctx, cancel := context.WithCancel(context.Background())
	for i, res := range results(otherTargets, group, 3000, start) {
		other.Submit(res)
		if i%100 == 99 {
			cancel()
			other.Run(ctx) // publish what it holds, then on
			ctx, cancel = context.WithCancel(context.Background())
		}
	}
	cancel()
	const n = 5100 + 3000
	waitFor(t, "everything published", func() bool { return testutil.ToFloat64(r.metrics.Published) == n })
	time.Sleep(1500 * time.Millisecond) // the first prober marks its progress (every second)

	_, stop2 := r.startWriter()
	waitFor(t, "the stream drained", func() bool {
		info, err := r.cons.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	stop2()
	raw, rolled := r.stored(append(targets, otherTargets...), start, start.Add(time.Minute))
	dropped := int64(testutil.ToFloat64(r.metrics.Dropped.WithLabelValues(bus.DropDiscarded)))
	if raw+dropped != n || rolled != raw || dropped == 0 {
		t.Fatalf("stored %d (rollups %d) + dropped %d = %d, want %d", raw, rolled, dropped, raw+dropped, n)
	}
}

// TestResultsFromALocationNotEnrolledAreDropped: a batch from a location that is
// neither the server's nor an enrolled agent's (one revoked while its results waited
// on the bus) is dropped and counted, not stored.
func TestResultsFromALocationNotEnrolledAreDropped(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	elsewhere, err := r.bus.NewResultPublisher(bus.PublisherOptions{Location: "fra", Metrics: r.metrics})
	if err != nil {
		t.Fatal(err)
	}
	targets, group, start := newTargets(2), uuid.NewString(), aligned()
	ctx, cancel := context.WithCancel(context.Background())
	for _, res := range results(targets, group, 30, start) {
		elsewhere.Submit(res)
	}
	cancel()
	elsewhere.Run(ctx)
	for _, res := range results(targets, group, 10, start.Add(time.Second)) {
		r.pub.Submit(res)
	}
	_, stop := r.startWriter()
	defer stop()
	waitFor(t, "the local results stored", func() bool { raw, _ := r.stored(targets, start, start.Add(time.Minute)); return raw == 10 })
	waitFor(t, "the other location's counted", func() bool {
		return testutil.ToFloat64(r.metrics.Dropped.WithLabelValues(bus.DropUnknownLocation)) == 30
	})
}

// TestRefusedResultsAreCountedNotLost: results the admission sets aside (an agent's for
// targets it was not given) are counted as not_assigned, and the batches still count in
// their source's progress: nothing after them is taken for a gap.
func TestRefusedResultsAreCountedNotLost(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	given, other := newTargets(2), newTargets(1)
	group, start := uuid.NewString(), aligned()
	admit := func(_, _ string, rs []ping.Result) ([]ping.Result, string) {
		var kept []ping.Result
		for _, res := range rs {
			if slices.Contains(given, res.TargetID) {
				kept = append(kept, res)
			}
		}
		if len(kept) == len(rs) {
			return rs, ""
		}
		return kept, bus.DropNotAssigned
	}
	for _, res := range results(append(slices.Clone(given), other...), group, 300, start) {
		r.pub.Submit(res)
	}
	_, stop := r.startWriterWith(admit)
	defer stop()
	waitFor(t, "the given targets' results stored and the others counted", func() bool {
		raw, _ := r.stored(given, start, start.Add(time.Minute))
		return raw == 200 && testutil.ToFloat64(r.metrics.Dropped.WithLabelValues(bus.DropNotAssigned)) == 100
	})
	if raw, _ := r.stored(other, start, start.Add(time.Minute)); raw != 0 {
		t.Fatalf("%d results of a target not given were stored", raw)
	}
	// More batches of the same source: no gap is counted.
	for _, res := range results(given, group, 50, start.Add(10*time.Second)) {
		r.pub.Submit(res)
	}
	waitFor(t, "the next batches stored", func() bool { raw, _ := r.stored(given, start, start.Add(time.Minute)); return raw == 250 })
	if d := testutil.ToFloat64(r.metrics.Dropped.WithLabelValues(bus.DropDiscarded)); d != 0 {
		t.Fatalf("%v results counted as discarded by the bus after refused ones", d)
	}
}

// committed is how many results of targets in [from, to) the database file holds, as
// another process opening it sees them (nothing held in this one's memory).
func (r *rig) committed(dsn string, targets []string, from, to time.Time) int64 {
	r.t.Helper()
	ctx := context.Background()
	other, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	defer other.Close()
	stats, err := other.ResultStats(ctx, targets, from, to)
	if err != nil {
		r.t.Fatal(err)
	}
	var n int64
	for _, s := range stats {
		n += s.Sent
	}
	return n
}

// TestResultsAreHeldUntilTheirBlockCloses: results of a block still open are held —
// every read sees them, the database has none, the bus keeps their batches unacked —
// and results of a closed block are committed and acked within a second or two. A
// writer that stops commits what it holds and acks it.
func TestResultsAreHeldUntilTheirBlockCloses(t *testing.T) {
	r := newRig(t, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	dsn := "sqlite:" + filepath.Join(r.dir, "db.sqlite")
	targets, group := newTargets(4), uuid.NewString()
	open := time.Now().Truncate(store.BlockSpan).Add(store.BlockSpan) // the next block: closes in ≥ 5 min
	closed := time.Now().Add(-time.Hour).Truncate(time.Minute)
	_, stop := r.startWriterOpts(Options{HoldResults: 1 << 20, Grace: time.Second})
	for _, res := range results(targets, group, 200, open) {
		r.pub.Submit(res)
	}
	waitFor(t, "200 held results seen by reads", func() bool {
		raw, rolled := r.stored(targets, open, open.Add(time.Minute))
		return raw == 200 && rolled == 200
	})
	if n := r.committed(dsn, targets, open, open.Add(time.Minute)); n != 0 {
		t.Fatalf("%d results of an open block committed, want none yet", n)
	}
	info, err := r.cons.Info(context.Background())
	if err != nil || info.NumAckPending == 0 {
		t.Fatalf("the bus should keep the held batches unacked: %+v, %v", info, err)
	}
	for _, res := range results(targets, group, 100, closed) {
		r.pub.Submit(res)
	}
	waitFor(t, "a closed block committed", func() bool { return r.committed(dsn, targets, closed, closed.Add(time.Minute)) == 100 })
	r.stopPub()                        // no more progress marks: what the bus holds is what the writer holds
	time.Sleep(300 * time.Millisecond) // a last mark the publisher sent as it stopped arrives
	waitFor(t, "every batch delivered and held", func() bool {
		info, err := r.cons.Info(context.Background())
		return err == nil && info.NumPending == 0 && r.st.HeldResults() == 200
	})
	time.Sleep(200 * time.Millisecond) // the writer's last fetch, empty, ends
	stop()
	if n := r.committed(dsn, targets, open, open.Add(time.Minute)); n != 200 {
		t.Fatalf("after the writer stopped: %d results of the open block committed, want all 200", n)
	}
	if info, err := r.cons.Info(context.Background()); err != nil || info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("after the writer stopped the bus holds %+v (%v), want every batch acked", info, err)
	}
}

// TestABatchPublishedAgainLateFillsItsGap: a batch the stream did not confirm is
// published again and may come after its successors; the gap it leaves meanwhile is
// not counted lost unless it stays open past gapGrace.
func TestABatchPublishedAgainLateFillsItsGap(t *testing.T) {
	m := bus.NewResultMetrics(nil)
	w := &Writer{o: Options{Metrics: m, Logger: slog.New(slog.DiscardHandler)}, sources: map[string]uint64{}}
	batch := func(before uint64, n int) bus.Received {
		return bus.Received{Location: "local", Source: "s1", Before: before, Results: make([]ping.Result, n)}
	}
	dropped := func() float64 { return testutil.ToFloat64(m.Dropped.WithLabelValues(bus.DropDiscarded)) }
	t0 := time.Now()
	countAt := func(now time.Time) { w.countGaps(now.Add(-gapGrace)) } // as Run's ticks do
	// 0–9 came; 10–29 were not confirmed; 30–39 and 40–49 came first.
	maps.Copy(w.sources, w.progress([]bus.Received{batch(0, 10), batch(30, 10)}, t0))
	maps.Copy(w.sources, w.progress([]bus.Received{batch(40, 10)}, t0))
	countAt(t0.Add(time.Second)) // a second later: nothing counted yet
	if d := dropped(); d != 0 || len(w.gaps) != 1 {
		t.Fatalf("counted %v dropped with %d gaps open right after the gap; want 0 and 1", d, len(w.gaps))
	}
	// 10–19 come again a few seconds later; 20–29 never do.
	maps.Copy(w.sources, w.progress([]bus.Received{batch(10, 10)}, t0.Add(3*time.Second)))
	if w.sources["s1"] != 50 {
		t.Fatalf("source progress %d after a late batch, want 50 (it stays)", w.sources["s1"])
	}
	countAt(t0.Add(gapGrace - time.Second))
	if d := dropped(); d != 0 {
		t.Fatalf("counted %v dropped before the grace ended", d)
	}
	countAt(t0.Add(gapGrace + time.Second))
	if d := dropped(); d != 10 || len(w.gaps) != 0 {
		t.Fatalf("after the grace: %v dropped, %d gaps open; want the 10 that never came, none open", d, len(w.gaps))
	}
	// At a stop every open gap is counted.
	maps.Copy(w.sources, w.progress([]bus.Received{batch(60, 5)}, t0.Add(time.Hour)))
	w.countGaps(time.Time{})
	if d := dropped(); d != 20 {
		t.Fatalf("after a stop: %v dropped, want 20", d)
	}
}
