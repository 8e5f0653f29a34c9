package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
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
	// RawSince is where raw rows are known to be complete (now − --retention-raw).
	// Whole minutes always come from rollups; the partial minutes at the window's edges
	// come from raw rows, unless the minute starts before RawSince: then its rollup is
	// counted whole, because its raw rows may be gone.
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
// the raw rows at the edges, within HistogramRelativeError of the exact value.
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

const (
	minuteUs = int64(time.Minute / time.Microsecond)
	hourUs   = int64(time.Hour / time.Microsecond)
)

// floorTo and ceilTo round unix µs down and up to a multiple of unit.
func floorTo(t, unit int64) int64 { return t - ((t%unit)+unit)%unit }
func ceilTo(t, unit int64) int64  { return floorTo(t+unit-1, unit) }

// windowPlan splits [from, to) into whole minutes read from rollups, [rollLo, rollHi),
// and the raw spans at the edges.
type windowPlan struct {
	rollLo, rollHi int64
	raw            []span
}

func planWindow(from, to, rawSince int64) windowPlan {
	floor := func(t int64) int64 { return floorTo(t, minuteUs) }
	lo, hi := floor(from+minuteUs-1), floor(to) // first and last whole-minute boundary inside
	if lo > hi {                                // the window lies inside one minute
		if m := floor(from); m < rawSince {
			return windowPlan{rollLo: m, rollHi: m + minuteUs}
		}
		return windowPlan{rollLo: lo, rollHi: lo, raw: []span{{from, to}}}
	}
	p := windowPlan{rollLo: lo, rollHi: hi}
	if from < lo {
		if lo-minuteUs < rawSince {
			p.rollLo = lo - minuteUs
		} else {
			p.raw = append(p.raw, span{from, lo})
		}
	}
	if to > hi {
		if hi < rawSince {
			p.rollHi = hi + minuteUs
		} else {
			p.raw = append(p.raw, span{hi, to})
		}
	}
	return p
}

// Report computes per-target (and per target and location), group and (with Step)
// per-bucket statistics, combining hourly and minute rollups for whole hours and
// minutes with raw rows at the edges, so counts are exact.
func (s *Store) Report(ctx context.Context, q ReportQuery) (*Report, error) {
	from, to := q.From.UnixMicro(), q.To.UnixMicro()
	rawSince := q.RawSince.UnixMicro()
	plan := planWindow(from, to, rawSince)
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
	if len(q.TargetIDs) == 0 || len(locations) == 0 {
		plan = windowPlan{}
	}
	// Whole hours inside the whole minutes come from the hourly rollups.
	hourLo, hourHi := ceilTo(plan.rollLo, hourUs), floorTo(plan.rollHi, hourUs)
	minuteSpans := []span{{plan.rollLo, plan.rollHi}}
	if hourLo >= hourHi {
		hourLo, hourHi = 0, 0
	} else {
		minuteSpans = []span{{plan.rollLo, hourLo}, {hourHi, plan.rollHi}}
	}
	// The reads run at once on their own connections; their callbacks take turns.
	var reads parallelReads
	addTotal := serialized(&reads, func(target, location string, a *agg) {
		if sum := sumOf(target, location); sum != nil {
			sum.merge(a)
		}
	})
	addRollup := func(target, location string, _ int64, a *agg) { addTotal(target, location, a) }
	if hourHi > hourLo {
		reads.start(func() error {
			return s.forEachRollup(ctx, "probe_rollups_1h", q.TargetIDs, locations, hourLo, hourHi, false, addRollup)
		})
	}
	for _, sp := range minuteSpans {
		if sp.hi > sp.lo {
			reads.start(func() error {
				return s.forEachRollup(ctx, "probe_rollups_1m", q.TargetIDs, locations, sp.lo, sp.hi, false, addRollup)
			})
		}
	}

	var series []*agg
	bucketOf := func(t int64) int { return 0 }
	rawSpans := plan.raw
	if q.Step > 0 {
		step := q.Step.Microseconds()
		series = make([]*agg, (to-from+step-1)/step)
		for i := range series {
			series[i] = newAgg()
		}
		bucketOf = func(t int64) int { return int(min(max((t-from)/step, 0), int64(len(series)-1))) }
		// An hour inside one series bucket goes there whole; one split by a bucket
		// boundary is read by the minute. A minute inside one bucket goes there whole;
		// one split is read raw (unless its raw rows may be gone). These reads decide
		// what is read raw, so they run here, one after another.
		seriesMinutes := minuteSpans
		if hourHi > hourLo {
			seriesMinutes = slices.Clone(minuteSpans)
			err := s.forEachRollup(ctx, "probe_rollups_1h", q.TargetIDs, locations, hourLo, hourHi, true, func(_, _ string, h int64, a *agg) {
				if first, last := bucketOf(max(h, from)), bucketOf(min(h+hourUs, to)-1); first == last {
					series[first].merge(a)
					return
				}
				seriesMinutes = append(seriesMinutes, span{h, h + hourUs})
			})
			if err != nil {
				return nil, errors.Join(err, reads.wait())
			}
		}
		for _, sp := range mergeSpans(seriesMinutes) {
			if sp.hi <= sp.lo {
				continue
			}
			err := s.forEachRollup(ctx, "probe_rollups_1m", q.TargetIDs, locations, sp.lo, sp.hi, true, func(_, _ string, m int64, a *agg) {
				first, last := bucketOf(max(m, from)), bucketOf(min(m+minuteUs, to)-1)
				if first == last || m < rawSince {
					series[first].merge(a)
					return
				}
				rawSpans = append(rawSpans, span{max(m, from), min(m+minuteUs, to)})
			})
			if err != nil {
				return nil, errors.Join(err, reads.wait())
			}
		}
	}
	if len(q.TargetIDs) > 0 && len(locations) > 0 && len(rawSpans) > 0 {
		edges := plan.raw
		addRaw := func(target, location string, at, rttUs int64) {
			reads.mu.Lock() // as serialized does
			defer reads.mu.Unlock()
			for _, e := range edges {
				if e.has(at) {
					if sum := sumOf(target, location); sum != nil {
						sum.addProbe(rttUs)
					}
					break
				}
			}
			if series != nil {
				series[bucketOf(at)].addProbe(rttUs)
			}
		}
		spans := mergeSpans(rawSpans)
		for _, part := range splitTargets(q.TargetIDs, rawReadParts) {
			reads.start(func() error { return s.forEachRaw(ctx, part, locations, spans, addRaw) })
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
