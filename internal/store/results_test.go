package store

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
	"pingdeck/internal/probeblock"
)

type resultRow struct {
	TargetID string
	RttUs    *int64
	OK       bool
}

func countResults(t *testing.T, s *Store) []resultRow {
	t.Helper()
	type row struct {
		resultRow
		at int64
	}
	var rows []row
	locations, err := s.ResultLocations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	if err := s.db.Raw("SELECT DISTINCT target_id FROM probe_blocks").Scan(&targets).Error; err != nil {
		t.Fatal(err)
	}
	err = s.forEachProbe(context.Background(), targets, locations, []span{{0, 1 << 62}}, nil, func(k blockKey, p probeblock.Probe) {
		r := row{resultRow: resultRow{TargetID: k.target, OK: p.Status == probeblock.Answered}, at: p.SentUs}
		if r.OK {
			rtt := p.RTTUs
			r.RttUs = &rtt
		}
		rows = append(rows, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, func(a, b row) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		if a.OK != b.OK {
			if a.OK {
				return -1
			}
			return 1
		}
		return 0
	})
	out := make([]resultRow, len(rows))
	for i, r := range rows {
		out[i] = r.resultRow
	}
	return out
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
