package api_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"pingdeck/internal/groups"
)

func TestAddTargetsReportsEveryLine(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "192.0.2.1"}, 201, &g)
		pasted := strings.Join([]string{
			"192.0.2.1",              // already in the group
			"::ffff:192.0.2.2",       // v4-mapped: stored as 192.0.2.2
			"192.0.2.2",              // same address again
			"fe80::1%eth0",           // zoned
			"198.51.100.5/28",        // not masked
			"10.0.0.0/16",            // larger than /24
			"224.0.0.1",              // multicast
			"ff02::1",                // multicast v6
			"0.0.0.0",                // unspecified
			"255.255.255.255",        // broadcast
			"0.1.2.3",                // "this network", not a host
			"240.0.0.0/24",           // reserved, not hosts
			strings.Repeat("a", 300), // too long
			"http://example.com",     // URL
			"Router-1.Example.NET.",  // hostname, canonicalised
			"2001:db8::/126",         // 3 addresses (first excluded)
		}, "\n")
		var res addResult
		alice.mustJSON("POST", "/api/v1/groups/"+g.ID+"/targets", map[string]any{"targets": pasted, "allow_unresolved": true}, 200, &res)
		var added []string
		for _, a := range res.Added {
			added = append(added, a.Address)
		}
		want := []string{"192.0.2.2", "router-1.example.net", "2001:db8::1", "2001:db8::2", "2001:db8::3"}
		if strings.Join(added, " ") != strings.Join(want, " ") {
			t.Fatalf("added %v, want %v", added, want)
		}
		reasons := map[string]string{}
		for _, s := range res.Skipped {
			reasons[s.Input] = s.Reason
		}
		expect := map[string]string{
			"192.0.2.1":              "already in this group",
			"192.0.2.2":              "duplicate",
			"fe80::1%eth0":           "zone",
			"198.51.100.5/28":        "198.51.100.0/28",
			"10.0.0.0/16":            "/24",
			"224.0.0.1":              "multicast",
			"ff02::1":                "multicast",
			"0.0.0.0":                "unspecified",
			"255.255.255.255":        "broadcast",
			"0.1.2.3":                "0.0.0.0/8",
			"240.0.0.0/24":           "240.0.0.0/4",
			strings.Repeat("a", 300): "253",
			"http://example.com":     "scheme",
		}
		for input, word := range expect {
			if !strings.Contains(strings.ToLower(reasons[input]), strings.ToLower(word)) {
				t.Errorf("skipped[%.40q] reason = %q, want it to mention %q", input, reasons[input], word)
			}
		}
		if len(res.Skipped) != len(expect) {
			t.Errorf("skipped %d lines, want %d: %+v", len(res.Skipped), len(expect), res.Skipped)
		}

		var after group
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &after)
		if len(after.Targets) != 6 {
			t.Fatalf("group has %d targets, want 6", len(after.Targets))
		}
		alice.mustError("POST", "/api/v1/groups/"+g.ID+"/targets", map[string]any{"targets": []string{}}, 400, "invalid", "targets")
		alice.mustError("POST", "/api/v1/groups/"+g.ID+"/targets", map[string]any{"targets": "192.0.2.50", "extra": 1}, 400, "invalid", "extra")
	})
}

func TestTargetQuotaAndPolicy(t *testing.T) {
	deny := netip.MustParsePrefix("192.0.2.128/25")
	e := newEnv(t, sqliteDSN(t), options{
		limits: func(l *groups.Limits) { l.MaxTargetsPerUser = 20 },
		policy: groups.TargetPolicy{Deny: []netip.Prefix{deny}},
	})
	alice := e.user("alice")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "192.0.2.200"}, 201, &g)
	if len(g.Targets) != 0 || len(g.Skipped) != 1 || !strings.Contains(g.Skipped[0].Reason, "deny-targets") {
		t.Fatalf("denied address: %+v", g)
	}
	var res addResult
	alice.mustJSON("POST", "/api/v1/groups/"+g.ID+"/targets", map[string]any{"targets": "198.51.100.0/27"}, 200, &res)
	if len(res.Added) != 20 || len(res.Skipped) != 10 || !strings.Contains(res.Skipped[0].Reason, "quota") {
		t.Fatalf("quota of 20: added %d skipped %d (%+v)", len(res.Added), len(res.Skipped), res.Skipped)
	}
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "second", "targets": "203.0.113.1"}, 201, &g)
	if len(g.Targets) != 0 || len(g.Skipped) != 1 {
		t.Fatalf("quota spans all of a user's groups: %+v", g)
	}
}

func TestPauseAndDeleteOneTarget(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		var g, other group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "192.0.2.1 192.0.2.2"}, 201, &g)
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "b", "targets": "192.0.2.3"}, 201, &other)
		tp := fmt.Sprintf("/api/v1/groups/%s/targets/%s", g.ID, g.Targets[0].ID)

		var tg target
		alice.mustJSON("PATCH", tp, map[string]any{"paused": true}, 200, &tg)
		if !tg.Paused || tg.ID != g.Targets[0].ID {
			t.Fatalf("paused target = %+v", tg)
		}
		var got group
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &got)
		if !got.Targets[0].Paused || got.Targets[1].Paused {
			t.Fatalf("after pause: %+v", got.Targets)
		}
		alice.mustJSON("PATCH", tp, map[string]any{"paused": false}, 200, &tg)
		if tg.Paused {
			t.Fatal("resume did not take")
		}
		alice.mustError("PATCH", tp, map[string]any{}, 400, "invalid", "paused")
		alice.mustError("PATCH", tp, map[string]any{"paused": "yes"}, 400, "invalid", "paused")
		alice.mustError("PATCH", fmt.Sprintf("/api/v1/groups/%s/targets/nope", g.ID), map[string]any{"paused": true}, 400, "invalid", "target_id")
		// A target of another group, addressed through alice's group, does not exist.
		alice.mustError("PATCH", fmt.Sprintf("/api/v1/groups/%s/targets/%s", g.ID, other.Targets[0].ID), map[string]any{"paused": true}, 404, "not_found", "")
		bob.mustError("DELETE", tp, nil, 404, "not_found", "")

		if status, _, _ := alice.do("DELETE", tp, nil); status != 204 {
			t.Fatalf("delete target: %d", status)
		}
		alice.mustError("DELETE", tp, nil, 404, "not_found", "")
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &got)
		if len(got.Targets) != 1 || got.Targets[0].Address != "192.0.2.2" {
			t.Fatalf("after delete: %+v", got.Targets)
		}
	})
}

func TestQuotaIgnoresAddressesAlreadyInTheGroup(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{limits: func(l *groups.Limits) { l.MaxTargetsPerUser = 3 }})
	alice := e.user("alice")
	body := map[string]any{"name": "full", "targets": "192.0.2.1 192.0.2.2 192.0.2.3"}
	var g group
	alice.mustJSON("PUT", "/api/v1/groups/"+zeroID, body, 201, &g)
	alice.mustJSON("PUT", "/api/v1/groups/"+zeroID, body, 200, &g)
	if len(g.Skipped) != 0 || len(g.Targets) != 3 {
		t.Fatalf("repeating a PUT at the quota: skipped %+v", g.Skipped)
	}
	var res addResult
	alice.mustJSON("POST", "/api/v1/groups/"+zeroID+"/targets", map[string]any{"targets": "192.0.2.3 192.0.2.4"}, 200, &res)
	if len(res.Added) != 0 || len(res.Skipped) != 2 || res.Skipped[0].Reason != "already in this group" || !strings.Contains(res.Skipped[1].Reason, "quota") {
		t.Fatalf("at the quota: %+v", res)
	}
	for _, empty := range []any{"", "  \n # nothing", []string{}, []string{" "}, nil} {
		alice.mustError("POST", "/api/v1/groups/"+zeroID+"/targets", map[string]any{"targets": empty}, 400, "invalid", "targets")
	}
}
