//go:build linux

package main

import (
	"fmt"
	"testing"
	"time"
)

// TestUnresolvedNameIsAnErrorNotLoss runs the real binary with 127.0.0.1 and a name
// that cannot resolve: the name is refused when added plainly, kept when the request
// insists, and then reported as errors (nothing sent), while 127.0.0.1 has probes
// sent and no errors.
func TestUnresolvedNameIsAnErrorNotLoss(t *testing.T) {
	const bad = "no-such-host.invalid"
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8"}, "--listen", "127.0.0.1:0")
	c := srv.client()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)

	var refused e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "plain", "targets": "127.0.0.1 " + bad}, 201, &refused)
	if len(refused.Targets) != 1 || len(refused.Skipped) != 1 || refused.Skipped[0].Reason != "does not resolve: no such host" {
		t.Fatalf("without allow_unresolved: targets %+v skipped %+v; want %s skipped as not resolving", refused.Targets, refused.Skipped, bad)
	}
	c.call("DELETE", "/api/v1/groups/"+refused.ID, nil, 204, nil)

	start := time.Now()
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "mixed", "interval": "200ms", "timeout": "500ms",
		"targets": "127.0.0.1 " + bad, "allow_unresolved": true}, 201, &g)
	if len(g.Targets) != 2 {
		t.Fatalf("insisting: targets %+v skipped %+v", g.Targets, g.Skipped)
	}
	type stats struct {
		Address  string   `json:"address"`
		Sent     int64    `json:"sent"`
		Received int64    `json:"received"`
		Errors   int64    `json:"errors"`
		LossPct  *float64 `json:"loss_pct"`
	}
	var rep struct {
		Summary stats   `json:"summary"`
		Targets []stats `json:"targets"`
	}
	by := map[string]stats{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		time.Sleep(500 * time.Millisecond)
		c.call("GET", fmt.Sprintf("/api/v1/groups/%s/report?from=%d&range=60s", g.ID, start.Unix()-1), nil, 200, &rep)
		for _, s := range rep.Targets {
			by[s.Address] = s
		}
		if by[bad].Errors >= 5 && by["127.0.0.1"].Sent >= 5 && time.Since(start) > 3*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %+v\nserver log:\n%s", by, srv.stderr)
		}
	}
	t.Logf("%+v", by)
	if h := by[bad]; h.Sent != 0 || h.Received != 0 || h.LossPct != nil {
		t.Errorf("%s: %+v; want nothing sent and no loss figure, only errors", bad, h)
	}
	if l := by["127.0.0.1"]; l.Errors != 0 || l.Received != l.Sent {
		t.Errorf("127.0.0.1: %+v; want every probe sent and answered, no errors", l)
	}
	if s := rep.Summary; s.Errors != by[bad].Errors || s.Sent != by["127.0.0.1"].Sent {
		t.Errorf("summary %+v does not add up", s)
	}
}
