package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/store"
)

type silenceOut struct {
	ID        string    `json:"id"`
	GroupID   string    `json:"group_id"`
	TargetID  *string   `json:"target_id"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by"`
}

func TestSilencesAPI(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob, carol, dave := e.user("alice"), e.user("bob"), e.user("carol"), e.user("dave")
		var g, other group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "targets": "192.0.2.1 192.0.2.2"}, 201, &g)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "other", "targets": "192.0.2.9"}, 201, &other)
		alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/bob", map[string]any{"role": "viewer"}, 200, nil)
		alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/carol", map[string]any{"role": "editor"}, 200, nil)
		base := "/api/v1/groups/" + g.ID + "/silences"
		now := time.Now().UTC()
		ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }

		bad := []struct {
			name  string
			body  any
			field string
		}{
			{"no end", map[string]any{"comment": "x"}, "to"},
			{"end not a time", map[string]any{"to": "tomorrow"}, "to"},
			{"start not a time", map[string]any{"from": "now", "to": ts(time.Hour)}, "from"},
			{"end before start", map[string]any{"from": ts(2 * time.Hour), "to": ts(time.Hour)}, "to"},
			{"end at start", map[string]any{"from": ts(time.Hour), "to": ts(time.Hour)}, "to"},
			{"longer than 90 days", map[string]any{"from": ts(0), "to": ts(91 * 24 * time.Hour)}, "to"},
			{"ended", map[string]any{"from": ts(-2 * time.Hour), "to": ts(-time.Hour)}, "to"},
			{"target not a uuid", map[string]any{"to": ts(time.Hour), "target_id": "192.0.2.1"}, "target_id"},
			{"another group's target", map[string]any{"to": ts(time.Hour), "target_id": other.Targets[0].ID}, "target_id"},
			{"comment too long", map[string]any{"to": ts(time.Hour), "comment": strings.Repeat("é", 501)}, "comment"},
			{"unknown field", map[string]any{"to": ts(time.Hour), "until": ts(time.Hour)}, "until"},
			{"to a number", map[string]any{"to": 5}, "to"},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				alice.in(t).mustError("POST", base, b.body, 400, "invalid", b.field)
			})
		}
		var list struct{ Silences []silenceOut }
		alice.mustJSON("GET", base, nil, 200, &list)
		if len(list.Silences) != 0 {
			t.Fatalf("bad input stored a window: %+v", list)
		}

		// Permissions.
		good := map[string]any{"from": ts(-time.Minute), "to": ts(time.Hour), "comment": " core upgrade "}
		bob.mustError("POST", base, good, 403, "forbidden", "")
		dave.mustError("POST", base, good, 404, "not_found", "")
		dave.mustError("GET", base, nil, 404, "not_found", "")
		var whole silenceOut
		carol.mustJSON("POST", base, good, 201, &whole)
		if whole.TargetID != nil || whole.Comment != "core upgrade" || whole.CreatedBy != "carol" || whole.GroupID != g.ID ||
			!whole.From.Equal(now.Add(-time.Minute).Truncate(time.Second)) {
			t.Fatalf("created: %+v", whole)
		}
		var one silenceOut
		alice.mustJSON("POST", base, map[string]any{"to": ts(2 * time.Hour), "target_id": g.Targets[1].ID}, 201, &one)
		if one.TargetID == nil || *one.TargetID != g.Targets[1].ID || one.From.Before(now.Add(-time.Second)) {
			t.Fatalf("a target's window from now: %+v", one)
		}
		// The list holds current, future and the last 7 days' past ones, by start.
		for _, past := range []time.Duration{3 * 24 * time.Hour, 8 * 24 * time.Hour} {
			sl := store.Silence{ID: uuid.NewString(), GroupID: g.ID, From: now.Add(-past - time.Hour), To: now.Add(-past), CreatedAt: now}
			if err := e.store.CreateSilence(context.Background(), &sl, now.Add(-past-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		bob.mustJSON("GET", base, nil, 200, &list)
		if len(list.Silences) != 3 || list.Silences[1].ID != whole.ID || list.Silences[2].ID != one.ID || list.Silences[0].To.After(now) {
			t.Fatalf("listed: %+v", list.Silences)
		}
		bob.mustError("DELETE", base+"/"+whole.ID, nil, 403, "forbidden", "")
		alice.mustError("DELETE", "/api/v1/groups/"+other.ID+"/silences/"+whole.ID, nil, 404, "not_found", "")
		carol.mustJSON("DELETE", base+"/"+whole.ID, nil, 204, nil)
		carol.mustError("DELETE", base+"/"+whole.ID, nil, 404, "not_found", "")
		carol.mustError("DELETE", base+"/nope", nil, 400, "invalid", "silence_id")
	})
}
