package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

func TestAlertRulesAndAlerts(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		g := newGroup(t, s, alice.ID, "edge", groups.Private, "192.0.2.1")
		now := time.Now().UTC().Truncate(time.Second)
		r := AlertRule{ID: uuid.NewString(), GroupID: g.ID, Name: "down", State: "down", MinTargets: 2, MinPct: 50,
			For: 2 * time.Minute, ChannelIDs: []string{"c1", "c2"}, CreatedAt: now}
		if err := s.CreateAlertRule(ctx, &r); err != nil {
			t.Fatal(err)
		}
		list, err := s.AlertRules(ctx, "")
		if err != nil || len(list) != 1 || list[0].GroupName != "edge" || list[0].For != 2*time.Minute || len(list[0].ChannelIDs) != 2 || list[0].MinPct != 50 {
			t.Fatalf("rules: %+v, %v", list, err)
		}
		a := Alert{ID: uuid.NewString(), RuleID: r.ID, GroupID: g.ID, StartedAt: now}
		if err := s.OpenAlert(ctx, &a); err != nil {
			t.Fatal(err)
		}
		if open, err := s.OpenAlerts(ctx); err != nil || len(open) != 1 || open[0].ID != a.ID {
			t.Fatalf("open alerts: %+v, %v", open, err)
		}
		if err := s.ResolveAlert(ctx, a.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if open, _ := s.OpenAlerts(ctx); len(open) != 0 {
			t.Fatalf("still open: %+v", open)
		}
		if hist, err := s.GroupAlerts(ctx, g.ID); err != nil || len(hist) != 1 || hist[0].ResolvedAt == nil {
			t.Fatalf("history: %+v, %v", hist, err)
		}
		if err := s.DeleteAlertRule(ctx, g.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAlertRule(ctx, g.ID, r.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting again: %v", err)
		}
		if hist, _ := s.GroupAlerts(ctx, g.ID); len(hist) != 0 {
			t.Fatalf("a deleted rule's alerts remain: %+v", hist)
		}
	})
}
