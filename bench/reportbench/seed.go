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
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"pingdeck/internal/bus"
	"pingdeck/internal/ingest"
	"pingdeck/internal/ping"
)

// seedInfo says exactly what was generated and how much room it takes.
type seedInfo struct {
	targets             int
	minutes             int
	probes              int64
	blockRows, hourRows int64
	blockBytes          int64 // probe_blocks, every partition with its indexes and TOAST
	hourBytes           int64 // probe_rollups_1h, the same
	took                time.Duration
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

// seed fills the day: store.WriteResults for all but the last -raw-minutes, in
// 10-minute batches of every target (the blocks and hourly rollups as the writer makes
// them), then the rest through the bus and the database writer; both are ingest
// measurements.
func (b *bench) seed(ctx context.Context) error {
	start := time.Now()
	ids := b.allTargets()
	total := b.o.hours * 60
	writerFrom := total - b.o.rawMinutes
	if err := b.st.EnsurePartitions(ctx, b.day, b.day.Add(time.Duration(b.o.hours+1)*time.Hour)); err != nil {
		return err
	}
	var direct time.Duration
	var n int
	for m := 0; m < writerFrom; m += 10 {
		rs := b.gen(ids, m*60, min(m+10, writerFrom)*60)
		t0 := time.Now()
		if err := b.st.WriteResults(ctx, rs); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		direct += time.Since(t0)
		n += len(rs)
		if (m+10)%120 == 0 {
			b.logf("seeded %d of %d minutes (%s)", m+10, total, time.Since(start).Round(time.Second))
		}
	}
	b.ingest = append(b.ingest, ingestResult{"store.WriteResults, 10 minutes of every target a call (blocks + hourly rollups in one transaction)", n, direct})
	b.logf("WriteResults: %.0f results/s", float64(n)/direct.Seconds())

	rs := b.gen(ids, writerFrom*60, total*60)
	b.logf("through the bus: %d results", len(rs))
	took, err := b.writeThroughWriter(ctx, rs)
	if err != nil {
		return err
	}
	b.ingest = append(b.ingest, ingestResult{"published on the bus, stored by the database writer (held, then committed by block)", len(rs), took})
	b.logf("through the bus: %.0f results/s", float64(len(rs))/took.Seconds())

	if _, err := b.pg.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	info := seedInfo{targets: len(ids), minutes: total, probes: int64(total) * 60 * int64(len(ids)), took: time.Since(start)}
	size := func(table string) string {
		return `(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = '` + table + `')`
	}
	err = b.pg.QueryRow(ctx, `SELECT (SELECT count(*) FROM probe_blocks), (SELECT count(*) FROM probe_rollups_1h), `+
		size("probe_blocks")+`, `+size("probe_rollups_1h")).Scan(&info.blockRows, &info.hourRows, &info.blockBytes, &info.hourBytes)
	if err != nil {
		return err
	}
	b.seeded = info
	return nil
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
	w := ingest.New(b.st, cons, ingest.Options{Metrics: m, Registry: reg, HoldResults: len(rs) + 1})
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
		if int(n) >= len(rs) { // every result taken (held: reads see it); stopping stores what is held
			cancel()
			wg.Wait()
			if held := b.st.HeldResults(); held > 0 {
				return 0, fmt.Errorf("%d results still held after the writer stopped", held)
			}
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
