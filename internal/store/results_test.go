package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

type resultRow struct {
	TargetID string
	RttUs    *int64
	OK       bool
}

func countResults(t *testing.T, s *Store) []resultRow {
	t.Helper()
	var rows []resultRow
	if err := s.db.Raw("SELECT target_id, rtt_us, ok FROM probe_results ORDER BY sent_at, ok DESC").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestWriteResults(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		a, b := uuid.NewString(), uuid.NewString()
		batch := []ping.Result{
			{TargetID: a, SentAt: now, RTT: 1500 * time.Microsecond, OK: true},
			{TargetID: b, SentAt: now, OK: false, Err: ping.ErrTimeout},
			// two days ahead: Postgres needs a partition it does not have yet
			{TargetID: a, SentAt: now.Add(48 * time.Hour), RTT: 20 * time.Millisecond, OK: true},
		}
		if err := s.WriteResults(ctx, batch); err != nil {
			t.Fatalf("first write: %v", err)
		}
		// A replayed batch that overlaps stored rows adds only the new ones.
		replay := append(batch[:2:2], ping.Result{TargetID: b, SentAt: now.Add(time.Second), RTT: time.Millisecond, OK: true})
		if err := s.WriteResults(ctx, replay); err != nil {
			t.Fatalf("replay: %v", err)
		}
		rows := countResults(t, s)
		if len(rows) != 4 {
			t.Fatalf("stored %d rows, want 4 (no double counting): %+v", len(rows), rows)
		}
		if rows[0].TargetID != a || rows[0].RttUs == nil || *rows[0].RttUs != 1500 || !rows[0].OK {
			t.Errorf("answered probe stored as %+v", rows[0])
		}
		if lost := rows[1]; lost.TargetID != b || lost.OK || lost.RttUs != nil {
			t.Errorf("lost probe stored as %+v, want ok=false and rtt NULL", rows[1])
		}
	})
}
