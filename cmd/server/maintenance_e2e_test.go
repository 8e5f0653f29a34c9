//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/notify"
	"pingdeck/internal/ping/pingtest"
)

// TestAMaintenanceWindowAndAPerTargetThreshold: with the group in a maintenance
// window, a blackholed target goes down (recorded) but its rule sends no webhook and
// no alert fires; deleting the window lets the rule fire (one signed webhook). A
// target answering in ~40 ms is up under the built-in thresholds and becomes degraded
// once its own degraded_rtt_ms is 20.
func TestAMaintenanceWindowAndAPerTargetThreshold(t *testing.T) {
	black, slow := netip.MustParseAddr("198.18.0.60"), netip.MustParseAddr("198.18.0.61")
	sim := pingtest.Start(t, pingtest.Options{})
	sim.Set(slow, pingtest.Behavior{Delay: 40 * time.Millisecond})
	peer := sim.NewPeer(t)

	const secret = "a-webhook-signing-secret"
	var mu sync.Mutex
	var got []notify.Notification
	var badSignatures int
	receiver := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !notify.VerifySignature(secret, body, r.Header.Get("X-Pingdeck-Signature")) {
			badSignatures++
		}
		var n notify.Notification
		if json.Unmarshal(body, &n) == nil {
			got = append(got, n)
		}
	}))
	ln, err := peer.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	receiver.Listener = ln
	receiver.Start()
	defer receiver.Close()
	received := func() []notify.Notification {
		mu.Lock()
		defer mu.Unlock()
		return append([]notify.Notification(nil), got...)
	}

	srv := startServerIn(t, buildPlainBinary(t), []string{"ip", "netns", "exec", peer.Name()},
		[]string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password", "PINGDECK_ALLOW_TARGETS=198.18.0.0/15"},
		"--listen", "127.0.0.1:0", "--icmp-mode", "unprivileged")
	c := srv.clientVia(peer.DialContext)
	defer c.c.CloseIdleConnections()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "edge", "interval": "500ms", "timeout": "300ms",
		"targets": fmt.Sprintf("%s %s", black, slow)}, 201, &g)
	ids := map[string]string{}
	for _, tg := range g.Targets {
		ids[tg.Address] = tg.ID
	}
	var ch struct{ ID string }
	c.call("POST", "/api/v1/channels", map[string]any{"kind": "webhook", "name": "receiver",
		"config": map[string]any{"url": receiver.URL + "/hook"}, "secret": secret}, 201, &ch)
	c.call("POST", "/api/v1/groups/"+g.ID+"/rules", map[string]any{"name": "edge down", "state": "down", "for": "1s",
		"channel_ids": []string{ch.ID}}, 201, nil)
	c.call("POST", "/api/v1/groups/"+g.ID+"/silences", map[string]any{"to": "yesterday"}, 400, nil)
	var silence struct{ ID string }
	c.call("POST", "/api/v1/groups/"+g.ID+"/silences", map[string]any{"to": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"comment": "core router upgrade"}, 201, &silence)

	lastState := func(addr netip.Addr) string {
		var out struct{ Events []e2eEvent }
		c.call("GET", fmt.Sprintf("/api/v1/groups/%s/targets/%s/events", g.ID, ids[addr.String()]), nil, 200, &out)
		if len(out.Events) == 0 {
			return ""
		}
		return out.Events[0].To
	}
	firing := func() int {
		var out struct{ Alerts []struct{ ID string } }
		c.call("GET", "/api/v1/alerts?state=firing", nil, 200, &out)
		return len(out.Alerts)
	}
	waitUntil(t, 15*time.Second, "both targets up", func() bool { return lastState(black) == "up" && lastState(slow) == "up" })

	// In maintenance: down is recorded, nothing is sent.
	sim.Set(black, pingtest.Behavior{Silent: true})
	waitUntil(t, 20*time.Second, "the blackholed target down", func() bool { return lastState(black) == "down" })
	time.Sleep(4 * time.Second) // the rule's 1 s and more than a rules reload
	if n := received(); len(n) != 0 || firing() != 0 {
		t.Fatalf("during the maintenance window: webhooks %+v, %d firing", n, firing())
	}

	// A per-target threshold: the ~40 ms answers are degraded past 20 ms.
	var eff struct {
		DegradedRTTMs float64 `json:"degraded_rtt_ms"`
		Window        int     `json:"window"`
	}
	c.call("PUT", "/api/v1/groups/"+g.ID+"/targets/"+ids[slow.String()]+"/thresholds", map[string]any{"degraded_rtt_ms": 20}, 200, &eff)
	if eff.DegradedRTTMs != 20 || eff.Window != 10 {
		t.Fatalf("the target's thresholds in effect: %+v", eff)
	}
	changed := time.Now()
	waitUntil(t, 20*time.Second, "the slow target degraded", func() bool { return lastState(slow) == "degraded" })
	t.Logf("degraded %s after the threshold was set", time.Since(changed).Round(100*time.Millisecond))

	// The window deleted: the rule fires, one signed webhook.
	c.call("DELETE", "/api/v1/groups/"+g.ID+"/silences/"+silence.ID, nil, 204, nil)
	waitUntil(t, 20*time.Second, "a firing webhook", func() bool { return len(received()) >= 1 })
	time.Sleep(2 * time.Second)
	n := received()
	if len(n) != 1 || n[0].State != notify.Firing || n[0].Rule != "edge down" || badSignatures != 0 || firing() != 1 {
		t.Fatalf("after the window: webhooks %+v (%d badly signed), %d firing", n, badSignatures, firing())
	}
	srv.stop()
}
