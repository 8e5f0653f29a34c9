package api_test

import (
	"strings"
	"testing"
)

type thresholdsOut struct {
	Window          int     `json:"window"`
	DownLossPct     float64 `json:"down_loss_pct"`
	DegradedLossPct float64 `json:"degraded_loss_pct"`
	DegradedRTTMs   float64 `json:"degraded_rtt_ms"`
	RTTPercentile   int     `json:"rtt_percentile"`
	Consecutive     int     `json:"consecutive"`
	FlapChanges     int     `json:"flap_changes"`
	FlapWindow      string  `json:"flap_window"`
}

type thresholdsView struct {
	Group   thresholdsOut            `json:"group"`
	Targets map[string]thresholdsOut `json:"targets"`
}

var builtIn = thresholdsOut{Window: 10, DownLossPct: 100, DegradedLossPct: 10, RTTPercentile: 50, Consecutive: 3, FlapChanges: 5, FlapWindow: "10m"}

func TestThresholdsAPI(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob, carol, dave := e.user("alice"), e.user("bob"), e.user("carol"), e.user("dave")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "targets": "192.0.2.1 192.0.2.2"}, 201, &g)
		var other group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "other", "targets": "192.0.2.9"}, 201, &other)
		alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/bob", map[string]any{"role": "viewer"}, 200, nil)
		alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/carol", map[string]any{"role": "editor"}, 200, nil)
		base := "/api/v1/groups/" + g.ID
		first := base + "/targets/" + g.Targets[0].ID + "/thresholds"

		var v thresholdsView
		bob.mustJSON("GET", base+"/thresholds", nil, 200, &v)
		if v.Group != builtIn || len(v.Targets) != 0 {
			t.Fatalf("a new group's thresholds: %+v", v)
		}

		// Bad input: 400 naming the field, nothing changed.
		bad := []struct {
			body  any
			field string
		}{
			{map[string]any{"window": 2}, "window"},
			{map[string]any{"window": 101}, "window"},
			{map[string]any{"window": 10.5}, "window"},
			{map[string]any{"down_loss_pct": 0}, "down_loss_pct"},
			{map[string]any{"down_loss_pct": 100.5}, "down_loss_pct"},
			{map[string]any{"degraded_loss_pct": -1}, "degraded_loss_pct"},
			{map[string]any{"down_loss_pct": 50, "degraded_loss_pct": 60}, "degraded_loss_pct"},
			{map[string]any{"degraded_rtt_ms": -1}, "degraded_rtt_ms"},
			{map[string]any{"degraded_rtt_ms": 60001}, "degraded_rtt_ms"},
			{map[string]any{"rtt_percentile": 90}, "rtt_percentile"},
			{map[string]any{"consecutive": 0}, "consecutive"},
			{map[string]any{"window": 5, "consecutive": 6}, "consecutive"},
			{map[string]any{"flap_changes": 1}, "flap_changes"},
			{map[string]any{"flap_changes": 101}, "flap_changes"},
			{map[string]any{"flap_window": "30s"}, "flap_window"},
			{map[string]any{"flap_window": "25h"}, "flap_window"},
			{map[string]any{"flap_window": "soon"}, "flap_window"},
			{map[string]any{"windw": 10}, "windw"},
			{`[1]`, "body"},
		}
		for _, b := range bad {
			t.Run(b.field, func(t *testing.T) {
				alice.in(t).mustError("PUT", base+"/thresholds", b.body, 400, "invalid", b.field)
				alice.in(t).mustError("PUT", first, b.body, 400, "invalid", b.field)
			})
		}
		alice.mustJSON("GET", base+"/thresholds", nil, 200, &v)
		if v.Group != builtIn || len(v.Targets) != 0 {
			t.Fatalf("bad input changed the thresholds: %+v", v)
		}

		// Permissions: a viewer reads only; an editor writes; a stranger sees nothing.
		body := map[string]any{"window": 20, "degraded_rtt_ms": 150, "flap_window": "1h", "consecutive": nil}
		bob.mustError("PUT", base+"/thresholds", body, 403, "forbidden", "")
		bob.mustError("PUT", first, body, 403, "forbidden", "")
		bob.mustError("DELETE", first, nil, 403, "forbidden", "")
		dave.mustError("GET", base+"/thresholds", nil, 404, "not_found", "")
		dave.mustError("PUT", base+"/thresholds", body, 404, "not_found", "")
		var eff thresholdsOut
		carol.mustJSON("PUT", base+"/thresholds", body, 200, &eff)
		want := builtIn
		want.Window, want.DegradedRTTMs, want.FlapWindow = 20, 150, "1h"
		if eff != want {
			t.Fatalf("the group's thresholds in effect: %+v, want %+v", eff, want)
		}
		// A target's override inherits what it leaves out from the group.
		carol.mustJSON("PUT", first, map[string]any{"rtt_percentile": 95, "degraded_rtt_ms": 40}, 200, &eff)
		wantTarget := want
		wantTarget.RTTPercentile, wantTarget.DegradedRTTMs = 95, 40
		if eff != wantTarget {
			t.Fatalf("the target's thresholds in effect: %+v, want %+v", eff, wantTarget)
		}
		bob.mustJSON("GET", base+"/thresholds", nil, 200, &v)
		if v.Group != want || len(v.Targets) != 1 || v.Targets[g.Targets[0].ID] != wantTarget {
			t.Fatalf("read back: %+v", v)
		}
		// The group's window cannot shrink under a target's consecutive.
		carol.mustJSON("PUT", first, map[string]any{"consecutive": 15}, 200, nil)
		refused := carol.mustError("PUT", base+"/thresholds", map[string]any{"window": 10}, 400, "invalid", "consecutive")
		if !strings.Contains(refused.Error.Message, g.Targets[0].ID) {
			t.Errorf("the refusal does not name the target: %s", refused.Error.Message)
		}
		// Targets of other groups, and unknown ones, are not found.
		alice.mustError("PUT", base+"/targets/"+other.Targets[0].ID+"/thresholds", map[string]any{}, 404, "not_found", "")
		alice.mustError("PUT", base+"/targets/"+zeroID+"/thresholds", map[string]any{}, 404, "not_found", "")
		alice.mustError("PUT", base+"/targets/nope/thresholds", map[string]any{}, 400, "invalid", "target_id")
		carol.mustJSON("DELETE", first, nil, 204, nil)
		carol.mustError("DELETE", first, nil, 404, "not_found", "")
		// A null field takes the built-in value again.
		alice.mustJSON("PUT", base+"/thresholds", map[string]any{"window": nil}, 200, &eff)
		if eff != builtIn {
			t.Fatalf("back to the built-in values: %+v", eff)
		}
	})
}
