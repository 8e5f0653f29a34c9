package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/groups"
)

func TestGroupCreateDefaultsAndPastedTargets(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{
			"name":    "  edge routers ",
			"targets": "192.0.2.1, 2001:db8::1\nrouter1.example.net  # core\n198.51.100.0/28\nfe80::1%eth0\n192.0.2.1",
			// router1.example.net has no address here: insist
			"allow_unresolved": true,
		}, 201, &g)
		if g.Name != "edge routers" || g.Role != "owner" || g.Visibility != "private" || g.IntervalMs != 1000 ||
			g.TimeoutMs != 1000 || g.PacketSize != 56 || g.Owner.Username != "alice" {
			t.Fatalf("group = %+v; want trimmed name, owner role, private, 1s/1s/56 defaults", g)
		}
		// 2 IPs + 1 hostname + 14 hosts of the /28
		if g.TargetCount != 17 || len(g.Targets) != 17 {
			t.Fatalf("targets = %d (%+v), want 17", len(g.Targets), g.Targets)
		}
		if g.Targets[0].Address != "192.0.2.1" || g.Targets[0].Kind != "ip" || g.Targets[2].Kind != "hostname" || g.Targets[2].IP != nil ||
			g.Targets[2].Unresolved != "no such host" || g.Targets[0].Unresolved != "" {
			t.Fatalf("targets are not in input order or mis-typed: %+v", g.Targets[:3])
		}
		if len(g.Skipped) != 2 {
			t.Fatalf("skipped = %+v, want the zoned address and the duplicate", g.Skipped)
		}
		var fetched group
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &fetched)
		if fetched.ID != g.ID || len(fetched.Targets) != 17 {
			t.Fatalf("GET = %+v", fetched)
		}
	})
}

func TestGroupPutIsIdempotent(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		id := "5b1f2f62-3b9e-4c7e-9a51-2f1d8c3e0a77"
		body := map[string]any{"name": "lab", "targets": []string{"192.0.2.10", "192.0.2.11"}, "interval": "500ms", "timeout": 300}
		var first, second group
		alice.mustJSON("PUT", "/api/v1/groups/"+id, body, 201, &first)
		alice.mustJSON("PUT", "/api/v1/groups/"+id, body, 200, &second)
		if first.ID != id || second.ID != id || second.TargetCount != 2 || len(second.Skipped) != 0 ||
			second.IntervalMs != 500 || second.TimeoutMs != 300 {
			t.Fatalf("first %+v\nsecond %+v", first, second)
		}
		var list groupList
		alice.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
		if len(list.Groups) != 1 {
			t.Fatalf("two PUTs made %d groups", len(list.Groups))
		}
		// The canonical form of the UUID is what is stored.
		alice.mustJSON("PUT", "/api/v1/groups/"+strings.ToUpper(id), body, 200, nil)

		bob.mustError("PUT", "/api/v1/groups/"+id, body, 409, "conflict", "id")
		alice.mustError("PUT", "/api/v1/groups/not-a-uuid", body, 400, "invalid", "id")
		alice.mustError("PUT", "/api/v1/groups/"+zeroID, map[string]any{"targets": "192.0.2.1"}, 400, "invalid", "name")
	})
}

func TestGroupVisibilityAndRoles(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob, admin := e.user("alice"), e.user("bob"), e.login("admin")
		var private, public group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "private", "targets": "192.0.2.1"}, 201, &private)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "public", "visibility": "public", "targets": "192.0.2.2"}, 201, &public)

		// Another user's private group does not exist for bob, whatever he tries.
		p := "/api/v1/groups/" + private.ID
		bob.mustError("GET", p, nil, 404, "not_found", "")
		bob.mustError("PATCH", p, map[string]any{"name": "mine"}, 404, "not_found", "")
		bob.mustError("DELETE", p, nil, 404, "not_found", "")
		bob.mustError("POST", p+"/targets", map[string]any{"targets": "192.0.2.9"}, 404, "not_found", "")
		bob.mustError("POST", p+"/prune", map[string]any{"action": "pause"}, 404, "not_found", "")
		missing := bob.mustError("GET", "/api/v1/groups/"+zeroID, nil, 404, "not_found", "")
		hidden := bob.mustError("GET", p, nil, 404, "not_found", "")
		if missing.Error.Message != hidden.Error.Message {
			t.Fatalf("a hidden group answers differently from a missing one: %q vs %q", hidden.Error.Message, missing.Error.Message)
		}

		// A public group is visible read-only.
		var list groupList
		bob.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
		if len(list.Groups) != 1 || list.Groups[0].ID != public.ID || list.Groups[0].Role != "viewer" {
			t.Fatalf("bob's list = %+v, want only the public group as viewer", list.Groups)
		}
		var seen group
		bob.mustJSON("GET", "/api/v1/groups/"+public.ID, nil, 200, &seen)
		if seen.Role != "viewer" || len(seen.Targets) != 1 {
			t.Fatalf("public group seen by bob = %+v", seen)
		}
		bob.mustError("PATCH", "/api/v1/groups/"+public.ID, map[string]any{"name": "x"}, 403, "forbidden", "")
		bob.mustError("POST", "/api/v1/groups/"+public.ID+"/targets", map[string]any{"targets": "192.0.2.9"}, 403, "forbidden", "")
		bob.mustError("DELETE", "/api/v1/groups/"+public.ID, nil, 403, "forbidden", "")
		bob.mustError("POST", "/api/v1/groups/"+public.ID+"/prune", map[string]any{"action": "pause"}, 403, "forbidden", "")

		// Admins can do everything and may list every group.
		admin.mustJSON("PATCH", p, map[string]any{"name": "renamed by admin"}, 200, nil)
		admin.mustJSON("GET", "/api/v1/groups?scope=all", nil, 200, &list)
		if len(list.Groups) != 2 {
			t.Fatalf("admin scope=all sees %d groups", len(list.Groups))
		}
		bob.mustJSON("GET", "/api/v1/groups?scope=all", nil, 200, &list)
		if len(list.Groups) != 1 {
			t.Fatalf("scope=all must not widen a non-admin's view: %d groups", len(list.Groups))
		}
	})
}

func TestGroupPatchAndDelete(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "192.0.2.1"}, 201, &g)
		p := "/api/v1/groups/" + g.ID
		var patched group
		alice.mustJSON("PATCH", p, map[string]any{"name": "core", "interval": 2000, "timeout": "1.5s", "packet_size": 100, "paused": true, "visibility": "public"}, 200, &patched)
		if patched.Name != "core" || patched.IntervalMs != 2000 || patched.TimeoutMs != 1500 || patched.PacketSize != 100 || !patched.Paused || patched.Visibility != "public" {
			t.Fatalf("patched = %+v", patched)
		}
		alice.mustJSON("GET", p, nil, 200, &patched)
		if patched.Name != "core" || !patched.Paused {
			t.Fatalf("PATCH did not persist: %+v", patched)
		}
		alice.mustError("PATCH", p, map[string]any{"targets": "192.0.2.2"}, 400, "invalid", "targets")
		if status, _, _ := alice.do("DELETE", p, nil); status != 204 {
			t.Fatalf("delete: %d", status)
		}
		alice.mustError("GET", p, nil, 404, "not_found", "")
		alice.mustError("DELETE", p, nil, 404, "not_found", "")
	})
}

func TestGroupValidation(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	alice := e.user("alice")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g"}, 201, &g)
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"missing name", map[string]any{"targets": "192.0.2.1"}, "name"},
		{"blank name", map[string]any{"name": "   "}, "name"},
		{"long name", map[string]any{"name": strings.Repeat("n", 101)}, "name"},
		{"control characters", map[string]any{"name": "a\x00b"}, "name"},
		{"interval zero", map[string]any{"name": "g", "interval": 0}, "interval"},
		{"interval negative", map[string]any{"name": "g", "interval": "-1s"}, "interval"},
		{"interval below the server minimum", map[string]any{"name": "g", "interval": "100ms"}, "interval"},
		{"interval too long", map[string]any{"name": "g", "interval": "2h"}, "interval"},
		{"interval not a duration", map[string]any{"name": "g", "interval": "soon"}, "interval"},
		{"interval wrong type", map[string]any{"name": "g", "interval": true}, "interval"},
		{"timeout too short", map[string]any{"name": "g", "timeout": "1ms"}, "timeout"},
		{"packet size too small", map[string]any{"name": "g", "packet_size": 8}, "packet_size"},
		{"packet size too large", map[string]any{"name": "g", "packet_size": 65000}, "packet_size"},
		{"packet size not a number", map[string]any{"name": "g", "packet_size": "big"}, "packet_size"},
		{"visibility unknown", map[string]any{"name": "g", "visibility": "secret"}, "visibility"},
		{"unknown field", map[string]any{"name": "g", "colour": "red"}, "colour"},
		{"targets wrong type", map[string]any{"name": "g", "targets": 5}, "targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice := alice.in(t)
			alice.mustError("POST", "/api/v1/groups", tt.body, 400, "invalid", tt.field)
			if tt.field != "name" && tt.field != "targets" {
				alice.mustError("PATCH", "/api/v1/groups/"+g.ID, tt.body, 400, "invalid", tt.field)
			}
		})
	}
	var list groupList
	alice.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
	if len(list.Groups) != 1 || list.Groups[0].Name != "g" || list.Groups[0].IntervalMs != 1000 {
		t.Fatalf("bad requests changed something: %+v", list.Groups)
	}
}

func TestMalformedBodies(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	alice := e.user("alice")
	huge := fmt.Sprintf(`{"name":"g","targets":%q}`, strings.Repeat("192.0.2.1\n", 120_000))
	alice.mustError("POST", "/api/v1/groups", huge, 413, "too_large", "")
	alice.mustError("POST", "/api/v1/groups", `{"name":"g"} {"name":"h"}`, 400, "invalid", "body")
	alice.mustError("POST", "/api/v1/groups", `{"name":"g"} garbage`, 400, "invalid", "body")
	alice.mustError("POST", "/api/v1/groups", `{"name":"g"`, 400, "invalid", "body")
	alice.mustError("POST", "/api/v1/groups", `{"name":}`, 400, "invalid", "body")
	alice.mustError("POST", "/api/v1/groups", ``, 400, "invalid", "body")
	alice.mustError("POST", "/api/v1/groups", `[]`, 400, "invalid", "body")
	var list groupList
	alice.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
	if len(list.Groups) != 0 {
		t.Fatalf("malformed requests created %d groups", len(list.Groups))
	}
}

func TestServerMinimumInterval(t *testing.T) {
	dsn := sqliteDSN(t)
	e := newEnv(t, dsn, options{})
	alice := e.user("alice")
	var old group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "fast", "interval": "500ms"}, 201, &old)
	alice.mustError("POST", "/api/v1/groups", map[string]any{"name": "g", "interval": "500.5ms"}, 400, "invalid", "interval")

	// The operator raises the floor above the default interval.
	e2 := newEnv(t, dsn, options{limits: func(l *groups.Limits) { l.MinInterval = 5 * time.Second }})
	alice = e2.login("alice")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "defaults"}, 201, &g)
	if g.IntervalMs != 5000 {
		t.Fatalf("default interval under a 5s floor = %dms, want 5000", g.IntervalMs)
	}
	// An old group can still be renamed; changing its interval must respect the floor.
	alice.mustJSON("PATCH", "/api/v1/groups/"+old.ID, map[string]any{"name": "renamed"}, 200, nil)
	alice.mustError("PATCH", "/api/v1/groups/"+old.ID, map[string]any{"interval": "1s"}, 400, "invalid", "interval")
}
