package api_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// TestAlertsAcrossGroups: the alerts page lists the alerts of the groups the caller
// can view, newest first; the group list counts each group's firing ones.
func TestAlertsAcrossGroups(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		var mine, shared, private group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "targets": "192.0.2.1"}, 201, &mine)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "core", "targets": "192.0.2.2"}, 201, &shared)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "lab", "targets": "192.0.2.3"}, 201, &private)
		alice.mustJSON("PUT", "/api/v1/groups/"+shared.ID+"/shares/bob", map[string]any{"role": "viewer"}, 200, nil)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		open := func(g group, name string, started time.Duration, resolved bool) string {
			r := store.AlertRule{ID: uuid.NewString(), GroupID: g.ID, Name: name, State: "down", MinTargets: 1, CreatedAt: now}
			if err := e.store.CreateAlertRule(ctx, &r); err != nil {
				t.Fatal(err)
			}
			a := store.Alert{ID: uuid.NewString(), RuleID: r.ID, GroupID: g.ID, StartedAt: now.Add(-started), Targets: 1}
			if err := e.store.OpenAlert(ctx, &a); err != nil {
				t.Fatal(err)
			}
			if resolved {
				if err := e.store.ResolveAlert(ctx, a.ID, now); err != nil {
					t.Fatal(err)
				}
			}
			return a.ID
		}
		edgeDown := open(mine, "edge down", time.Hour, false)
		coreDown := open(shared, "core down", time.Minute, false)
		coreOld := open(shared, "core slow", 2*time.Hour, true)
		open(private, "lab down", 0, false)

		type alertOut struct {
			ID         string     `json:"id"`
			RuleName   string     `json:"rule_name"`
			GroupName  string     `json:"group_name"`
			ResolvedAt *time.Time `json:"resolved_at"`
			Targets    int        `json:"targets"`
		}
		var got struct{ Alerts []alertOut }
		bob.mustJSON("GET", "/api/v1/alerts", nil, 200, &got)
		if len(got.Alerts) != 2 || got.Alerts[0].ID != coreDown || got.Alerts[1].ID != coreOld || got.Alerts[1].ResolvedAt == nil ||
			got.Alerts[0].RuleName != "core down" || got.Alerts[0].GroupName != "core" || got.Alerts[0].Targets != 1 {
			t.Fatalf("bob's alerts (one shared group): %+v", got)
		}
		bob.mustJSON("GET", "/api/v1/alerts?state=firing", nil, 200, &got)
		if len(got.Alerts) != 1 || got.Alerts[0].ID != coreDown {
			t.Fatalf("bob's firing alerts: %+v", got)
		}
		alice.mustJSON("GET", "/api/v1/alerts?state=firing", nil, 200, &got)
		if len(got.Alerts) != 3 || got.Alerts[1].ID != coreDown || got.Alerts[2].ID != edgeDown {
			t.Fatalf("alice's firing alerts: %+v", got)
		}
		bob.mustError("GET", "/api/v1/alerts?state=resolved", nil, 400, "invalid", "state")
		var list struct {
			Groups []struct {
				ID           string `json:"id"`
				FiringAlerts *int   `json:"firing_alerts"`
			}
		}
		alice.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
		for _, g := range list.Groups {
			if g.FiringAlerts == nil || *g.FiringAlerts != 1 {
				t.Errorf("group %s: firing_alerts %v, want 1", g.ID, g.FiringAlerts)
			}
		}
	})
}

// TestUptimeIsTheReportsSuccessRate: each window's uptime is received/sent of the
// report over the same window; a target with no probes says null.
func TestUptimeIsTheReportsSuccessRate(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, stranger := e.user("alice"), e.user("stranger")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "targets": "192.0.2.1 192.0.2.2"}, 201, &g)
		probed, silent := g.Targets[0].ID, g.Targets[1].ID
		now := time.Now()
		var rs []ping.Result
		// Two days back: 24 h and 7 d differ. One probe a minute, every 7th lost.
		for i := range 2 * 24 * 60 {
			r := ping.Result{TargetID: probed, SentAt: now.Add(-time.Duration(i)*time.Minute - 30*time.Second), OK: i%7 != 0, RTT: 3 * time.Millisecond}
			if !r.OK {
				r.Err, r.RTT = ping.ErrTimeout, 0
			}
			rs = append(rs, r)
		}
		if err := e.store.WriteResults(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		var up struct {
			Targets map[string]map[string]*float64
		}
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/uptime", nil, 200, &up)
		if u := up.Targets[silent]; u["24h"] != nil || u["7d"] != nil || u["30d"] != nil {
			t.Fatalf("a target never probed: %+v", u)
		}
		for _, w := range []struct {
			name string
			span time.Duration
		}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}} {
			got := up.Targets[probed][w.name]
			var rep struct {
				Targets []struct {
					TargetID    string  `json:"target_id"`
					Sent        int64   `json:"sent"`
					Received    int64   `json:"received"`
					SuccessRate float64 `json:"success_rate"`
				}
			}
			from := url.QueryEscape(time.Now().Add(-w.span).UTC().Format(time.RFC3339Nano))
			alice.mustJSON("GET", fmt.Sprintf("/api/v1/groups/%s/report?from=%s&range=%ds", g.ID, from, int(w.span.Seconds())), nil, 200, &rep)
			for _, rt := range rep.Targets {
				if rt.TargetID != probed {
					continue
				}
				want := 100 * float64(rt.Received) / float64(rt.Sent)
				if got == nil || *got != want || math.Abs(*got-100*rt.SuccessRate) > 1e-9 {
					t.Errorf("%s: uptime %v, the report says %d of %d (%v %%)", w.name, got, rt.Received, rt.Sent, want)
				}
			}
		}
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/uptime?location=Nowhere!", nil, 400, "invalid", "location")
		stranger.mustError("GET", "/api/v1/groups/"+g.ID+"/uptime", nil, 404, "not_found", "")
	})
}

// TestHistoryBucketsAreTheReportsSeries: the long-term view's buckets are the group
// report's series for the same window and step, restricted to the target.
func TestHistoryBucketsAreTheReportsSeries(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, stranger := e.user("alice"), e.user("stranger")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "solo", "targets": "192.0.2.1"}, 201, &g)
		id := g.Targets[0].ID
		now := time.Now()
		var rs []ping.Result
		for i := range 3 * 60 * 6 { // 3 h, one probe each 10 s; RTTs spread, some lost
			r := ping.Result{TargetID: id, SentAt: now.Add(-time.Duration(i) * 10 * time.Second), OK: i%11 != 0,
				RTT: time.Duration(1000+(i*7919)%40000) * time.Microsecond}
			if !r.OK {
				r.Err, r.RTT = ping.ErrTimeout, 0
			}
			rs = append(rs, r)
		}
		if err := e.store.WriteResults(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		type bucket struct {
			T        time.Time `json:"t"`
			Sent     int64     `json:"sent"`
			Received int64     `json:"received"`
			LossPct  *float64  `json:"loss_pct"`
			MinMs    *float64  `json:"min_ms"`
			P10Ms    *float64  `json:"p10_ms"`
			P50Ms    *float64  `json:"p50_ms"`
			P90Ms    *float64  `json:"p90_ms"`
			MaxMs    *float64  `json:"max_ms"`
		}
		var h struct {
			From, To time.Time
			Step     string
			Buckets  []bucket
		}
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/targets/"+id+"/history", nil, 200, &h)
		if h.Step != "5m" || len(h.Buckets) != 288 || h.To.Sub(h.From) != 24*time.Hour || h.From.Truncate(5*time.Minute) != h.From {
			t.Fatalf("24h history: step %s, %d buckets, %v to %v", h.Step, len(h.Buckets), h.From, h.To)
		}
		var rep struct {
			Series []struct {
				At       time.Time `json:"at"`
				Sent     int64     `json:"sent"`
				Received int64     `json:"received"`
				LossPct  *float64  `json:"loss_pct"`
				MinMs    *float64  `json:"rtt_min_ms"`
				P50Ms    *float64  `json:"rtt_p50_ms"`
				MaxMs    *float64  `json:"rtt_max_ms"`
			}
		}
		alice.mustJSON("GET", fmt.Sprintf("/api/v1/groups/%s/report?from=%d&range=24h&step=5m", g.ID, h.From.Unix()), nil, 200, &rep)
		if len(rep.Series) != len(h.Buckets) {
			t.Fatalf("report series %d, history %d", len(rep.Series), len(h.Buckets))
		}
		eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
		var withData int
		for i, b := range h.Buckets {
			r := rep.Series[i]
			if !b.T.Equal(r.At) || b.Sent != r.Sent || b.Received != r.Received || !eq(b.LossPct, r.LossPct) ||
				!eq(b.MinMs, r.MinMs) || !eq(b.P50Ms, r.P50Ms) || !eq(b.MaxMs, r.MaxMs) {
				t.Fatalf("bucket %d: history %+v, report %+v", i, b, r)
			}
			if b.Received > 0 {
				withData++
				if *b.MinMs > *b.P10Ms || *b.P10Ms > *b.P50Ms || *b.P50Ms > *b.P90Ms || *b.P90Ms > *b.MaxMs {
					t.Fatalf("bucket %d's smoke is out of order: %+v", i, b)
				}
			} else if b.P50Ms != nil {
				t.Fatalf("bucket %d has RTTs without answers: %+v", i, b)
			}
		}
		if withData < 30 {
			t.Fatalf("only %d buckets with data", withData)
		}
		for _, c := range []struct {
			rng   string
			step  string
			count int
		}{{"7d", "30m", 336}, {"30d", "2h", 360}, {"1y", "24h", 365}} {
			alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/targets/"+id+"/history?range="+c.rng, nil, 200, &h)
			var sent int64
			for _, b := range h.Buckets {
				sent += b.Sent
			}
			if h.Step != c.step || len(h.Buckets) != c.count || sent != int64(len(rs)) {
				t.Errorf("%s: step %s, %d buckets, %d sent", c.rng, h.Step, len(h.Buckets), sent)
			}
		}
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/targets/"+id+"/history?range=2y", nil, 400, "invalid", "range")
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/targets/"+zeroID+"/history", nil, 404, "not_found", "")
		stranger.mustError("GET", "/api/v1/groups/"+g.ID+"/targets/"+id+"/history", nil, 404, "not_found", "")
	})
}

// TestStateBar: segments cover the range without a gap, from the stored changes; a
// target without changes is unknown throughout; without ?location= the worst
// location's state counts.
func TestStateBar(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "targets": "192.0.2.1 192.0.2.2"}, 201, &g)
		a, quiet := g.Targets[0].ID, g.Targets[1].ID
		now := time.Now().UTC()
		ev := func(loc, from, to string, ago time.Duration) store.TargetEvent {
			return store.TargetEvent{TargetID: a, GroupID: g.ID, Location: loc, From: from, To: to, At: now.Add(-ago)}
		}
		if err := e.store.RecordEvents(context.Background(), []store.TargetEvent{
			ev("local", "unknown", "up", 30*time.Hour), // before the range: not read
			ev("local", "up", "down", 3*time.Hour),
			ev("fra", "up", "degraded", 2*time.Hour),
			ev("local", "down", "up", time.Hour),
			ev("fra", "degraded", "up", 30*time.Minute),
		}); err != nil {
			t.Fatal(err)
		}
		type seg struct {
			From, To time.Time
			State    string
		}
		var bar struct {
			From, To time.Time
			Targets  map[string][]seg
		}
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/statebar?range=24h", nil, 200, &bar)
		if bar.To.Sub(bar.From) != 24*time.Hour {
			t.Fatalf("range %v to %v", bar.From, bar.To)
		}
		check := func(name string, segs []seg, want []string, cuts []time.Duration) {
			t.Helper()
			if len(segs) != len(want) {
				t.Fatalf("%s: %+v, want states %v", name, segs, want)
			}
			for i, s := range segs {
				if s.State != want[i] {
					t.Errorf("%s: segment %d is %s, want %s", name, i, s.State, want[i])
				}
				if i == 0 && !s.From.Equal(bar.From) || i == len(segs)-1 && !s.To.Equal(bar.To) || i > 0 && !s.From.Equal(segs[i-1].To) {
					t.Errorf("%s: segments do not cover the range: %+v", name, segs)
				}
				if i > 0 && s.From.Sub(now.Add(-cuts[i-1])).Abs() > time.Millisecond {
					t.Errorf("%s: segment %d starts at %v, want %v", name, i, s.From, now.Add(-cuts[i-1]))
				}
			}
		}
		check("worst", bar.Targets[a], []string{"up", "down", "degraded", "up"}, []time.Duration{3 * time.Hour, time.Hour, 30 * time.Minute})
		check("quiet", bar.Targets[quiet], []string{"unknown"}, nil)
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/statebar?location=fra", nil, 200, &bar)
		check("fra", bar.Targets[a], []string{"up", "degraded", "up"}, []time.Duration{2 * time.Hour, 30 * time.Minute})
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/statebar?range=31d", nil, 400, "invalid", "range")
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/statebar?range=soon", nil, 400, "invalid", "range")
	})
}
