package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/store/storetest"
)

// v15Probe is a probe as schema version 15 kept it: one row.
type v15Probe struct {
	target, location string
	at               time.Time
	rttUs            int64 // lostUs, notSentUs or the RTT
	unsent           int16
}

// v15Probes makes 2.5 hours of 1 Hz probes of targets from two locations: send times
// off the schedule by up to 30 ms, RTTs with jitter and spikes, ~2 % lost, and a run of
// probes that never left (every unsent code).
func v15Probes(targets []string, base time.Time) []v15Probe {
	rng := rand.New(rand.NewPCG(11, 12))
	var out []v15Probe
	for ti, target := range targets {
		for _, loc := range []string{"local", "fra"} {
			for i := range 9000 {
				p := v15Probe{target: target, location: loc,
					at: base.Add(time.Duration(i)*time.Second + time.Duration(rng.IntN(30_000))*time.Microsecond)}
				switch {
				case ti == 0 && i >= 3000 && i < 3040:
					p.rttUs, p.unsent = notSentUs, int16(1+i%4)
				case rng.IntN(50) == 0:
					p.rttUs = lostUs
				default:
					p.rttUs = int64(5000*(ti+1)) + int64(rng.NormFloat64()*300+1000)
					if rng.IntN(300) == 0 {
						p.rttUs += 80_000
					}
				}
				out = append(out, p)
			}
		}
	}
	return out
}

// writeV15 stores probes as version 15 did: raw rows, minute and hourly rollups, and
// the location registered.
func writeV15(t *testing.T, s *Store, probes []v15Probe) {
	t.Helper()
	mustExec(t, s, "INSERT INTO probe_locations (location) VALUES ('fra')")
	at := func(t time.Time) any {
		if s.dialect == SQLite {
			return t.UnixMicro()
		}
		return t
	}
	for lo := 0; lo < len(probes); lo += 500 {
		part := probes[lo:min(lo+500, len(probes))]
		args := make([]any, 0, 6*len(part))
		for _, p := range part {
			var rtt any
			if p.rttUs >= 0 {
				rtt = p.rttUs
			}
			args = append(args, p.target, p.location, at(p.at), rtt, p.rttUs >= 0, p.unsent)
		}
		mustExec(t, s, "INSERT INTO probe_results (target_id, location, sent_at, rtt_us, ok, unsent) VALUES "+valueTuples(len(part), 6), args...)
	}
	for _, unit := range []time.Duration{time.Minute, time.Hour} {
		table := map[time.Duration]string{time.Minute: "probe_rollups_1m", time.Hour: "probe_rollups_1h"}[unit]
		sums := map[rollupKey]*agg{}
		for _, p := range probes {
			k := rollupKey{p.target, p.location, p.at.Truncate(unit).UnixMicro()}
			if sums[k] == nil {
				sums[k] = newAgg()
			}
			sums[k].addProbe(p.rttUs)
		}
		for k, a := range sums {
			var lo, hi any
			if a.received > 0 {
				lo, hi = a.minUs, a.maxUs
			}
			mustExec(t, s, "INSERT INTO "+table+" ("+rollupColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				k.target, k.location, at(time.UnixMicro(k.minute).UTC()), a.sent, a.received, int64(a.sumUs), int64(a.sumSqUs), lo, hi, a.hist.encode(), a.errors)
		}
	}
}

// expected is what an exact report says of probes over [from, to) (location "" for all).
func expected(probes []v15Probe, target, location string, from, to time.Time) Stats {
	a := newAgg()
	for _, p := range probes {
		if p.target == target && (location == "" || p.location == location) && !p.at.Before(from) && p.at.Before(to) {
			a.addProbe(p.rttUs)
		}
	}
	return a.stats(nil)
}

func sameStats(got, want Stats) bool {
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	return got.Sent == want.Sent && got.Received == want.Received && got.Errors == want.Errors &&
		near(got.RTTMinUs, want.RTTMinUs) && near(got.RTTMaxUs, want.RTTMaxUs) && near(got.RTTMeanUs, want.RTTMeanUs) &&
		near(got.RTTStddevUs, want.RTTStddevUs) && near(got.RTTP50Us, want.RTTP50Us) && near(got.RTTP95Us, want.RTTP95Us) &&
		near(got.RTTP99Us, want.RTTP99Us)
}

// TestUpgradeToBlocksKeepsEveryReport fills a version-15 database (one row a probe,
// minute and hourly rollups) on both dialects, migrates it to blocks, and compares
// every report — per target, per location, whole hours, edges off the second, series
// — and the raw samples with what the stored probes say; then goes back down to 15
// and finds every row again.
func TestUpgradeToBlocksKeepsEveryReport(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "v15.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := dsns[name](t)
			old := openAtVersion(t, dsn, 15)
			base := time.Date(2026, 11, 22, 9, 40, 0, 0, time.UTC)
			targets := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
			if err := old.EnsurePartitions(ctx, base, base.Add(3*time.Hour)); err != nil {
				t.Fatal(err)
			}
			probes := v15Probes(targets, base)
			writeV15(t, old, probes)
			closeDB(t, old)

			s := openTest(t, dsn) // migrates to blocks
			rng := rand.New(rand.NewPCG(13, 14))
			type window struct {
				from, to time.Time
				step     time.Duration
			}
			windows := []window{
				{base, base.Add(150 * time.Minute), 0},                               // everything
				{base.Add(20 * time.Minute), base.Add(140 * time.Minute), time.Hour}, // whole hours inside
				{base.Add(7 * time.Second), base.Add(127 * time.Second), 0},          // 120 s, off the minute
				{base.Add(19*time.Minute + 59*time.Second), base.Add(21 * time.Minute), 10 * time.Second},
			}
			for range 20 {
				from := base.Add(time.Duration(rng.IntN(150*60)) * time.Second)
				windows = append(windows, window{from, from.Add(time.Duration(1+rng.IntN(90*60)) * time.Second), time.Duration(1+rng.IntN(600)) * time.Second})
			}
			for _, w := range windows {
				for _, loc := range []string{"", "local", "fra"} {
					rep := mustReport(t, s, ReportQuery{TargetIDs: targets, Location: loc, From: w.from, To: w.to, Step: w.step, RawSince: base.Add(-time.Hour)})
					for _, target := range targets {
						if got, want := rep.Targets[target], expected(probes, target, loc, w.from, w.to); !sameStats(got, want) {
							t.Fatalf("[%s, %s) location %q target %s:\n got %+v\nwant %+v", w.from, w.to, loc, target, got, want)
						}
					}
					for i, st := range rep.Series {
						lo := w.from.Add(time.Duration(i) * w.step)
						hi := lo.Add(w.step)
						if hi.After(w.to) {
							hi = w.to
						}
						var want int64
						for _, target := range targets {
							want += expected(probes, target, loc, lo, hi).Sent
						}
						if st.Sent != want {
							t.Fatalf("[%s, %s) step %s bucket %d: sent %d, want %d", w.from, w.to, w.step, i, st.Sent, want)
						}
					}
				}
			}
			// The samples: every probe of a target, as stored.
			smp, err := s.Samples(ctx, SampleQuery{TargetID: targets[0], From: base, To: base.Add(3 * time.Hour), Limit: 100_000})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range probes {
				if p.target == targets[0] {
					want = append(want, fmt.Sprint(p.location, p.at.UnixMicro(), p.rttUs, unsentReason(p.unsent)))
				}
			}
			if len(smp) != len(want) {
				t.Fatalf("%d samples, want %d", len(smp), len(want))
			}
			got := map[string]bool{}
			for _, x := range smp {
				rtt := x.RTTUs
				if !x.OK {
					rtt = lostUs
					if x.Unsent != "" {
						rtt = notSentUs
					}
				}
				got[fmt.Sprint(x.Location, x.SentAt.UnixMicro(), rtt, x.Unsent)] = true
			}
			for _, w := range want {
				if !got[w] {
					t.Fatalf("sample %s missing after the upgrade", w)
				}
			}

			// Down to 15: one row a probe again, minute rollups rebuilt.
			p, err := s.migrationProvider()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 15); err != nil {
				t.Fatalf("migrate down: %v", err)
			}
			var rows, minuteSent, unsent int64
			if err := s.db.Raw("SELECT count(*), sum(CASE WHEN unsent <> 0 THEN 1 ELSE 0 END) FROM probe_results").Row().Scan(&rows, &unsent); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Raw("SELECT sum(sent + errors) FROM probe_rollups_1m").Row().Scan(&minuteSent); err != nil {
				t.Fatal(err)
			}
			if rows != int64(len(probes)) || minuteSent != rows || unsent != 40*2 {
				t.Fatalf("after down: %d rows (%d unsent), minute rollups count %d; want %d rows, 80 unsent", rows, unsent, minuteSent, len(probes))
			}
		})
	}
}
