package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store/storetest"
)

// at returns rs with every result's location set to loc.
func at(loc string, rs []ping.Result) []ping.Result {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Location = loc
	}
	return out
}

// twoSites writes 10 minutes of 1 Hz results of one target from base, from two
// locations at the very same send times: "local" (written with no location, as the
// server's own prober leaves it) answers every probe in 5 ms; "fra" loses every 10th
// and answers the rest in 40 ms.
func twoSites(t *testing.T, s *Store, base time.Time) string {
	t.Helper()
	id := uuid.NewString()
	local := probesEvery(id, base, base.Add(10*time.Minute), time.Second, 0, func(int) time.Duration { return 5 * time.Millisecond })
	fra := at("fra", probesEvery(id, base, base.Add(10*time.Minute), time.Second, 10, func(int) time.Duration { return 40 * time.Millisecond }))
	for _, batch := range [][]ping.Result{local, fra} {
		if err := s.WriteResults(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func TestResultsAreStoredPerLocation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := µs(time.Now())
		id := uuid.NewString()
		batch := []ping.Result{
			{TargetID: id, SentAt: now, OK: true, RTT: time.Millisecond},                       // local, by default
			{TargetID: id, SentAt: now, OK: true, RTT: 30 * time.Millisecond, Location: "fra"}, // same time, elsewhere
			{TargetID: id, SentAt: now, OK: false, Err: ping.ErrTimeout, Location: "nyc"},      // and a third
			{TargetID: id, SentAt: now.Add(time.Second), OK: true, RTT: time.Millisecond, Location: "local"},
		}
		if err := s.WriteResults(ctx, batch); err != nil {
			t.Fatal(err)
		}
		// A replay, whole or in part and under either spelling of local, adds nothing.
		replay := append(slices.Clone(batch[1:]), ping.Result{TargetID: id, SentAt: now.Add(time.Second), OK: true, RTT: time.Millisecond})
		if err := s.WriteResults(ctx, replay); err != nil {
			t.Fatal(err)
		}
		byLoc, err := s.ResultStatsByLocation(ctx, []string{id}, "", now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]int64{"local": {2, 2}, "fra": {1, 1}, "nyc": {1, 0}}
		if len(byLoc[id]) != len(want) {
			t.Fatalf("locations %v, want %v", byLoc[id], want)
		}
		for loc, w := range want {
			if got := byLoc[id][loc]; got.Sent != w[0] || got.Received != w[1] || got.Location != loc {
				t.Errorf("%s: %+v, want sent %d received %d", loc, got, w[0], w[1])
			}
		}
		all, err := s.ResultStats(ctx, []string{id}, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if a := all[id]; a.Sent != 4 || a.Received != 3 || *a.RTTMinUs != 1000 || *a.RTTMaxUs != 30000 || *a.RTTMeanUs != 32000.0/3 {
			t.Errorf("all locations: %+v", a)
		}
		// The rollups count per location too, and only the first writing of each.
		rep := mustReport(t, s, ReportQuery{TargetIDs: []string{id}, From: now.Truncate(time.Hour), To: now.Truncate(time.Hour).Add(2 * time.Hour),
			RawSince: now.Add(-48 * time.Hour)})
		if got := rep.Targets[id]; got.Sent != 4 || got.Received != 3 {
			t.Errorf("report: %+v, want 4 sent, 3 received", got)
		}
		if got := rep.ByLocation[id]["local"]; got.Sent != 2 {
			t.Errorf("report, local: %+v, want 2 sent", got)
		}
		locs, err := s.ResultLocations(ctx)
		if err != nil || !slices.Equal(locs, []string{"fra", "local", "nyc"}) {
			t.Fatalf("result locations %v (%v), want fra, local, nyc", locs, err)
		}
		recent, err := s.RecentResults(ctx, []string{id}, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recent {
			got = append(got, r.Location)
		}
		if !slices.Equal(got, []string{"fra", "local", "nyc", "local"}) {
			t.Errorf("recent results from %v, want fra, local, nyc (same time, by name), then local", got)
		}
	})
}

func TestReportByLocation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		id := twoSites(t, s, base)
		other := uuid.NewString() // asked for, never probed
		for _, tc := range []struct {
			name     string
			from, to time.Time
		}{
			{"whole minutes", base.Add(time.Minute), base.Add(5 * time.Minute)},
			{"raw edges", base.Add(90 * time.Second), base.Add(4*time.Minute + 15*time.Second)},
			{"inside one minute", base.Add(10 * time.Second), base.Add(30 * time.Second)},
			{"past the raw retention", base.Add(90 * time.Second), base.Add(4*time.Minute + 15*time.Second)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := ReportQuery{TargetIDs: []string{id, other}, From: tc.from, To: tc.to, Step: time.Minute}
				if tc.name == "past the raw retention" {
					q.RawSince = base.Add(time.Hour) // edge hours come whole from the rollups
				}
				// What the raw rows say, per location, for the window the report reads.
				from, to := tc.from, tc.to
				if !q.RawSince.IsZero() {
					from, to = from.Truncate(time.Hour), to.Add(time.Hour-1).Truncate(time.Hour)
				}
				raw, err := s.ResultStatsByLocation(context.Background(), []string{id}, "", from, to)
				if err != nil {
					t.Fatal(err)
				}
				if len(raw[id]) != 2 || raw[id]["fra"].Received == raw[id]["fra"].Sent {
					t.Fatalf("fixture: %+v", raw[id])
				}
				rep := mustReport(t, s, q)
				var sent, received int64
				for _, loc := range []string{"local", "fra"} {
					got, want := rep.ByLocation[id][loc], raw[id][loc]
					if got.Sent != want.Sent || got.Received != want.Received || got.RTTMinUs != float64(*want.RTTMinUs) ||
						got.RTTMaxUs != float64(*want.RTTMaxUs) || got.RTTMeanUs != *want.RTTMeanUs {
						t.Errorf("%s: %+v; raw rows say %+v", loc, got, want)
					}
					sent, received = sent+want.Sent, received+want.Received
					// Asking for one location gives exactly its share.
					q1 := q
					q1.Location = loc
					one := mustReport(t, s, q1)
					if g := one.Targets[id]; g.Sent != want.Sent || g.Received != want.Received || len(one.ByLocation[id]) != 1 {
						t.Errorf("location=%s: %+v over %v; want sent %d received %d", loc, g, one.ByLocation[id], want.Sent, want.Received)
					}
					if s := sumSeries(one.Series); s.Sent != want.Sent || s.Received != want.Received {
						t.Errorf("location=%s: series sum to %d/%d, want %d/%d", loc, s.Sent, s.Received, want.Sent, want.Received)
					}
				}
				if got := rep.Targets[id]; got.Sent != sent || got.Received != received ||
					got.RTTMinUs != 5000 || got.RTTMaxUs != 40000 {
					t.Errorf("together: %+v, want sent %d received %d, RTT 5..40 ms", got, sent, received)
				}
				if rep.Summary.Sent != sent || sumSeries(rep.Series).Sent != sent {
					t.Errorf("summary %d, series %d, want %d", rep.Summary.Sent, sumSeries(rep.Series).Sent, sent)
				}
				if m, ok := rep.ByLocation[other]; !ok || len(m) != 0 || rep.Targets[other].Sent != 0 {
					t.Errorf("unprobed target: %v, %+v; want an empty breakdown", m, rep.Targets[other])
				}
			})
		}
		// A location with no results, and one never heard of, report nothing.
		for _, loc := range []string{"nyc", "zz"} {
			rep := mustReport(t, s, ReportQuery{TargetIDs: []string{id}, Location: loc, From: base, To: base.Add(time.Hour)})
			if rep.Targets[id].Sent != 0 || len(rep.ByLocation[id]) != 0 {
				t.Errorf("location=%s: %+v", loc, rep.Targets[id])
			}
		}
	})
}

func sumSeries(series []Stats) Stats {
	var out Stats
	for _, b := range series {
		out.Sent += b.Sent
		out.Received += b.Received
	}
	return out
}

func TestSamplesAcrossLocations(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		id := twoSites(t, s, base)
		// Every send time has two samples, fra's first (by name). Pages of 7 cut
		// between the two of one time; none is lost or repeated.
		q := SampleQuery{TargetID: id, From: base, To: base.Add(time.Minute), Limit: 7}
		var all []Sample
		for {
			page, err := s.Samples(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.After = &SampleKey{SentAt: last.SentAt, Location: last.Location}
		}
		if len(all) != 120 {
			t.Fatalf("%d samples, want 120", len(all))
		}
		for i, smp := range all {
			wantAt, wantLoc := base.Add(time.Duration(i/2)*time.Second), []string{"fra", "local"}[i%2]
			if !smp.SentAt.Equal(wantAt) || smp.Location != wantLoc {
				t.Fatalf("sample %d: %s at %v, want %s at %v", i, smp.Location, smp.SentAt, wantLoc, wantAt)
			}
		}
		// After with no location skips every sample of its time.
		page, err := s.Samples(ctx, SampleQuery{TargetID: id, From: base, To: base.Add(time.Minute), Limit: 1,
			After: &SampleKey{SentAt: base}})
		if err != nil || len(page) != 1 || !page[0].SentAt.Equal(base.Add(time.Second)) || page[0].Location != "fra" {
			t.Fatalf("after the first time: %+v, %v", page, err)
		}
		// One location only.
		fra, err := s.Samples(ctx, SampleQuery{TargetID: id, Location: "fra", From: base, To: base.Add(time.Minute), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		lost := 0
		for _, smp := range fra {
			if smp.Location != "fra" {
				t.Fatalf("location=fra gave %+v", smp)
			}
			if !smp.OK {
				lost++
			}
		}
		if len(fra) != 60 || lost != 6 {
			t.Fatalf("fra: %d samples, %d lost; want 60, 6", len(fra), lost)
		}
	})
}

func TestProbedFrom(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := newUser(t, s, "alice")
		own := newGroup(t, s, u.ID, "own", groups.Private, "192.0.2.1")
		both := newGroup(t, s, u.ID, "both", groups.Private, "192.0.2.2")
		fra := newGroup(t, s, u.ID, "fra", groups.Private, "192.0.2.3")
		fraNorth := newGroup(t, s, u.ID, "fra-north", groups.Private, "192.0.2.4")
		for g, locs := range map[*groups.Group][]string{both: {"nyc", "local", "fra"}, fra: {"fra"}, fraNorth: {"fra-north"}} {
			g.Locations = locs
			if err := s.UpdateGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GroupFor(ctx, both.ID, u.ID)
		if err != nil || !slices.Equal(got.Group.Locations, []string{"nyc", "local", "fra"}) {
			t.Fatalf("stored locations %v (%v)", got.Group.Locations, err)
		}
		if got, _ := s.GroupFor(ctx, own.ID, u.ID); !slices.Equal(got.Group.Locations, []string{"local"}) {
			t.Fatalf("a group that names no location reads back %v, want the server's own", got.Group.Locations)
		}
		for _, tc := range []struct {
			location string
			own      bool
			want     []string // addresses
		}{
			{"local", true, []string{"192.0.2.1", "192.0.2.2"}},
			{"fra", false, []string{"192.0.2.2", "192.0.2.3"}},
			{"fra-north", false, []string{"192.0.2.4"}},
			{"nyc", false, []string{"192.0.2.2"}},
			{"north", false, nil}, // a name inside another's is not it
			{"hq", true, []string{"192.0.2.1"}},
			{"hq", false, nil},
		} {
			src := s.ProbedFrom(tc.location, tc.own)
			ds, err := src.ActiveTargets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var addrs []string
			for _, d := range ds {
				addrs = append(addrs, d.Address)
			}
			slices.Sort(addrs)
			if !slices.Equal(addrs, tc.want) {
				t.Errorf("ProbedFrom(%q, %v) = %v, want %v", tc.location, tc.own, addrs, tc.want)
			}
			for _, g := range []*groups.Group{own, both, fra, fraNorth} {
				ds, err := src.ActiveTargetsOfGroup(ctx, g.ID)
				if err != nil {
					t.Fatal(err)
				}
				if probed := slices.Contains(tc.want, g.Targets[0].Address); (len(ds) == 1) != probed {
					t.Errorf("ProbedFrom(%q, %v) group %s: %v, want probed %v", tc.location, tc.own, g.Name, ds, probed)
				}
			}
		}
		// Everything, for whoever asks the store itself.
		if all, err := s.ActiveTargets(ctx); err != nil || len(all) != 4 {
			t.Fatalf("all active targets: %d, %v", len(all), err)
		}
	})
}

func TestRetentionDropsEveryLocation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		today := time.Now().UTC().Truncate(24 * time.Hour)
		old := today.AddDate(0, -3, 0)
		idOld, idNew := twoSites(t, s, old), twoSites(t, s, today)
		if _, err := s.DropResultsBefore(ctx, today.AddDate(0, 0, -7)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DropRollupsBefore(ctx, today.AddDate(0, -1, 0)); err != nil {
			t.Fatal(err)
		}
		st, err := s.ResultStatsByLocation(ctx, []string{idOld, idNew}, "", old, today.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(st[idOld]) != 0 || st[idNew]["local"].Sent != 600 || st[idNew]["fra"].Sent != 600 {
			t.Fatalf("after retention: old %v, new %v", st[idOld], st[idNew])
		}
		rep := mustReport(t, s, ReportQuery{TargetIDs: []string{idOld, idNew}, From: old.Truncate(time.Hour), To: today.Add(time.Hour),
			RawSince: today.AddDate(0, 0, -7)})
		if rep.Targets[idOld].Sent != 0 || rep.Targets[idNew].Sent != 1200 {
			t.Fatalf("report after retention: old %+v, new %+v", rep.Targets[idOld], rep.Targets[idNew])
		}
	})
}

// A group probed from the server's own location alone follows it when --location is
// renamed; one that names other locations keeps its names.
func TestGroupLocationsFollowTheOwnLocation(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "own.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := dsns[name](t)
			s := openTest(t, dsn)
			log := &changeLog{}
			s.changes = log
			u := newUser(t, s, "alice")
			plain, chosen, several := newGroup(t, s, u.ID, "plain", groups.Private), newGroup(t, s, u.ID, "chosen", groups.Private),
				newGroup(t, s, u.ID, "several", groups.Private)
			log.take()
			chosen.Locations, several.Locations = []string{"local"}, []string{"local", "fra"}
			for _, g := range []*groups.Group{chosen, several} {
				if err := s.UpdateGroup(ctx, g); err != nil {
					t.Fatal(err)
				}
				if got := log.take(); len(got) != 1 || got[0].Kind != groups.ChangeGroupUpdated || got[0].GroupID != g.ID {
					t.Fatalf("changing locations announced %+v, want one group update", got)
				}
			}
			closeDB(t, s)
			renamed, err := Open(ctx, dsn, Options{OwnLocation: "hq"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { renamed.Close() })
			for g, want := range map[*groups.Group][]string{plain: {"hq"}, chosen: {"hq"}, several: {"local", "fra"}} {
				got, err := renamed.GroupFor(ctx, g.ID, u.ID)
				if err != nil || !slices.Equal(got.Group.Locations, want) {
					t.Errorf("%s: %v (%v), want %v", g.Name, got.Group.Locations, err, want)
				}
			}
		})
	}
}
