package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/ping"
)

// fakeLocations knows the server's own location, "local", and two agents' sites.
type fakeLocations struct{}

func (fakeLocations) Own() string { return "local" }
func (fakeLocations) Known(context.Context) ([]string, error) {
	return []string{"local", "fra", "nyc"}, nil
}

var withAgents = options{locations: fakeLocations{}}

func TestGroupLocations(t *testing.T) {
	eachEnv(t, withAgents, func(t *testing.T, e *env) {
		alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
		var plain, chosen group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "plain"}, 201, &plain)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "chosen", "locations": []string{"fra", "local"}}, 201, &chosen)
		if !slices.Equal(plain.Locations, []string{"local"}) || !slices.Equal(chosen.Locations, []string{"fra", "local"}) {
			t.Fatalf("created with locations %v and %v, want [local] and [fra local]", plain.Locations, chosen.Locations)
		}
		var list groupList
		alice.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
		for _, g := range list.Groups {
			if want := map[string][]string{plain.ID: {"local"}, chosen.ID: {"fra", "local"}}[g.ID]; !slices.Equal(g.Locations, want) {
				t.Errorf("listed %s with %v, want %v", g.Name, g.Locations, want)
			}
		}

		// An editor may change them; the change is announced like any other setting's.
		p := "/api/v1/groups/" + plain.ID
		alice.mustJSON("PUT", p+"/shares/bob", map[string]any{"role": "editor"}, 200, nil)
		alice.mustJSON("PUT", p+"/shares/carol", map[string]any{"role": "viewer"}, 200, nil)
		e.events.take()
		var patched group
		bob.mustJSON("PATCH", p, map[string]any{"locations": []string{"nyc", "fra"}}, 200, &patched)
		if !slices.Equal(patched.Locations, []string{"nyc", "fra"}) {
			t.Fatalf("patched locations %v", patched.Locations)
		}
		if got := e.events.take(); !slices.Equal(got, []string{"GroupChanged " + plain.ID}) {
			t.Errorf("changing the locations announced %v, want the group changed", got)
		}
		carol.mustError("PATCH", p, map[string]any{"locations": []string{"local"}}, 403, "forbidden", "")

		// Bad lists are refused, naming the field, and change nothing.
		for _, bad := range []struct {
			body    any
			message string
		}{
			{[]string{"ams"}, `"ams"`},
			{[]string{"fra", "ams", "nyc"}, `"ams"`},
			{[]string{}, "at least one"},
			{[]string{"fra", "fra"}, `"fra"`},
			{[]string{"FRA"}, `"FRA"`},
			{[]string{"a,b"}, `"a,b"`},
			{strings.Split(strings.Repeat("x,", 17)[:33], ","), "at most 16"},
			{"fra", ""},
		} {
			got := bob.mustError("PATCH", p, map[string]any{"locations": bad.body}, 400, "invalid", "locations")
			if !strings.Contains(got.Error.Message, bad.message) {
				t.Errorf("locations %v: message %q does not say %s", bad.body, got.Error.Message, bad.message)
			}
			alice.mustError("POST", "/api/v1/groups", map[string]any{"name": "bad", "locations": bad.body}, 400, "invalid", "locations")
		}
		var after group
		alice.mustJSON("GET", p, nil, 200, &after)
		if !slices.Equal(after.Locations, []string{"nyc", "fra"}) {
			t.Fatalf("after refused changes: %v", after.Locations)
		}
		if e.events.take("GroupChanged") != nil {
			t.Error("a refused change was announced")
		}

		// Back to the server's own location alone; a repeated PUT with the same
		// locations is a repeat, not a change.
		bob.mustJSON("PATCH", p, map[string]any{"locations": []string{"local"}}, 200, &patched)
		if !slices.Equal(patched.Locations, []string{"local"}) {
			t.Fatalf("patched back to %v", patched.Locations)
		}
		put := "/api/v1/groups/5b1f2f62-3b9e-4c7e-9a51-2f1d8c3e0a77"
		body := map[string]any{"name": "lab", "locations": []string{"local", "nyc"}}
		var first, again group
		alice.mustJSON("PUT", put, body, 201, &first)
		e.events.take()
		alice.mustJSON("PUT", put, body, 200, &again)
		if !slices.Equal(again.Locations, []string{"local", "nyc"}) || e.events.take("GroupChanged") != nil {
			t.Errorf("a repeated PUT: locations %v, events %v", again.Locations, e.events.take())
		}
	})
}

// twoSiteFixture is a public group of two targets probed from local and fra (and nyc,
// which sends nothing), with two minutes of 1 Hz results from base: the first target
// answers local in 5 ms always and fra in 40 ms every other time; the second is lost
// from fra and answers local.
func twoSiteFixture(t *testing.T, e *env, owner *client) (group, time.Time) {
	t.Helper()
	var g group
	owner.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "sites", "visibility": "public",
		"targets": "192.0.2.1 192.0.2.2", "locations": []string{"local", "fra", "nyc"}}, 201, &g)
	base := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	var rs []ping.Result
	for i := range 120 {
		at := base.Add(time.Duration(i) * time.Second)
		rs = append(rs,
			ping.Result{TargetID: g.Targets[0].ID, SentAt: at, OK: true, RTT: 5 * time.Millisecond},
			ping.Result{TargetID: g.Targets[0].ID, Location: "fra", SentAt: at, OK: i%2 == 0, RTT: 40 * time.Millisecond},
			ping.Result{TargetID: g.Targets[1].ID, Location: "local", SentAt: at, OK: true, RTT: time.Millisecond},
			ping.Result{TargetID: g.Targets[1].ID, Location: "fra", SentAt: at})
	}
	for i := range rs {
		if !rs[i].OK {
			rs[i].RTT, rs[i].Err = 0, ping.ErrTimeout
		}
	}
	if err := e.store.WriteResults(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	return g, base
}

type locatedReport struct {
	Location *string     `json:"location"`
	Summary  reportStats `json:"summary"`
	Targets  []struct {
		TargetID string `json:"target_id"`
		reportStats
		Locations map[string]reportStats `json:"locations"`
	} `json:"targets"`
	Series []struct{ reportStats } `json:"series"`
}

func TestReportByLocationAPI(t *testing.T) {
	eachEnv(t, withAgents, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		g, base := twoSiteFixture(t, e, alice)
		// Unaligned, so the edges are read raw: 90 s of each target and location.
		path := fmt.Sprintf("/api/v1/groups/%s/report?from=%s&range=90s&step=30s", g.ID, url.QueryEscape(base.Add(15*time.Second).Format(time.RFC3339)))
		var r locatedReport
		bob.mustJSON("GET", path, nil, 200, &r) // a viewer of the public group
		if r.Location != nil || r.Summary.Sent != 360 || r.Summary.Received != 90+45+90 {
			t.Fatalf("every location: location %v, summary %+v", r.Location, r.Summary)
		}
		first, second := r.Targets[0], r.Targets[1]
		if first.Sent != 180 || first.Received != 135 || *first.RTTMinMs != 5 || *first.RTTMaxMs != 40 {
			t.Errorf("first target, together: %+v", first.reportStats)
		}
		want := map[string][2]int64{"local": {90, 90}, "fra": {90, 45}, "nyc": {0, 0}}
		if len(first.Locations) != 3 {
			t.Fatalf("first target's locations %v, want local, fra and nyc", first.Locations)
		}
		for loc, w := range want {
			got := first.Locations[loc]
			if got.Sent != w[0] || got.Received != w[1] {
				t.Errorf("first target from %s: %+v, want %d sent %d received", loc, got, w[0], w[1])
			}
		}
		if fra := first.Locations["fra"]; *fra.LossPct != 50 || *fra.RTTAvgMs != 40 {
			t.Errorf("first target from fra: %+v", fra)
		}
		if nyc := first.Locations["nyc"]; nyc.SuccessRate != nil || nyc.RTTAvgMs != nil {
			t.Errorf("nothing from nyc must read as nothing, not loss: %+v", nyc)
		}
		if fra := second.Locations["fra"]; fra.Sent != 90 || fra.Received != 0 || second.Locations["local"].Received != 90 {
			t.Errorf("second target: %+v", second.Locations)
		}

		// One location: only its probes, everywhere in the answer.
		var onlyFra locatedReport
		bob.mustJSON("GET", path+"&location=fra", nil, 200, &onlyFra)
		var seriesSent int64
		for _, b := range onlyFra.Series {
			seriesSent += b.Sent
		}
		if onlyFra.Location == nil || *onlyFra.Location != "fra" || onlyFra.Summary.Sent != 180 || onlyFra.Summary.Received != 45 || seriesSent != 180 {
			t.Fatalf("location=fra: %v, summary %+v, series %d", onlyFra.Location, onlyFra.Summary, seriesSent)
		}
		if tg := onlyFra.Targets[0]; tg.Sent != 90 || tg.Received != 45 || len(tg.Locations) != 1 || tg.Locations["fra"].Received != 45 {
			t.Errorf("location=fra, first target: %+v over %v", tg.reportStats, tg.Locations)
		}
		bob.mustError("GET", path+"&location=Fra", nil, 400, "invalid", "location")
		bob.mustError("GET", path+"&location="+strings.Repeat("x", 33), nil, 400, "invalid", "location")
		bob.mustError("GET", path+"&by=target", nil, 400, "invalid", "by")

		// CSV, one row per target and location.
		csvPath := strings.Replace(path, "&step=30s", "", 1) + "&format=csv&by=location"
		status, body, _ := bob.do("GET", csvPath, nil)
		if status != 200 {
			t.Fatalf("csv by location: %d %s", status, body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header := "target_id,address,ip,sent,received,success_rate,loss_pct,rtt_min_ms,rtt_avg_ms,rtt_max_ms,rtt_p50_ms,rtt_p95_ms,rtt_p99_ms,rtt_stddev_ms,errors,location"
		wantRows := []string{
			g.Targets[0].ID + ",192.0.2.1,192.0.2.1,90,45,0.5,50,40,40,40,40,40,40,0,0,fra",
			g.Targets[0].ID + ",192.0.2.1,192.0.2.1,90,90,1,0,5,5,5,5,5,5,0,0,local",
			g.Targets[0].ID + ",192.0.2.1,192.0.2.1,0,0,,,,,,,,,,0,nyc",
			g.Targets[1].ID + ",192.0.2.2,192.0.2.2,90,0,0,100,,,,,,,,0,fra",
			g.Targets[1].ID + ",192.0.2.2,192.0.2.2,90,90,1,0,1,1,1,1,1,1,0,0,local",
			g.Targets[1].ID + ",192.0.2.2,192.0.2.2,0,0,,,,,,,,,,0,nyc",
		}
		if len(rows) != 1+len(wantRows) || strings.Join(rows[0], ",") != header {
			t.Fatalf("csv:\n%s", body)
		}
		for i, w := range wantRows {
			if got := strings.Join(rows[i+1], ","); got != w {
				t.Errorf("row %d:\n got %s\nwant %s", i+1, got, w)
			}
		}
		// With a location, by location: that location's rows only.
		_, body, _ = bob.do("GET", csvPath+"&location=local", nil)
		if rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll(); err != nil || len(rows) != 3 ||
			rows[1][15] != "local" || rows[2][15] != "local" || rows[1][3] != "90" {
			t.Errorf("csv by location, location=local:\n%s", body)
		}
		// Without by: one row per target, every location together ("all"), or the one asked for.
		_, body, _ = bob.do("GET", strings.Replace(csvPath, "&by=location", "", 1), nil)
		if rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll(); err != nil || len(rows) != 3 || len(rows[0]) != 16 ||
			rows[1][3] != "180" || rows[1][15] != "all" {
			t.Errorf("csv:\n%s", body)
		}
		_, body, _ = bob.do("GET", strings.Replace(csvPath, "&by=location", "", 1)+"&location=fra", nil)
		if rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll(); err != nil || len(rows) != 3 ||
			rows[1][3] != "90" || rows[1][15] != "fra" {
			t.Errorf("csv, location=fra:\n%s", body)
		}
	})
}

func TestPruneDecidesOnEveryLocation(t *testing.T) {
	eachEnv(t, withAgents, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "locations": []string{"local", "fra"},
			"targets": "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4"}, 201, &g)
		dead, fraOnly, localOnlyProbed, healthy := g.Targets[0], g.Targets[1], g.Targets[2], g.Targets[3]
		now := time.Now()
		var rs []ping.Result
		lost := func(id, loc string, at time.Time) ping.Result {
			return ping.Result{TargetID: id, Location: loc, SentAt: at, Err: ping.ErrTimeout}
		}
		ok := func(id, loc string, at time.Time) ping.Result {
			return ping.Result{TargetID: id, Location: loc, SentAt: at, OK: true, RTT: time.Millisecond}
		}
		for i := range 60 {
			at := now.Add(-time.Duration(60-i) * time.Second)
			rs = append(rs,
				lost(dead.ID, "", at), lost(dead.ID, "fra", at),
				ok(fraOnly.ID, "local", at), lost(fraOnly.ID, "fra", at),
				lost(localOnlyProbed.ID, "local", at), // fra sent nothing: its agent was away
				ok(healthy.ID, "", at), ok(healthy.ID, "fra", at),
				lost(healthy.ID, "nyc", at)) // not a location of the group: not asked
		}
		if err := e.store.WriteResults(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		p := "/api/v1/groups/" + g.ID + "/prune"
		type result struct {
			Locations []string `json:"locations"`
			Targets   []struct {
				ID        string  `json:"id"`
				Sent      int64   `json:"sent"`
				Loss      float64 `json:"loss"`
				Locations map[string]struct {
					Sent int64   `json:"sent"`
					Loss float64 `json:"loss"`
				} `json:"locations"`
			} `json:"targets"`
		}
		chosen := func(r result) []string {
			var ids []string
			for _, tg := range r.Targets {
				ids = append(ids, tg.ID)
			}
			return ids
		}
		var every result
		alice.mustJSON("POST", p, map[string]any{"action": "pause", "dry_run": true}, 200, &every)
		if !slices.Equal(every.Locations, []string{"local", "fra"}) || !slices.Equal(chosen(every), []string{dead.ID}) {
			t.Fatalf("every location: decided on %v, chose %v; want local and fra, only the dead target", every.Locations, chosen(every))
		}
		if d := every.Targets[0]; d.Sent != 120 || d.Loss != 1 || len(d.Locations) != 2 || d.Locations["fra"].Sent != 60 || d.Locations["local"].Loss != 1 {
			t.Errorf("dead target: %+v", d)
		}
		var fra result
		alice.mustJSON("POST", p, map[string]any{"action": "pause", "dry_run": true, "location": "fra"}, 200, &fra)
		if !slices.Equal(fra.Locations, []string{"fra"}) || !slices.Equal(chosen(fra), []string{dead.ID, fraOnly.ID}) {
			t.Fatalf("location fra: decided on %v, chose %v; want the dead and the fra-only target", fra.Locations, chosen(fra))
		}
		var local result
		alice.mustJSON("POST", p, map[string]any{"action": "remove", "location": "local"}, 200, &local)
		if !slices.Equal(chosen(local), []string{dead.ID, localOnlyProbed.ID}) {
			t.Fatalf("location local: chose %v, want the dead target and the one fra did not probe", chosen(local))
		}
		var after group
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &after)
		if len(after.Targets) != 2 || after.Targets[0].ID != fraOnly.ID || after.Targets[1].ID != healthy.ID {
			t.Fatalf("after removing: %+v", after.Targets)
		}
		alice.mustError("POST", p, map[string]any{"action": "pause", "location": "nyc"}, 400, "invalid", "location")
		alice.mustError("POST", p, map[string]any{"action": "pause", "location": "New York"}, 400, "invalid", "location")
	})
}

func TestSamplesByLocation(t *testing.T) {
	eachEnv(t, withAgents, func(t *testing.T, e *env) {
		alice := e.user("alice")
		g, base := twoSiteFixture(t, e, alice)
		p := fmt.Sprintf("/api/v1/groups/%s/targets/%s/samples?from=%d&to=%d", g.ID, g.Targets[0].ID, base.Unix(), base.Add(time.Minute).Unix())
		type sample struct {
			At       string   `json:"at"`
			Location string   `json:"location"`
			OK       bool     `json:"ok"`
			RTTMs    *float64 `json:"rtt_ms"`
		}
		type page struct {
			Samples []sample `json:"samples"`
			Next    *string  `json:"next"`
		}
		// Pages of 25 split the two samples of one send time; each comes once.
		var all []sample
		for cursor := ""; ; {
			var pg page
			alice.mustJSON("GET", p+"&limit=25"+cursor, nil, 200, &pg)
			all = append(all, pg.Samples...)
			if pg.Next == nil {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(*pg.Next)
		}
		if len(all) != 120 {
			t.Fatalf("%d samples, want 120 (60 s from two locations)", len(all))
		}
		for i, s := range all {
			at, _ := time.Parse(time.RFC3339Nano, s.At)
			wantLoc := []string{"fra", "local"}[i%2]
			if !at.Equal(base.Add(time.Duration(i/2)*time.Second)) || s.Location != wantLoc {
				t.Fatalf("sample %d: %+v, want %s at %v", i, s, wantLoc, base.Add(time.Duration(i/2)*time.Second))
			}
		}
		var fra page
		alice.mustJSON("GET", p+"&location=fra", nil, 200, &fra)
		answered := 0
		for _, s := range fra.Samples {
			if s.Location != "fra" {
				t.Fatalf("location=fra gave %+v", s)
			}
			if s.OK {
				answered++
			}
		}
		if len(fra.Samples) != 60 || answered != 30 {
			t.Fatalf("location=fra: %d samples, %d answered; want 60, 30", len(fra.Samples), answered)
		}
		alice.mustError("GET", p+"&location=FRA", nil, 400, "invalid", "location")
		alice.mustError("GET", p+"&cursor=123:F", nil, 400, "invalid", "cursor")
	})
}
