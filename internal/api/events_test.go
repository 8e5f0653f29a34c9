package api_test

import (
	"context"
	"testing"
	"time"

	"pingdeck/internal/store"
)

func TestTargetEventsAPI(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "192.0.2.1 192.0.2.2"}, 201, &g)
		first, second := g.Targets[0].ID, g.Targets[1].ID
		at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		var evs []store.TargetEvent
		for i := range 5 {
			evs = append(evs, store.TargetEvent{TargetID: first, GroupID: g.ID, Location: "local", From: "up", To: "down", At: at.Add(time.Duration(i) * time.Second), LossPct: 100})
		}
		evs = append(evs, store.TargetEvent{TargetID: second, GroupID: g.ID, Location: "local", From: "unknown", To: "up", At: at})
		if err := e.store.RecordEvents(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		type page struct {
			Events []struct {
				TargetID string `json:"target_id"`
				To       string `json:"to"`
			}
			Next *string
		}
		var p page
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/events?limit=4", nil, 200, &p)
		if len(p.Events) != 4 || p.Next == nil || p.Events[0].TargetID != second {
			t.Fatalf("first page: %+v", p)
		}
		var rest page
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/events?limit=4&before="+*p.Next, nil, 200, &rest)
		if len(rest.Events) != 2 || rest.Next != nil {
			t.Fatalf("second page: %+v", rest)
		}
		var one page
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/targets/"+second+"/events", nil, 200, &one)
		if len(one.Events) != 1 || one.Events[0].To != "up" {
			t.Fatalf("the second target's: %+v", one)
		}
		// Another user's private group is not there for bob.
		bob.mustError("GET", "/api/v1/groups/"+g.ID+"/events", nil, 404, "not_found", "")
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/targets/00000000-0000-4000-8000-000000000000/events", nil, 404, "not_found", "")
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/events?before=0", nil, 400, "invalid", "before")
	})
}
