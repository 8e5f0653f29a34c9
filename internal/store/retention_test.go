package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

func TestRetentionDropsOldResults(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		today := time.Now().UTC().Truncate(24 * time.Hour)
		id := uuid.NewString()
		var rs []ping.Result
		for day := -9; day <= 0; day++ { // ten days, 1,200 results each
			for i := range 1200 {
				rs = append(rs, ping.Result{TargetID: id, SentAt: today.AddDate(0, 0, day).Add(time.Duration(i) * time.Minute / 60), OK: true, RTT: time.Millisecond})
			}
		}
		if err := s.WriteResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		cutoff := today.AddDate(0, 0, -7) // keep 7 days
		n, err := s.DropResultsBefore(ctx, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		// Days -9 and -8 end at or before the cutoff (day -7 starts at it): Postgres
		// drops their two partitions, SQLite deletes their blocks (20 minutes a day:
		// four five-minute blocks).
		want := int64(2)
		if s.dialect == SQLite {
			want = 2 * 4
		}
		if n != want {
			t.Fatalf("dropped %d, want %d", n, want)
		}
		stats, err := s.ResultStats(ctx, []string{id}, today.AddDate(0, 0, -30), today.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		if got := stats[id].Sent; got != 8*1200 {
			t.Fatalf("%d results left, want the 8 newest days (%d)", got, 8*1200)
		}
		// Writing into a dropped day's range after all still works (the partition is
		// recreated), and the next run removes it again.
		if err := s.WriteResults(ctx, []ping.Result{{TargetID: id, SentAt: today.AddDate(0, 0, -9), OK: true}}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DropResultsBefore(ctx, cutoff); err != nil || n != 1 {
			t.Fatalf("second run dropped %d, %v; want 1", n, err)
		}
	})
}
