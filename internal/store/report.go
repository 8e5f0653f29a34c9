package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"pingdeck/internal/probeblock"
)

// ReportQuery asks for probe statistics of some targets over [From, To): a probe
// counts in the window where it was sent.
type ReportQuery struct {
	TargetIDs []string
	// Location, when set, counts only the probes sent from there; empty counts every
	// location's together.
	Location string
	From, To time.Time
	// Step, when positive, also asks for a group-level series of buckets
	// [From+i·Step, From+(i+1)·Step) ∩ [From, To).
	Step time.Duration
	// RawSince is where stored probes are known to be complete (now − --retention-raw).
	// Whole hours come from the hourly rollups (unless probes of the hour are still
	// held in memory); the rest of the window from the probes themselves, unless its
	// hour starts before RawSince: then that hour's rollup is counted whole, because its
	// probes may be gone.
	RawSince time.Time
	// Quantiles, each in (0, 1], also asks for these nearest-rank RTT percentiles in
	// every Stats, estimated from the histograms as RTTP50Us and the like are.
	Quantiles []float64
}

// Stats are probe counts and RTTs (µs) over a window. Sent counts the probes that
// left; Errors those that never did (the hostname had no address, the send was
// refused), which are no lost packets and so are in neither Sent nor the loss. The RTT
// fields mean something only when Received > 0. Min, mean, max and standard deviation (population) are
// exact; the percentiles are nearest-rank, read from the rollup histograms merged with
// the probes at the edges, within HistogramRelativeError of the exact value.
type Stats struct {
	Sent, Received, Errors int64
	RTTMinUs, RTTMaxUs     float64
	RTTMeanUs, RTTStddevUs float64
	RTTP50Us, RTTP95Us     float64
	RTTP99Us               float64
	// Quantiles are the ReportQuery's Quantiles, in its order, in µs (nil without them or
	// when nothing was received).
	Quantiles []float64
}

// Report is the answer to a ReportQuery.
type Report struct {
	Targets map[string]Stats // every target asked for; zero Stats when it has no probes
	// ByLocation splits each target's Stats by the location its probes were sent from:
	// every target asked for has a map, holding the locations with probes in the window.
	ByLocation map[string]map[string]Stats
	Summary    Stats   // all targets together: sums, never averages of rates
	Series     []Stats // one per Step bucket, all targets together; nil without Step
}

// span is [lo, hi) in unix µs.
type span struct{ lo, hi int64 }

func (sp span) has(t int64) bool { return t >= sp.lo && t < sp.hi }

const hourUs = int64(time.Hour / time.Microsecond)

// floorTo and ceilTo round unix µs down and up to a multiple of unit.
func floorTo(t, unit int64) int64 { return t - ((t%unit)+unit)%unit }
func ceilTo(t, unit int64) int64  { return floorTo(t+unit-1, unit) }

// windowPlan splits [from, to) into hours read from the hourly rollups and spans read
// probe by probe.
type windowPlan struct {
	hours  []span // hour-aligned
	probes []span
}

// planWindow plans [from, to): whole hours from rollups unless held (probes of the
// hour are still in memory, so the rollup lacks them), the rest probe by probe; a
// partial hour starting before rawSince is read from its rollup, whole.
func planWindow(from, to, rawSince int64, held map[int64]bool) windowPlan {
	var p windowPlan
	add := func(list *[]span, sp span) {
		if n := len(*list); n > 0 && (*list)[n-1].hi >= sp.lo {
			(*list)[n-1].hi = max((*list)[n-1].hi, sp.hi)
			return
		}
		*list = append(*list, sp)
	}
	for h := floorTo(from, hourUs); h < to; h += hourUs {
		part := span{max(h, from), min(h+hourUs, to)}
		whole := part.lo == h && part.hi == h+hourUs
		switch {
		case h < rawSince && (!whole || !held[h]):
			add(&p.hours, span{h, h + hourUs})
		case whole && !held[h]:
			add(&p.hours, part)
		default:
			add(&p.probes, part)
		}
	}
	return p
}

// Report computes per-target (and per target and location), group and (with Step)
// per-bucket statistics, combining hourly rollups for whole hours with the probes of
// the rest, stored and held, so counts are exact.
func (s *Store) Report(ctx context.Context, q ReportQuery) (*Report, error) {
	from, to := q.From.UnixMicro(), q.To.UnixMicro()
	rawSince := q.RawSince.UnixMicro()
	locations, err := s.readLocations(ctx, q.Location)
	if err != nil {
		return nil, err
	}
	// Sums per target and location; a target's total merges its locations'.
	byLocation := make(map[string]map[string]*agg, len(q.TargetIDs))
	for _, id := range q.TargetIDs {
		byLocation[id] = map[string]*agg{}
	}
	sumOf := func(target, location string) *agg {
		m := byLocation[target]
		if m == nil {
			return nil
		}
		a := m[location]
		if a == nil {
			a = newAgg()
			m[location] = a
		}
		return a
	}
	var plan windowPlan
	var held map[blockKey][]probeblock.Probe
	if len(q.TargetIDs) > 0 && len(locations) > 0 && to > from {
		held = s.open.snapshot(q.TargetIDs, locations, []span{{from, to}})
		heldHours := map[int64]bool{}
		for k := range held {
			heldHours[floorTo(k.start, hourUs)] = true
		}
		plan = planWindow(from, to, rawSince, heldHours)
	}
	// The reads run at once on their own connections; their callbacks take turns.
	var reads parallelReads
	addTotal := serialized(&reads, func(target, location string, a *agg) {
		if sum := sumOf(target, location); sum != nil {
			sum.merge(a)
		}
	})
	for _, sp := range plan.hours {
		reads.start(func() error {
			return s.forEachRollup(ctx, "probe_rollups_1h", q.TargetIDs, locations, sp.lo, sp.hi, false,
				func(target, location string, _ int64, a *agg) { addTotal(target, location, a) })
		})
	}

	var series []*agg
	bucketOf := func(t int64) int { return 0 }
	probeSpans := plan.probes
	if q.Step > 0 {
		step := q.Step.Microseconds()
		series = make([]*agg, (to-from+step-1)/step)
		for i := range series {
			series[i] = newAgg()
		}
		bucketOf = func(t int64) int { return int(min(max((t-from)/step, 0), int64(len(series)-1))) }
		// An hour inside one series bucket goes there whole; one split by a bucket
		// boundary is read probe by probe (unless its probes may be gone). These reads
		// decide what is read probe by probe, so they run here, one after another.
		for _, sp := range plan.hours {
			err := s.forEachRollup(ctx, "probe_rollups_1h", q.TargetIDs, locations, sp.lo, sp.hi, true, func(_, _ string, h int64, a *agg) {
				first, last := bucketOf(max(h, from)), bucketOf(min(h+hourUs, to)-1)
				if first == last || h < rawSince {
					series[first].merge(a)
					return
				}
				probeSpans = append(probeSpans, span{max(h, from), min(h+hourUs, to)})
			})
			if err != nil {
				return nil, errors.Join(err, reads.wait())
			}
		}
	}
	if spans := mergeSpans(probeSpans); len(spans) > 0 {
		edges := plan.probes
		inEdges := func(t int64) bool {
			for _, e := range edges {
				if e.has(t) {
					return true
				}
			}
			return false
		}
		// Each part sums its targets' probes on its own, a block (or a run of a block
		// in one series bucket) at a time, and merges once, at its end.
		for _, part := range splitTargets(q.TargetIDs, rawReadParts) {
			reads.start(func() error {
				sums := map[blockKey]*agg{} // per target and location (start 0)
				var partSeries []*agg
				if series != nil {
					partSeries = make([]*agg, len(series))
					for i := range partSeries {
						partSeries[i] = newAgg()
					}
				}
				var scratch denseHistogram
				var edge []probeblock.Probe
				err := s.forEachBlockProbes(ctx, part, locations, spans, held, func(k blockKey, ps []probeblock.Probe) {
					edge = edge[:0]
					for _, p := range ps {
						if inEdges(p.SentUs) {
							edge = append(edge, p)
						}
					}
					if len(edge) > 0 {
						key := blockKey{target: k.target, location: k.location}
						a := sums[key]
						if a == nil {
							a = newAgg()
							sums[key] = a
						}
						a.addProbes(edge, &scratch)
					}
					for len(ps) > 0 && partSeries != nil {
						b := bucketOf(ps[0].SentUs)
						n := 1
						for n < len(ps) && bucketOf(ps[n].SentUs) == b {
							n++
						}
						partSeries[b].addProbes(ps[:n], &scratch)
						ps = ps[n:]
					}
				})
				reads.mu.Lock()
				defer reads.mu.Unlock()
				for key, a := range sums {
					if sum := sumOf(key.target, key.location); sum != nil {
						sum.merge(a)
					}
				}
				for i, a := range partSeries {
					series[i].merge(a)
				}
				return err
			})
		}
	}
	if err := reads.wait(); err != nil {
		return nil, err
	}

	out := &Report{Targets: make(map[string]Stats, len(byLocation)), ByLocation: make(map[string]map[string]Stats, len(byLocation))}
	sum := newAgg()
	for id, locs := range byLocation {
		total := newAgg()
		split := make(map[string]Stats, len(locs))
		for loc, a := range locs {
			split[loc] = a.stats(q.Quantiles)
			total.merge(a)
		}
		out.Targets[id] = total.stats(q.Quantiles)
		out.ByLocation[id] = split
		sum.merge(total)
	}
	out.Summary = sum.stats(q.Quantiles)
	if series != nil {
		out.Series = make([]Stats, len(series))
		for i, a := range series {
			out.Series[i] = a.stats(q.Quantiles)
		}
	}
	return out, nil
}

// rawReadParts is how many queries at once read a report's raw rows, each for its
// share of the targets: the raw edges are most of a short report's work, and the
// database scans them faster on several connections.
const rawReadParts = 2

// splitTargets cuts ids into up to n parts of nearly equal size (fewer when small).
func splitTargets(ids []string, n int) [][]string {
	n = max(min(n, len(ids)/100), 1)
	out := make([][]string, 0, n)
	for i := range n {
		out = append(out, ids[i*len(ids)/n:(i+1)*len(ids)/n])
	}
	return out
}

// parallelReads runs reads on goroutines of their own and keeps the first error;
// serialized wraps their callbacks so only one runs at a time.
type parallelReads struct {
	wg   sync.WaitGroup
	mu   sync.Mutex // held by a callback
	errs []error    // under mu
}

func (p *parallelReads) start(read func() error) {
	p.wg.Go(func() {
		if err := read(); err != nil {
			p.mu.Lock()
			p.errs = append(p.errs, err)
			p.mu.Unlock()
		}
	})
}

// wait waits for every read and returns their errors.
func (p *parallelReads) wait() error {
	p.wg.Wait()
	return errors.Join(p.errs...)
}

// serialized returns f guarded by the reads' lock.
func serialized[A, B, C any](p *parallelReads, f func(A, B, C)) func(A, B, C) {
	return func(a A, b B, c C) {
		p.mu.Lock()
		defer p.mu.Unlock()
		f(a, b, c)
	}
}

// mergeSpans sorts spans and joins those that touch, so the raw query has few ranges.
func mergeSpans(in []span) []span {
	sorted := slices.Clone(in)
	slices.SortFunc(sorted, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	var out []span
	for _, sp := range sorted {
		if n := len(out); n > 0 && sp.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// stats turns sums into Stats.
func (a *agg) stats(quantiles []float64) Stats {
	st := Stats{Sent: a.sent, Received: a.received, Errors: a.errors}
	if a.received == 0 {
		return st
	}
	st.RTTMinUs, st.RTTMaxUs = float64(a.minUs), float64(a.maxUs)
	st.RTTMeanUs = a.sumUs / float64(a.received)
	st.RTTStddevUs = a.stddevUs()
	p := a.hist.percentiles([]float64{0.50, 0.95, 0.99}, st.RTTMinUs, st.RTTMaxUs)
	st.RTTP50Us, st.RTTP95Us, st.RTTP99Us = p[0], p[1], p[2]
	if len(quantiles) > 0 {
		st.Quantiles = a.hist.percentiles(quantiles, st.RTTMinUs, st.RTTMaxUs)
	}
	return st
}
