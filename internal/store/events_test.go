package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestTargetEventsNewestFirst(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		target, other, group := uuid.NewString(), uuid.NewString(), uuid.NewString()
		base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		rtt := 4.5
		evs := []TargetEvent{
			{TargetID: target, GroupID: group, Location: "local", From: "unknown", To: "up", At: base, RTTMs: &rtt},
			{TargetID: target, GroupID: group, Location: "fra", From: "up", To: "down", At: base.Add(time.Minute), LossPct: 100, Flapping: true},
			{TargetID: other, GroupID: group, Location: "local", From: "unknown", To: "up", At: base.Add(2 * time.Minute)},
		}
		if err := s.RecordEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := s.Events(ctx, EventQuery{TargetID: target})
		if err != nil || len(got) != 2 {
			t.Fatalf("target events: %+v, %v", got, err)
		}
		if got[0].To != "down" || got[0].Location != "fra" || !got[0].Flapping || got[0].RTTMs != nil || !got[0].At.Equal(base.Add(time.Minute)) ||
			got[1].To != "up" || *got[1].RTTMs != 4.5 || got[1].Flapping {
			t.Fatalf("target events: %+v", got)
		}
		all, err := s.Events(ctx, EventQuery{GroupID: group, Limit: 2})
		if err != nil || len(all) != 2 || all[0].TargetID != other {
			t.Fatalf("group events: %+v, %v", all, err)
		}
		older, err := s.Events(ctx, EventQuery{GroupID: group, BeforeID: all[1].ID})
		if err != nil || len(older) != 1 || older[0].To != "up" || older[0].TargetID != target {
			t.Fatalf("the page before: %+v, %v", older, err)
		}
	})
}
