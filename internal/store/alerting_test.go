package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

func ptr[T any](v T) *T { return &v }

func TestThresholdOverrides(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		g := newGroup(t, s, alice.ID, "edge", groups.Private, "192.0.2.1", "192.0.2.2")
		other := newGroup(t, s, alice.ID, "other", groups.Private, "192.0.2.3")
		gs, ts, err := s.GroupThresholds(ctx, g.ID)
		if err != nil || gs != (groups.ThresholdOverride{}) || len(ts) != 0 {
			t.Fatalf("a new group's thresholds: %+v %+v %v", gs, ts, err)
		}
		flap := 30 * time.Minute
		if err := s.SetGroupThresholds(ctx, g.ID, groups.ThresholdOverride{Window: ptr(20), FlapWindow: &flap}); err != nil {
			t.Fatal(err)
		}
		// Setting again replaces: window back to inherited.
		if err := s.SetGroupThresholds(ctx, g.ID, groups.ThresholdOverride{DegradedRTTMs: ptr(80.5), FlapWindow: &flap}); err != nil {
			t.Fatal(err)
		}
		tid := g.Targets[0].ID
		if err := s.SetTargetThresholds(ctx, g.ID, tid, groups.ThresholdOverride{RTTPercentile: ptr(95)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTargetThresholds(ctx, other.ID, tid, groups.ThresholdOverride{}); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("another group's target: %v", err)
		}
		gs, ts, err = s.GroupThresholds(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		eff := gs.Over(groups.DefaultThresholds())
		if eff.Window != 10 || eff.DegradedRTTMs != 80.5 || eff.FlapWindow != flap || len(ts) != 1 || ts[tid].Over(eff).RTTPercentile != 95 {
			t.Fatalf("read back: %+v %+v", eff, ts)
		}
		all, targets, err := s.AllThresholds(ctx)
		if err != nil || len(all) != 1 || targets[tid].GroupID != g.ID {
			t.Fatalf("all: %+v %+v %v", all, targets, err)
		}
		if err := s.DeleteTargetThresholds(ctx, g.ID, tid); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTargetThresholds(ctx, g.ID, tid); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting again: %v", err)
		}
		// A deleted group takes its thresholds along.
		if err := s.DeleteGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if all, _, _ := s.AllThresholds(ctx); len(all) != 0 {
			t.Fatalf("a deleted group's thresholds remain: %+v", all)
		}
	})
}

func TestSilences(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		g := newGroup(t, s, alice.ID, "edge", groups.Private, "192.0.2.1")
		now := µs(time.Now())
		mk := func(from, to time.Duration, target string) Silence {
			sl := Silence{ID: uuid.NewString(), GroupID: g.ID, TargetID: target, From: now.Add(from), To: now.Add(to),
				Comment: "works", CreatedBy: alice.ID, CreatedAt: now}
			if err := s.CreateSilence(ctx, &sl, now); err != nil {
				t.Fatal(err)
			}
			return sl
		}
		past := mk(-10*24*time.Hour, -9*24*time.Hour, "")
		recent := mk(-2*time.Hour, -time.Hour, "")
		current := mk(-time.Minute, time.Hour, g.Targets[0].ID)
		future := mk(time.Hour, 2*time.Hour, "")
		list, err := s.Silences(ctx, g.ID, now.Add(-7*24*time.Hour), 100)
		if err != nil || len(list) != 3 || list[0].ID != recent.ID || list[1].ID != current.ID || list[2].ID != future.ID {
			t.Fatalf("listed %+v, %v", list, err)
		}
		if c := list[1]; c.TargetID != g.Targets[0].ID || c.CreatedByName != "alice" || !c.From.Equal(current.From) || !c.To.Equal(current.To) {
			t.Fatalf("the current one read back: %+v", c)
		}
		active, err := s.SilencesBetween(ctx, now, now.Add(time.Second), 100)
		if err != nil || len(active) != 1 || active[0].ID != current.ID {
			t.Fatalf("active: %+v %v", active, err)
		}
		if err := s.DeleteSilence(ctx, g.ID, past.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSilence(ctx, g.ID, past.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting again: %v", err)
		}
		bad := Silence{ID: uuid.NewString(), GroupID: uuid.NewString(), From: now, To: now.Add(time.Hour), CreatedAt: now}
		if err := s.CreateSilence(ctx, &bad, now); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("a silence of no group: %v", err)
		}
		// The bound counts the ones that have not ended (current and future: 2).
		for range MaxOpenSilences - 2 {
			mk(time.Hour, 2*time.Hour, "")
		}
		one := Silence{ID: uuid.NewString(), GroupID: g.ID, From: now, To: now.Add(time.Hour), CreatedAt: now}
		if err := s.CreateSilence(ctx, &one, now); !errors.Is(err, groups.ErrConflict) {
			t.Fatalf("past the bound: %v", err)
		}
	})
}

func TestAlertsAcrossGroupsAndTheBell(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob, carol := newUser(t, s, "alice"), newUser(t, s, "bob"), newUser(t, s, "carol")
		g1 := newGroup(t, s, alice.ID, "edge", groups.Private, "192.0.2.1")
		g2 := newGroup(t, s, alice.ID, "core", groups.Private, "192.0.2.2")
		for _, sh := range []groups.Share{{GroupID: g1.ID, UserID: bob.ID, Role: groups.RoleEditor}, {GroupID: g1.ID, UserID: carol.ID, Role: groups.RoleViewer}} {
			if _, _, err := s.PutShare(ctx, sh, nil); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().UTC().Truncate(time.Second)
		rule := func(g *groups.Group) AlertRule {
			r := AlertRule{ID: uuid.NewString(), GroupID: g.ID, Name: g.Name + " down", State: "down", MinTargets: 1, CreatedAt: now}
			if err := s.CreateAlertRule(ctx, &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		r1, r2 := rule(g1), rule(g2)
		a1 := Alert{ID: uuid.NewString(), RuleID: r1.ID, GroupID: g1.ID, StartedAt: now.Add(-time.Hour), Targets: 1}
		a2 := Alert{ID: uuid.NewString(), RuleID: r2.ID, GroupID: g2.ID, StartedAt: now, Targets: 1}
		for _, a := range []*Alert{&a1, &a2} {
			if err := s.OpenAlert(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetAlertTargets(ctx, a1.ID, 3); err != nil {
			t.Fatal(err)
		}
		if err := s.ResolveAlert(ctx, a2.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		all, err := s.AlertsIn(ctx, []string{g1.ID, g2.ID}, false, 200)
		if err != nil || len(all) != 2 || all[0].ID != a2.ID || all[0].RuleName != "core down" || all[1].GroupName != "edge" || all[1].Targets != 3 {
			t.Fatalf("all alerts: %+v %v", all, err)
		}
		firing, err := s.AlertsIn(ctx, []string{g1.ID, g2.ID}, true, 200)
		if err != nil || len(firing) != 1 || firing[0].ID != a1.ID || firing[0].ResolvedAt != nil {
			t.Fatalf("firing: %+v %v", firing, err)
		}
		if only, _ := s.AlertsIn(ctx, []string{g2.ID}, false, 200); len(only) != 1 {
			t.Fatalf("one group's: %+v", only)
		}
		counts, err := s.FiringAlertCounts(ctx, []string{g1.ID, g2.ID})
		if err != nil || counts[g1.ID] != 1 || counts[g2.ID] != 0 {
			t.Fatalf("counts %v %v", counts, err)
		}

		// The bell: the owner and the editor, not the viewer; once however often told.
		note := groups.Notification{ID: a1.ID + ":firing", Kind: groups.NotifyAlert, Message: "edge down: firing", CreatedAt: now}
		for range 2 {
			if err := s.NotifyGroupEditors(ctx, g1.ID, note); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []struct {
			id   string
			want int
		}{{alice.ID, 1}, {bob.ID, 1}, {carol.ID, 0}} {
			list, _, err := s.Notifications(ctx, u.id, false, 10)
			var alerts []groups.Notification
			for _, n := range list {
				if n.Kind == groups.NotifyAlert {
					alerts = append(alerts, n)
				}
			}
			if err != nil || len(alerts) != u.want || (u.want == 1 && (alerts[0].GroupName != "edge" || alerts[0].Message != note.Message)) {
				t.Fatalf("user %s's alert notifications: %+v %v", u.id, alerts, err)
			}
		}
	})
}

func TestStateEventsOldestFirstInTheWindow(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		g, target := uuid.NewString(), uuid.NewString()
		at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		evs := []TargetEvent{
			{TargetID: target, GroupID: g, Location: "local", From: "unknown", To: "up", At: at.Add(-time.Hour)},
			{TargetID: target, GroupID: g, Location: "local", From: "up", To: "down", At: at.Add(time.Minute)},
			{TargetID: target, GroupID: g, Location: "fra", From: "up", To: "degraded", At: at.Add(2 * time.Minute)},
			{TargetID: target, GroupID: g, Location: "local", From: "down", To: "up", At: at.Add(3 * time.Minute)},
		}
		if err := s.RecordEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := s.StateEvents(ctx, g, "", at, at.Add(time.Hour), 100)
		if err != nil || len(got) != 3 || got[0].To != "down" || !got[0].At.Equal(at.Add(time.Minute)) || got[2].To != "up" {
			t.Fatalf("events: %+v %v", got, err)
		}
		local, err := s.StateEvents(ctx, g, "local", at, at.Add(time.Hour), 100)
		if err != nil || len(local) != 2 {
			t.Fatalf("local events: %+v %v", local, err)
		}
	})
}

// TestMigration15DownAndUp: the thresholds, silences and alert counts go and come back.
func TestMigration15DownAndUp(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p, err := s.migrationProvider()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 14); err != nil {
			t.Fatalf("down: %v", err)
		}
		if err := s.db.Exec("SELECT count(*) FROM silences").Error; err == nil {
			t.Fatal("silences survived the down migration")
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if _, _, err := s.AllThresholds(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SilencesBetween(ctx, time.Now(), time.Now(), 1); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReportQuantiles: the asked quantiles come out in order, the median equal to
// RTTP50Us, in every Stats (targets, summary, series).
func TestReportQuantiles(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		id := uuid.NewString()
		from := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		rs := probesEvery(id, from, from.Add(10*time.Minute), time.Second, 7, func(i int) time.Duration { return time.Duration(1+i%100) * time.Millisecond })
		if err := s.WriteResults(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		qs := []float64{0.10, 0.25, 0.50, 0.75, 0.90}
		r := mustReport(t, s, ReportQuery{TargetIDs: []string{id}, From: from, To: from.Add(10 * time.Minute), Step: 5 * time.Minute, Quantiles: qs})
		for _, st := range append([]Stats{r.Targets[id], r.Summary}, r.Series...) {
			if len(st.Quantiles) != len(qs) || st.Quantiles[2] != st.RTTP50Us {
				t.Fatalf("quantiles %v with p50 %v", st.Quantiles, st.RTTP50Us)
			}
			for i := 1; i < len(qs); i++ {
				if st.Quantiles[i] < st.Quantiles[i-1] {
					t.Fatalf("quantiles out of order: %v", st.Quantiles)
				}
			}
			if st.Quantiles[0] < 5000 || st.Quantiles[4] > 100000 {
				t.Fatalf("quantiles off the data: %v", st.Quantiles)
			}
		}
		if plain := mustReport(t, s, ReportQuery{TargetIDs: []string{id}, From: from, To: from.Add(time.Minute)}); plain.Targets[id].Quantiles != nil {
			t.Fatalf("quantiles without asking: %v", plain.Targets[id].Quantiles)
		}
	})
}
