package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

func TestRecentResultsAreTheNewestOldestFirst(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, b, other := uuid.NewString(), uuid.NewString(), uuid.NewString()
		now := time.Now().Truncate(time.Millisecond)
		var rs []ping.Result
		for i := range 10 {
			at := now.Add(-time.Duration(10-i) * time.Second)
			rs = append(rs, ping.Result{TargetID: a, SentAt: at, OK: true, RTT: 1500 * time.Microsecond},
				ping.Result{TargetID: b, SentAt: at, Err: ping.ErrTimeout},
				ping.Result{TargetID: other, SentAt: at, Err: "resolve x.example: no such host"})
		}
		if err := s.WriteResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecentResults(ctx, []string{a, b}, now.Add(-5500*time.Millisecond), 6)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 6 {
			t.Fatalf("got %d results, want the newest 6 of a and b", len(got))
		}
		for i, r := range got {
			if i > 0 && r.SentAt.Before(got[i-1].SentAt) {
				t.Fatalf("not oldest first: %v after %v", r.SentAt, got[i-1].SentAt)
			}
			switch r.TargetID {
			case a:
				if !r.OK || r.RTT != 1500*time.Microsecond {
					t.Fatalf("a: %+v", r)
				}
			case b:
				if r.OK || r.Err != ping.ErrTimeout {
					t.Fatalf("b: %+v", r)
				}
			default:
				t.Fatalf("a result of a target not asked for: %+v", r)
			}
		}
		if !got[5].SentAt.Equal(now.Add(-time.Second)) {
			t.Fatalf("newest is %v, want %v", got[5].SentAt, now.Add(-time.Second))
		}
		unsent, err := s.RecentResults(ctx, []string{other}, now.Add(-time.Hour), 100)
		if err != nil || len(unsent) != 10 || unsent[0].Err != "no such host" {
			t.Fatalf("a probe that never left: %+v, %v", unsent, err)
		}
	})
}
