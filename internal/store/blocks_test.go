package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

// TestHeldResultsAreReadAndCommittedOnce: results held in open blocks are in every
// read (report, stats, samples, recent results) before they are stored; committing
// moves them to the database without a read ever counting one twice or missing one,
// even while reports run during the commits; late and repeated results merge into a
// stored block, each probe once, in the blocks and in the hourly rollups.
func TestHeldResultsAreReadAndCommittedOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		a, b := uuid.NewString(), uuid.NewString()
		var rs []ping.Result
		for _, id := range []string{a, b} {
			rs = append(rs, probesEvery(id, base, base.Add(40*time.Minute), time.Second, 4, func(i int) time.Duration { return time.Duration(1000+i) * time.Microsecond })...)
		}
		if end := s.Hold(rs); !end.Equal(base.Add(40 * time.Minute)) {
			t.Fatalf("held until %s, want the last block's end", end)
		}
		want := func(from, to time.Time) (sent, received int64) {
			for _, r := range rs {
				if !r.SentAt.Before(from) && r.SentAt.Before(to) {
					sent++
					if r.OK {
						received++
					}
				}
			}
			return sent, received
		}
		check := func(what string, from, to time.Time) {
			t.Helper()
			rep := mustReport(t, s, ReportQuery{TargetIDs: []string{a, b}, From: from, To: to, Step: 7 * time.Minute})
			sent, received := want(from, to)
			if rep.Summary.Sent != sent || rep.Summary.Received != received || sumSeries(rep.Series).Sent != sent {
				t.Fatalf("%s [%s, %s): report %d/%d (series %d), want %d/%d", what, from, to, rep.Summary.Sent, rep.Summary.Received, sumSeries(rep.Series).Sent, sent, received)
			}
			st, err := s.ResultStats(ctx, []string{a, b}, from, to)
			if err != nil || st[a].Sent+st[b].Sent != sent {
				t.Fatalf("%s: stats %+v (%v), want %d sent", what, st, err, sent)
			}
		}
		check("held", base, base.Add(time.Hour))
		check("held, edges off the second", base.Add(90*time.Second+123*time.Microsecond), base.Add(31*time.Minute))
		if smp, err := s.Samples(ctx, SampleQuery{TargetID: a, From: base, To: base.Add(time.Minute), Limit: 1000}); err != nil || len(smp) != 60 {
			t.Fatalf("samples of held results: %d (%v), want 60", len(smp), err)
		}
		if rec, err := s.RecentResults(ctx, []string{a, b}, base.Add(39*time.Minute), 1000); err != nil || len(rec) != 120 {
			t.Fatalf("recent held results: %d (%v), want 120", len(rec), err)
		}

		// Commit block by block while reports run: every read counts every probe once.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errs := make(chan string, 100)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				rep, err := s.Report(ctx, ReportQuery{TargetIDs: []string{a, b}, From: base, To: base.Add(time.Hour), RawSince: base.Add(-time.Hour)})
				if err != nil {
					errs <- err.Error()
					return
				}
				if sent, _ := want(base, base.Add(time.Hour)); rep.Summary.Sent != sent {
					errs <- fmt.Sprintf("a report during the commits counted %d probes", rep.Summary.Sent)
					return
				}
			}
		})
		// On the clock, block by block: each closes once the results held go past it;
		// the last one (nothing goes past it) when all are committed.
		for now := base.Add(BlockSpan); now.Before(base.Add(40 * time.Minute)); now = now.Add(time.Minute) {
			heldFrom, err := s.CommitDue(ctx, now, 0)
			if err != nil {
				t.Fatal(err)
			}
			if wantFrom := now.Truncate(BlockSpan); !heldFrom.Equal(wantFrom.Add(BlockSpan)) {
				t.Fatalf("at %s blocks held from %s, want %s", now, heldFrom, wantFrom.Add(BlockSpan))
			}
		}
		if heldFrom, err := s.CommitDue(ctx, time.Time{}, 0); err != nil || !heldFrom.IsZero() {
			t.Fatalf("committing all: held from %s, %v", heldFrom, err)
		}
		close(stop)
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		if n := s.HeldResults(); n != 0 {
			t.Fatalf("%d results still held after every block closed", n)
		}
		check("stored", base, base.Add(time.Hour))

		// Late and repeated results of stored blocks: merged, each probe once.
		late := []ping.Result{rs[5], rs[6], {TargetID: a, SentAt: base.Add(5*time.Second + 500*time.Millisecond), OK: true, RTT: time.Millisecond}}
		s.Hold(late)
		if _, err := s.CommitDue(ctx, time.Time{}, 0); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, late[2])
		check("after a late result", base, base.Add(time.Hour))
		check("after a late result, whole hour from rollups", base.Add(-time.Hour), base.Add(time.Hour))
	})
}
