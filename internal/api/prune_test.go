package api_test

import (
	"context"
	"testing"
	"time"

	"pingdeck/internal/ping"
)

// TestPruneRemovesExactlyTheSilentTargets stores a minute of results in which one target
// never answered, one lost half, one answered everything and one has no results, and
// prunes with the defaults and with a lower bar.
func TestPruneRemovesExactlyTheSilentTargets(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4"}, 201, &g)
		silent, flaky, healthy := g.Targets[0], g.Targets[1], g.Targets[2] // the fourth has no results
		now := time.Now()
		var rs []ping.Result
		for i := range 60 {
			at := now.Add(-time.Duration(60-i) * time.Second)
			rs = append(rs,
				ping.Result{TargetID: silent.ID, SentAt: at, Err: ping.ErrTimeout},
				ping.Result{TargetID: flaky.ID, SentAt: at, OK: i%2 == 0, RTT: time.Millisecond},
				ping.Result{TargetID: healthy.ID, SentAt: at, OK: true, RTT: time.Millisecond})
		}
		if err := e.store.WriteResults(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		p := "/api/v1/groups/" + g.ID + "/prune"
		type result struct {
			Action  string `json:"action"`
			DryRun  bool   `json:"dry_run"`
			Targets []struct {
				ID   string  `json:"id"`
				Sent int64   `json:"sent"`
				Loss float64 `json:"loss"`
			} `json:"targets"`
		}

		var preview result
		alice.mustJSON("POST", p, map[string]any{"action": "remove", "dry_run": true}, 200, &preview)
		if len(preview.Targets) != 1 || preview.Targets[0].ID != silent.ID || preview.Targets[0].Loss != 1 || preview.Targets[0].Sent != 60 {
			t.Fatalf("preview = %+v, want only the silent target with 60 probes, all lost", preview)
		}
		var after group
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &after)
		if len(after.Targets) != 4 {
			t.Fatal("a dry run changed the group")
		}

		var paused result
		alice.mustJSON("POST", p, map[string]any{"action": "pause", "min_loss": 0.5, "window": "2m"}, 200, &paused)
		if len(paused.Targets) != 2 {
			t.Fatalf("pause at 50%% loss = %+v, want the silent and the flaky target", paused)
		}
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &after)
		for _, tg := range after.Targets {
			if want := tg.ID == silent.ID || tg.ID == flaky.ID; tg.Paused != want {
				t.Errorf("%s paused = %v, want %v", tg.Address, tg.Paused, want)
			}
		}

		var removed result
		alice.mustJSON("POST", p, map[string]any{"action": "remove"}, 200, &removed)
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &after)
		if len(removed.Targets) != 1 || len(after.Targets) != 3 {
			t.Fatalf("remove: %+v, %d targets left; want only the silent one removed", removed, len(after.Targets))
		}
		for _, tg := range after.Targets {
			if tg.ID == silent.ID {
				t.Fatal("the silent target is still there")
			}
		}

		for _, bad := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{}, "action"},
			{map[string]any{"action": "delete"}, "action"},
			{map[string]any{"action": "pause", "window": "1s"}, "window"},
			{map[string]any{"action": "pause", "window": "30d"}, "window"},
			{map[string]any{"action": "pause", "min_loss": 0}, "min_loss"},
			{map[string]any{"action": "pause", "min_loss": 1.5}, "min_loss"},
			{map[string]any{"action": "pause", "everything": true}, "everything"},
		} {
			alice.mustError("POST", p, bad.body, 400, "invalid", bad.field)
		}
		bob.mustError("POST", p, map[string]any{"action": "remove"}, 404, "not_found", "")
	})
}
