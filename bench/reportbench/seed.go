//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"pingdeck/internal/bus"
	"pingdeck/internal/ingest"
	"pingdeck/internal/ping"
)

// seedInfo says exactly what was generated.
type seedInfo struct {
	targets                   int
	rollupMinutes, rawMinutes int
	rawRows, rollupRows       int64
	rawBytes, rollupBytes     int64
	took                      time.Duration
}

type ingestResult struct {
	path string
	rows int
	took time.Duration
}

// synth is target i's probe in second s of the seeded day: sent at a per-target phase
// within the second; every 50th target silent, every 10th losing every 4th probe, the
// rest losing about 1 %, RTTs 2–25 ms.
func (b *bench) synth(ids []string, i int, s int) ping.Result {
	at := b.day.Add(time.Duration(s)*time.Second + time.Duration((i*7919)%1000)*time.Millisecond)
	h := uint64(i)*0x9E3779B97F4A7C15 ^ uint64(s)*0xBF58476D1CE4E5B9
	h ^= h >> 31
	h *= 0x94D049BB133111EB
	h ^= h >> 29
	r := ping.Result{TargetID: ids[i], SentAt: at}
	switch {
	case i%50 == 7:
	case i%10 == 3 && s%4 == 0:
	case h%100 == 0:
	default:
		r.OK = true
		r.RTT = time.Duration(2000+(i%40)*500+int(h>>40)%3000) * time.Microsecond
	}
	return r
}

// gen returns every target's probes of seconds [s0, s1), in send order.
func (b *bench) gen(ids []string, s0, s1 int) []ping.Result {
	out := make([]ping.Result, 0, (s1-s0)*len(ids))
	for s := s0; s < s1; s++ {
		for i := range ids {
			out = append(out, b.synth(ids, i, s))
		}
	}
	return out
}

// seed fills the day: rollups alone for all but the last 2×raw minutes, then raw rows
// by plain COPY (rollups added after, untimed), then raw rows and rollups by the
// ResultWriter; the two raw phases are the ingest measurements.
func (b *bench) seed(ctx context.Context) error {
	start := time.Now()
	ids := b.allTargets()
	total := b.o.hours * 60
	copyFrom, writerFrom := total-2*b.o.rawMinutes, total-b.o.rawMinutes
	if err := b.st.EnsurePartitions(ctx, b.day, b.day.Add(time.Duration(b.o.hours+1)*time.Hour)); err != nil {
		return err
	}
	for m := 0; m < copyFrom; m += 10 {
		if err := b.st.AddRollups(ctx, b.gen(ids, m*60, min(m+10, copyFrom)*60)); err != nil {
			return fmt.Errorf("seed rollups: %w", err)
		}
		if (m+10)%120 == 0 {
			b.logf("rollups seeded for %d of %d minutes (%s)", m+10, copyFrom, time.Since(start).Round(time.Second))
		}
	}

	rs := b.gen(ids, copyFrom*60, writerFrom*60)
	b.logf("plain COPY of %d rows", len(rs))
	took, err := b.plainCopy(ctx, rs)
	if err != nil {
		return err
	}
	b.ingest = append(b.ingest, ingestResult{"plain COPY into probe_results (no rollups), batches of 5,000", len(rs), took})
	b.logf("plain COPY: %.0f rows/s", float64(len(rs))/took.Seconds())
	if err := b.st.AddRollups(ctx, rs); err != nil {
		return err
	}

	rs = b.gen(ids, writerFrom*60, total*60)
	b.logf("ResultWriter: %d rows", len(rs))
	took, err = b.writeThroughWriter(ctx, rs)
	if err != nil {
		return err
	}
	b.ingest = append(b.ingest, ingestResult{"ResultWriter (2 lanes; each batch of 5,000: COPY + minute and hour rollups in one transaction)", len(rs), took})
	b.logf("ResultWriter: %.0f rows/s", float64(len(rs))/took.Seconds())

	if _, err := b.pg.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	info := seedInfo{targets: len(ids), rollupMinutes: total, rawMinutes: 2 * b.o.rawMinutes, took: time.Since(start)}
	err = b.pg.QueryRow(ctx, `SELECT (SELECT count(*) FROM probe_results), (SELECT count(*) FROM probe_rollups_1m),
		(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'probe_results'),
		(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'probe_rollups_1m')`).
		Scan(&info.rawRows, &info.rollupRows, &info.rawBytes, &info.rollupBytes)
	if err != nil {
		return err
	}
	b.seeded = info
	return nil
}

// plainCopy COPYs rs into probe_results in batches of 5,000, one after another.
func (b *bench) plainCopy(ctx context.Context, rs []ping.Result) (time.Duration, error) {
	start := time.Now()
	for lo := 0; lo < len(rs); lo += 5000 {
		part := rs[lo:min(lo+5000, len(rs))]
		_, err := b.pg.CopyFrom(ctx, pgx.Identifier{"probe_results"}, []string{"target_id", "sent_at", "rtt_us", "ok"},
			pgx.CopyFromSlice(len(part), func(i int) ([]any, error) {
				r := &part[i]
				var rtt *int64
				if r.OK {
					us := r.RTT.Microseconds()
					rtt = &us
				}
				return []any{r.TargetID, r.SentAt, rtt, r.OK}, nil
			}))
		if err != nil {
			return 0, fmt.Errorf("plain copy: %w", err)
		}
	}
	return time.Since(start), nil
}

// writeThroughWriter publishes rs on an embedded bus (as the prober does) and times
// until the database writer, consuming the result stream, has stored them all.
func (b *bench) writeThroughWriter(ctx context.Context, rs []ping.Result) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "reportbench-bus-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bb, err := bus.Open(bus.Config{StoreDir: dir})
	if err != nil {
		return 0, err
	}
	defer bb.Close()
	_, cons, err := bb.OpenResults(ctx, bus.StreamLimits{MaxBytes: 8 << 30, MaxAge: time.Hour})
	if err != nil {
		return 0, err
	}
	reg := prometheus.NewRegistry()
	m := bus.NewResultMetrics(reg)
	pub, err := bb.NewResultPublisher(bus.PublisherOptions{Metrics: m, MaxPending: len(rs) + 1})
	if err != nil {
		return 0, err
	}
	w := ingest.New(b.st, cons, ingest.Options{Metrics: m, Registry: reg, Lanes: 2})
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(wctx) })
	wg.Go(func() { pub.Run(wctx) })
	defer func() { cancel(); wg.Wait() }()

	// The prober publishes per group: give the results one, as the bench's targets
	// are in no group the writer needs to know.
	group := uuid.NewString()
	start := time.Now()
	for i := range rs {
		rs[i].GroupID = group
		pub.Submit(rs[i])
	}
	for {
		n, err := metricValue(reg, "pingdeck_results_written_total")
		if err != nil {
			return 0, err
		}
		if int(n) >= len(rs) {
			return time.Since(start), nil
		}
		if errs, _ := metricValue(reg, "pingdeck_result_write_errors_total"); errs > 0 {
			return 0, fmt.Errorf("the writer failed %v batches", errs)
		}
		if dropped, _ := metricValue(reg, "pingdeck_results_dropped_total"); dropped > 0 {
			return 0, fmt.Errorf("%v results were dropped on the way", dropped)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// metricValue reads a counter's or gauge's value from reg, summed over its labels
// (or only where the label "reason" is one of reasons).
func metricValue(reg *prometheus.Registry, name string, reasons ...string) (float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if len(reasons) > 0 && !hasReason(m, reasons) {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum, nil
}

func hasReason(m *dto.Metric, reasons []string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == "reason" && slices.Contains(reasons, l.GetValue()) {
			return true
		}
	}
	return false
}
