package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

func TestResultStatsWindowEdges(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		from := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		a, b := uuid.NewString(), uuid.NewString()
		var rs []ping.Result
		for i := -1; i <= 120; i++ { // one before the window, 120 in it, one at its end
			at := from.Add(time.Duration(i) * time.Second)
			ok := i%4 != 0
			rtt := time.Duration(10+i%3) * time.Millisecond
			rs = append(rs, ping.Result{TargetID: a, SentAt: at, OK: ok, RTT: rtt})
		}
		rs = append(rs, ping.Result{TargetID: b, SentAt: from, OK: false})
		if err := s.WriteResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		stats, err := s.ResultStats(ctx, []string{a, b, uuid.NewString()}, from, from.Add(120*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		sa := stats[a]
		// i = 0..119: 120 sent, every 4th lost (30) → 90 received.
		if sa.Sent != 120 || sa.Received != 90 {
			t.Fatalf("a: sent %d received %d, want 120 and 90 (the probe at from counts, the one at from+range does not)", sa.Sent, sa.Received)
		}
		if *sa.RTTMinUs != 10_000 || *sa.RTTMaxUs != 12_000 || *sa.RTTMeanUs < 10_900 || *sa.RTTMeanUs > 11_100 {
			t.Fatalf("a: rtt min %d max %d mean %v", *sa.RTTMinUs, *sa.RTTMaxUs, *sa.RTTMeanUs)
		}
		if sb := stats[b]; sb.Sent != 1 || sb.Received != 0 || sb.RTTMeanUs != nil {
			t.Fatalf("b: %+v, want one lost probe and no RTT", sb)
		}
		if len(stats) != 2 {
			t.Fatalf("stats for %d targets, want 2 (none for a target without probes)", len(stats))
		}
	})
}
