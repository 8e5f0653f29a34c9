package store

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

// probesEvery returns one probe per interval for id in [from, to); every lossEvery-th
// is lost, the others take rtt(i).
func probesEvery(id string, from, to time.Time, interval time.Duration, lossEvery int, rtt func(i int) time.Duration) []ping.Result {
	var rs []ping.Result
	for i, at := 0, from; at.Before(to); i, at = i+1, at.Add(interval) {
		r := ping.Result{TargetID: id, SentAt: at, OK: lossEvery == 0 || i%lossEvery != 0, RTT: rtt(i)}
		if !r.OK {
			r.RTT = 0
		}
		rs = append(rs, r)
	}
	return rs
}

func mustReport(t *testing.T, s *Store, q ReportQuery) *Report {
	t.Helper()
	if q.RawSince.IsZero() {
		q.RawSince = q.From.Add(-time.Hour)
	}
	r, err := s.Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportWindowEdgesAreExact(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		a, b := uuid.NewString(), uuid.NewString()
		rs := probesEvery(a, base.Add(-3*time.Minute), base.Add(6*time.Minute), time.Second, 4,
			func(i int) time.Duration { return time.Duration(10+i%3) * time.Millisecond })
		rs = append(rs, ping.Result{TargetID: b, SentAt: base.Add(30 * time.Second)})
		if err := s.WriteResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name     string
			from     time.Time
			rng      time.Duration
			sent     int64
			received int64
		}{
			{"aligned 120s", base, 120 * time.Second, 120, 90},
			{"unaligned 120s", base.Add(30 * time.Second), 120 * time.Second, 120, 90},
			{"inside one minute", base.Add(10 * time.Second), 20 * time.Second, 20, 15},
			{"one second", base.Add(17 * time.Second), time.Second, 1, 1},
			{"sub-second, no probe", base.Add(17*time.Second + time.Millisecond), 998 * time.Millisecond, 0, 0},
			{"5m30s", base.Add(-45 * time.Second), 5*time.Minute + 30*time.Second, 330, -1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := mustReport(t, s, ReportQuery{TargetIDs: []string{a}, From: tc.from, To: tc.from.Add(tc.rng)})
				raw, err := s.ResultStats(ctx, []string{a}, tc.from, tc.from.Add(tc.rng))
				if err != nil {
					t.Fatal(err)
				}
				got := r.Targets[a]
				// The probe at from counts, the one at from+range does not.
				if got.Sent != tc.sent || got.Sent != raw[a].Sent || got.Received != raw[a].Received {
					t.Fatalf("sent %d received %d; raw rows say %d/%d, want sent %d", got.Sent, got.Received, raw[a].Sent, raw[a].Received, tc.sent)
				}
				if tc.received >= 0 && got.Received != tc.received {
					t.Fatalf("received %d, want %d", got.Received, tc.received)
				}
			})
		}
		r := mustReport(t, s, ReportQuery{TargetIDs: []string{a, b, uuid.NewString()}, From: base, To: base.Add(2 * time.Minute)})
		if sb := r.Targets[b]; sb.Sent != 1 || sb.Received != 0 {
			t.Fatalf("b: %+v, want one lost probe", sb)
		}
		if r.Summary.Sent != 121 || r.Summary.Received != 90 || len(r.Targets) != 3 {
			t.Fatalf("summary %+v over %d targets, want 121 sent, 90 received, 3 targets", r.Summary, len(r.Targets))
		}
	})
}

// TestReportRollupsPlusRawEqualRawOnly writes irregular results and compares many
// random windows (and their series) with counts straight from the raw rows, and the
// percentiles with exact ones.
func TestReportRollupsPlusRawEqualRawOnly(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, 11))
		base := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
		ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
		type probe struct {
			at  time.Time
			rtt int64 // -1 lost
		}
		all := map[string][]probe{}
		var rs []ping.Result
		for ti, id := range ids {
			at := base
			for at.Before(base.Add(3 * time.Hour)) {
				at = at.Add(time.Duration(200+rng.IntN(1800)) * time.Millisecond).Truncate(time.Microsecond)
				ok := rng.Float64() > 0.1*float64(ti)
				rtt := time.Duration(math.Exp(rng.NormFloat64()*0.5+9.5)) * time.Microsecond
				r := ping.Result{TargetID: id, SentAt: at, OK: ok}
				p := probe{at, -1}
				if ok {
					r.RTT, p.rtt = rtt, rtt.Microseconds()
				}
				rs = append(rs, r)
				all[id] = append(all[id], p)
			}
		}
		for start := 0; start < len(rs); start += 997 { // batches that cut minutes anywhere
			if err := s.WriteResults(ctx, rs[start:min(start+997, len(rs))]); err != nil {
				t.Fatal(err)
			}
		}
		for range 40 {
			from := base.Add(time.Duration(rng.Int64N(int64(120 * time.Minute)))).Truncate(time.Millisecond)
			if rng.IntN(3) == 0 {
				from = from.Truncate(time.Minute)
			}
			rangeD := time.Duration(1+rng.Int64N(int64(150*time.Minute))).Truncate(time.Millisecond) + time.Second
			step := []time.Duration{0, time.Minute, (rangeD / 13).Truncate(time.Millisecond) + time.Millisecond, 10 * time.Minute}[rng.IntN(4)]
			to := from.Add(rangeD)
			r := mustReport(t, s, ReportQuery{TargetIDs: ids, From: from, To: to, Step: step})
			var groupSent int64
			for _, id := range ids {
				got := r.Targets[id]
				var rtts []int64
				var sent int64
				for _, p := range all[id] {
					if !p.at.Before(from) && p.at.Before(to) {
						sent++
						if p.rtt >= 0 {
							rtts = append(rtts, p.rtt)
						}
					}
				}
				groupSent += sent
				if got.Sent != sent || got.Received != int64(len(rtts)) {
					t.Fatalf("[%s, %s): sent %d received %d, raw rows say %d/%d", from, to, got.Sent, got.Received, sent, len(rtts))
				}
				if len(rtts) == 0 {
					continue
				}
				slices.Sort(rtts)
				var sum float64
				for _, v := range rtts {
					sum += float64(v)
				}
				if got.RTTMinUs != float64(rtts[0]) || got.RTTMaxUs != float64(rtts[len(rtts)-1]) || math.Abs(got.RTTMeanUs-sum/float64(len(rtts))) > 1e-6 {
					t.Fatalf("rtt min/mean/max %.0f/%.3f/%.0f, exact %d/%.3f/%d", got.RTTMinUs, got.RTTMeanUs, got.RTTMaxUs, rtts[0], sum/float64(len(rtts)), rtts[len(rtts)-1])
				}
				for _, pc := range []struct {
					q   float64
					got float64
				}{{0.5, got.RTTP50Us}, {0.95, got.RTTP95Us}, {0.99, got.RTTP99Us}} {
					exact := float64(rtts[nearestRank(pc.q, int64(len(rtts)))-1])
					if math.Abs(pc.got-exact) > HistogramRelativeError*exact {
						t.Fatalf("p%v = %.0f, exact %.0f: beyond the stated %.1f%%", pc.q*100, pc.got, exact, 100*HistogramRelativeError)
					}
				}
			}
			if r.Summary.Sent != groupSent {
				t.Fatalf("summary sent %d, targets add up to %d", r.Summary.Sent, groupSent)
			}
			if step == 0 {
				continue
			}
			for i, st := range r.Series {
				lo := from.Add(time.Duration(i) * step)
				hi := lo.Add(step)
				if hi.After(to) {
					hi = to
				}
				raw, err := s.ResultStats(ctx, ids, lo, hi)
				if err != nil {
					t.Fatal(err)
				}
				var want int64
				for _, w := range raw {
					want += w.Sent
				}
				if st.Sent != want {
					t.Fatalf("series bucket %d [%s, %s) (step %s): sent %d, raw rows say %d", i, lo, hi, step, st.Sent, want)
				}
			}
		}
	})
}

func TestReplayedBatchDoesNotDoubleCountRollups(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		id := uuid.NewString()
		rs := probesEvery(id, base, base.Add(90*time.Second), time.Second, 3, func(int) time.Duration { return 5 * time.Millisecond })
		if err := s.WriteResults(ctx, rs[:60]); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the same batch again, then again with new rows on top
			if err := s.WriteResults(ctx, rs[30:]); err != nil {
				t.Fatal(err)
			}
		}
		var rollupSent int64
		if err := s.db.Raw("SELECT coalesce(sum(sent), 0) FROM probe_rollups_1h").Scan(&rollupSent).Error; err != nil {
			t.Fatal(err)
		}
		stored, err := s.ResultStats(ctx, []string{id}, base, base.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		rawRows := stored[id].Sent
		if rollupSent != 90 || rawRows != 90 {
			t.Fatalf("rollups count %d probes, raw rows %d; want 90 each", rollupSent, rawRows)
		}
		r := mustReport(t, s, ReportQuery{TargetIDs: []string{id}, From: base, To: base.Add(2 * time.Minute)})
		if got := r.Targets[id]; got.Sent != 90 || got.Received != 60 || got.RTTP50Us != 5000 {
			t.Fatalf("report %+v, want 90 sent, 60 received, p50 5 ms", got)
		}
	})
}

// TestOldWindowAnswersFromRollups drops the blocks of a 30-day-old day and still
// reports it, from the hourly rollups, in whole hours.
func TestOldWindowAnswersFromRollups(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)
		from := day.Add(10 * time.Hour)
		id := uuid.NewString()
		rs := probesEvery(id, from.Add(-time.Hour), from.Add(time.Hour), time.Second, 4, func(int) time.Duration { return 20 * time.Millisecond })
		if err := s.WriteResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		rawSince := time.Now().Add(-7 * 24 * time.Hour)
		if _, err := s.DropResultsBefore(ctx, rawSince); err != nil {
			t.Fatal(err)
		}
		if raw, _ := s.ResultStats(ctx, []string{id}, from, from.Add(time.Hour)); raw[id].Sent != 0 {
			t.Fatalf("raw rows still there: %+v", raw[id])
		}
		q := ReportQuery{TargetIDs: []string{id}, From: from, To: from.Add(120 * time.Second), Step: time.Minute, RawSince: rawSince}
		r := mustReport(t, s, q)
		if got := r.Targets[id]; got.Sent != 3600 || got.Received != 2700 || got.RTTMeanUs != 20000 {
			t.Fatalf("30-day-old 120 s: %+v, want the hour it touches: 3600 sent, 2700 received, 20 ms", got)
		}
		if len(r.Series) != 2 || r.Series[0].Sent != 3600 || r.Series[1].Sent != 0 {
			t.Fatalf("series %+v, want the hour in the first bucket", r.Series)
		}
		// Two whole hours (from the hourly rollups) with an hourly series.
		q2 := ReportQuery{TargetIDs: []string{id}, From: from.Add(-time.Hour), To: from.Add(time.Hour), Step: time.Hour, RawSince: rawSince}
		if r := mustReport(t, s, q2); r.Targets[id].Sent != 7200 || r.Targets[id].Received != 5400 || len(r.Series) != 2 || r.Series[1].Sent != 3600 {
			t.Fatalf("30-day-old 2 h: %+v, series %+v; want 7200 sent, 5400 received, 3600 an hour", r.Targets[id], r.Series)
		}
		// An unaligned old window across an hour counts both hours whole.
		q.From, q.To = from.Add(-30*time.Second), from.Add(30*time.Second)
		if got := mustReport(t, s, q).Targets[id]; got.Sent != 7200 {
			t.Fatalf("unaligned 60 s, 30 days old: sent %d, want the 2 whole hours it touches (7200)", got.Sent)
		}
	})
}

func TestRetentionDropsRollups(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		id := uuid.NewString()
		var rs []ping.Result
		for months := 16; months >= 0; months-- { // one minute of probes a month, 16 months back to now
			at := now.AddDate(0, -months, 0).Truncate(time.Minute).Add(-time.Minute)
			rs = append(rs, probesEvery(id, at, at.Add(time.Minute), time.Second, 0, func(int) time.Duration { return time.Millisecond })...)
		}
		if err := s.WriteResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		cutoff := now.Add(-9600 * time.Hour) // 400 days
		n, err := s.DropRollupsBefore(ctx, cutoff)
		if err != nil || n == 0 {
			t.Fatalf("dropped %d, %v; want the oldest rollups gone", n, err)
		}
		var oldest time.Time
		var left int64
		if s.dialect == SQLite {
			var us int64
			s.db.Raw("SELECT min(bucket) FROM probe_rollups_1h").Scan(&us)
			oldest = time.UnixMicro(us)
		} else {
			s.db.Raw("SELECT min(bucket) FROM probe_rollups_1h").Scan(&oldest)
		}
		s.db.Raw("SELECT sum(sent) FROM probe_rollups_1h").Scan(&left)
		if oldest.Before(monthOf(cutoff)) {
			t.Fatalf("a rollup from %s survived the cutoff %s", oldest, cutoff)
		}
		if left < 14*60 {
			t.Fatalf("%d probes left in rollups, want at least the 14 newest months' minutes (within 400 days)", left)
		}
		r := mustReport(t, s, ReportQuery{TargetIDs: []string{id}, From: now.AddDate(0, -17, 0), To: cutoff.Add(-31 * 24 * time.Hour), RawSince: now})
		if r.Targets[id].Sent != 0 {
			t.Fatalf("a window before the retention still reports %d probes", r.Targets[id].Sent)
		}
	})
}
