//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"pingdeck/internal/ping/pingtest"
)

// e2eEvent is a state change as GET …/events shows it.
type e2eEvent struct {
	TargetID string  `json:"target_id"`
	Location string  `json:"location"`
	From     string  `json:"from"`
	To       string  `json:"to"`
	LossPct  float64 `json:"loss_pct"`
}

// TestStatesFollowTheSimulator: a target answers (up), is blackholed (down within the
// window plus the hysteresis) and comes back (up); the history says so, per target and
// per group, and a target that always answers has only its first change.
func TestStatesFollowTheSimulator(t *testing.T) {
	flaky, steady := netip.MustParseAddr("198.18.0.40"), netip.MustParseAddr("198.18.0.41")
	sim := pingtest.Start(t, pingtest.Options{})
	peer := sim.NewPeer(t)
	srv := startServerIn(t, buildPlainBinary(t), []string{"ip", "netns", "exec", peer.Name()},
		[]string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password", "PINGDECK_ALLOW_TARGETS=198.18.0.0/15"},
		"--listen", "127.0.0.1:0", "--icmp-mode", "unprivileged")
	c := srv.clientVia(peer.DialContext)
	defer c.c.CloseIdleConnections()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "sim", "interval": "500ms", "timeout": "300ms",
		"targets": fmt.Sprintf("%s %s", flaky, steady)}, 201, &g)
	ids := map[string]string{}
	for _, tg := range g.Targets {
		ids[tg.Address] = tg.ID
	}
	events := func(path string) []e2eEvent {
		var out struct{ Events []e2eEvent }
		c.call("GET", path, nil, 200, &out)
		return out.Events
	}
	targetEvents := func() []e2eEvent {
		return events(fmt.Sprintf("/api/v1/groups/%s/targets/%s/events", g.ID, ids[flaky.String()]))
	}
	waitUntil(t, 15*time.Second, "the target up", func() bool { e := targetEvents(); return len(e) == 1 && e[0].To == "up" })

	sim.Set(flaky, pingtest.Behavior{Silent: true})
	blackholed := time.Now()
	// 10 probes in the window at 2 Hz and 3 evaluations: about 6.5 s to down.
	waitUntil(t, 20*time.Second, "the blackholed target down", func() bool { e := targetEvents(); return len(e) > 0 && e[0].To == "down" })
	t.Logf("down %s after the blackhole", time.Since(blackholed).Round(100*time.Millisecond))
	if e := targetEvents(); e[0].LossPct != 100 || e[0].Location != "local" {
		t.Errorf("the down event: %+v", e[0])
	}

	sim.Set(flaky, pingtest.Behavior{})
	restored := time.Now()
	waitUntil(t, 20*time.Second, "the restored target up", func() bool { e := targetEvents(); return len(e) > 0 && e[0].To == "up" })
	t.Logf("up %s after it answered again", time.Since(restored).Round(100*time.Millisecond))

	all := events(fmt.Sprintf("/api/v1/groups/%s/events?limit=1000", g.ID))
	var steadyChanges int
	for _, e := range all {
		if e.TargetID == ids[steady.String()] {
			steadyChanges++
		}
	}
	if steadyChanges != 1 {
		t.Errorf("the steady target changed state %d times, want once (unknown → up): %+v", steadyChanges, all)
	}
	c.call("GET", fmt.Sprintf("/api/v1/groups/%s/events?limit=0", g.ID), nil, 400, nil)
	srv.stop()
}
