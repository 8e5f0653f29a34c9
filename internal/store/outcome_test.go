package store

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

// mixedProbes returns one probe a second for id in [from, to): answered, lost
// ("timeout"), a name with no address, or a refused send, in an irregular pattern.
func mixedProbes(id string, from, to time.Time) []ping.Result {
	var rs []ping.Result
	for i, at := 0, from; at.Before(to); i, at = i+1, at.Add(time.Second) {
		r := ping.Result{TargetID: id, SentAt: at}
		switch {
		case i%7 == 2:
			r.Err = "resolve a.invalid: lookup a.invalid on 127.0.0.53:53: no such host"
		case i%11 == 3:
			r.Err = "send: sendto: operation not permitted"
		case i%13 == 5:
			r.Err = "resolve b.example: lookup b.example: i/o timeout"
		case i%5 == 1:
			r.Err = ping.ErrTimeout
		default:
			r.OK, r.RTT = true, time.Duration(1000+i%17)*time.Microsecond
		}
		rs = append(rs, r)
	}
	return rs
}

// countMixed counts the probes of rs sent in [from, to) the way reports must: sent
// (left), received, errors (never left).
func countMixed(rs []ping.Result, from, to time.Time) (sent, received, errs int64) {
	for _, r := range rs {
		if r.SentAt.Before(from) || !r.SentAt.Before(to) {
			continue
		}
		switch {
		case r.OK:
			sent++
			received++
		case r.Err == ping.ErrTimeout:
			sent++
		default:
			errs++
		}
	}
	return sent, received, errs
}

// TestReportCountsErrorsApart stores answered, lost and unsent probes and checks
// that every window (on and off minute and hour edges, with series) counts the unsent
// ones as errors, outside sent and loss, exactly like the raw rows say; and that a
// replayed batch counts nothing twice.
func TestReportCountsErrorsApart(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
		a, b := uuid.NewString(), uuid.NewString()
		rs := mixedProbes(a, base.Add(-10*time.Minute), base.Add(2*time.Hour+10*time.Minute))
		// b never resolves: every probe is an error.
		for at := base; at.Before(base.Add(5 * time.Minute)); at = at.Add(time.Second) {
			rs = append(rs, ping.Result{TargetID: b, SentAt: at, Err: "resolve nope.invalid: lookup nope.invalid: no such host"})
		}
		for start := 0; start < len(rs); start += 997 {
			if err := s.WriteResults(ctx, rs[start:min(start+997, len(rs))]); err != nil {
				t.Fatal(err)
			}
		}
		// A redelivered stretch (stored rows plus none new) changes nothing.
		if err := s.WriteResults(ctx, rs[1000:3000]); err != nil {
			t.Fatal(err)
		}

		wantSent, wantRecv, wantErr := countMixed(rs, time.Time{}, base.Add(24*time.Hour))
		for _, table := range []string{"probe_rollups_1h"} {
			var sent, recv, errs int64
			if err := s.db.Raw("SELECT sum(sent), sum(received), sum(errors) FROM "+table).Row().Scan(&sent, &recv, &errs); err != nil {
				t.Fatal(err)
			}
			if sent != wantSent || recv != wantRecv || errs != wantErr {
				t.Fatalf("%s holds sent %d received %d errors %d; want %d/%d/%d", table, sent, recv, errs, wantSent, wantRecv, wantErr)
			}
		}

		rng := rand.New(rand.NewPCG(3, 5))
		windows := []struct{ from, to time.Time }{
			{base, base.Add(2 * time.Minute)},                                          // on minute edges
			{base.Add(17 * time.Second), base.Add(137*time.Second + time.Millisecond)}, // off them
			{base.Add(5 * time.Second), base.Add(50 * time.Second)},                    // inside one minute
			{base.Add(-7 * time.Minute), base.Add(2*time.Hour + 3*time.Second)},        // whole hours inside
		}
		for range 25 {
			from := base.Add(time.Duration(rng.Int64N(int64(2 * time.Hour)))).Truncate(time.Millisecond)
			windows = append(windows, struct{ from, to time.Time }{from, from.Add(time.Duration(1+rng.Int64N(int64(90*time.Minute))) + time.Second)})
		}
		for _, w := range windows {
			step := w.to.Sub(w.from)/7 + time.Millisecond
			r := mustReport(t, s, ReportQuery{TargetIDs: []string{a, b}, From: w.from, To: w.to, Step: step})
			sent, recv, errs := countMixed(rs, w.from, w.to)
			sum := r.Summary
			if sum.Sent != sent || sum.Received != recv || sum.Errors != errs {
				t.Fatalf("[%s, %s): summary sent %d received %d errors %d; raw probes say %d/%d/%d",
					w.from, w.to, sum.Sent, sum.Received, sum.Errors, sent, recv, errs)
			}
			if got := r.Targets[b]; got.Sent != 0 || got.Received != 0 {
				t.Fatalf("[%s, %s): the name that never resolved shows %+v, want nothing sent", w.from, w.to, got)
			}
			for i, st := range r.Series {
				lo := w.from.Add(time.Duration(i) * step)
				hi := lo.Add(step)
				if hi.After(w.to) {
					hi = w.to
				}
				sent, recv, errs := countMixed(rs, lo, hi)
				if st.Sent != sent || st.Received != recv || st.Errors != errs {
					t.Fatalf("series bucket %d [%s, %s): sent %d received %d errors %d; raw probes say %d/%d/%d",
						i, lo, hi, st.Sent, st.Received, st.Errors, sent, recv, errs)
				}
			}
		}
		// Windows whose blocks may be gone count the hours they touch whole, from rollups.
		for _, w := range windows[:4] {
			r := mustReport(t, s, ReportQuery{TargetIDs: []string{a, b}, From: w.from, To: w.to, RawSince: base.Add(24 * time.Hour)})
			lo, hi := w.from.Truncate(time.Hour), w.to.Add(time.Hour-time.Nanosecond).Truncate(time.Hour)
			sent, recv, errs := countMixed(rs, lo, hi)
			if sum := r.Summary; sum.Sent != sent || sum.Received != recv || sum.Errors != errs {
				t.Fatalf("rollups only, [%s, %s): sent %d received %d errors %d; want %d/%d/%d", lo, hi, sum.Sent, sum.Received, sum.Errors, sent, recv, errs)
			}
		}
		r := mustReport(t, s, ReportQuery{TargetIDs: []string{b}, From: base, To: base.Add(10 * time.Minute)})
		if got := r.Targets[b]; got.Sent != 0 || got.Errors != 300 {
			t.Fatalf("never-resolving name: %+v, want sent 0 and 300 errors", got)
		}

		raw, err := s.ResultStats(ctx, []string{a, b}, base, base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		sent, recv, errs := countMixed(rs, base, base.Add(time.Minute))
		if got := raw[a]; got.Sent+raw[b].Sent != sent || got.Received != recv || got.Errors+raw[b].Errors != errs || raw[b].Errors != 60 {
			t.Fatalf("raw stats a %+v b %+v; want sent %d received %d errors %d (60 of them b's)", got, raw[b], sent, recv, errs)
		}
	})
}

// TestSamplesSayWhyAProbeNeverLeft: the samples of a target keep the reason class of
// a probe that never left, and a timeout stays a plain lost probe.
func TestSamplesSayWhyAProbeNeverLeft(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
		id := uuid.NewString()
		errs := []string{"", ping.ErrTimeout, "resolve x.invalid: lookup x.invalid: no such host",
			"resolve x.example: lookup x.example: server misbehaving", "send: sendto: no route to host", "exploded"}
		want := []string{"", "", "no such host", "does not resolve", "send failed", "error"}
		var rs []ping.Result
		for i, e := range errs {
			r := ping.Result{TargetID: id, SentAt: base.Add(time.Duration(i) * time.Second), Err: e}
			if i == 0 {
				r.OK, r.RTT = true, time.Millisecond
			}
			rs = append(rs, r)
		}
		if err := s.WriteResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		got, err := s.Samples(ctx, SampleQuery{TargetID: id, From: base, To: base.Add(time.Minute), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d samples, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Unsent != want[i] || got[i].OK != (i == 0) {
				t.Errorf("sample %d (%q): ok %v unsent %q, want %q", i, errs[i], got[i].OK, got[i].Unsent, want[i])
			}
		}
	})
}
