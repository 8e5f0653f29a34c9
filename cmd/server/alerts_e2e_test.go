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

// TestARuleFiresOnceAndResolvesOnce: a rule "down for 2 s" on a group; the target is
// blackholed (the simulator stops answering): one signed "firing" webhook; it answers
// again: one "resolved"; the alert is in the group's history.
func TestARuleFiresOnceAndResolvesOnce(t *testing.T) {
	target := netip.MustParseAddr("198.18.0.50")
	sim := pingtest.Start(t, pingtest.Options{})
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
	states := func() []notify.State {
		mu.Lock()
		defer mu.Unlock()
		out := make([]notify.State, len(got))
		for i, n := range got {
			out[i] = n.State
		}
		return out
	}

	srv := startServerIn(t, buildPlainBinary(t), []string{"ip", "netns", "exec", peer.Name()},
		[]string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password", "PINGDECK_ALLOW_TARGETS=198.18.0.0/15"},
		"--listen", "127.0.0.1:0", "--icmp-mode", "unprivileged")
	c := srv.clientVia(peer.DialContext)
	defer c.c.CloseIdleConnections()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "edge", "interval": "500ms", "timeout": "300ms", "targets": target.String()}, 201, &g)
	var ch struct{ ID string }
	c.call("POST", "/api/v1/channels", map[string]any{"kind": "webhook", "name": "receiver",
		"config": map[string]any{"url": receiver.URL + "/hook"}, "secret": secret}, 201, &ch)
	c.call("POST", "/api/v1/groups/"+g.ID+"/rules", map[string]any{"name": "edge down", "state": "sideways"}, 400, nil)
	c.call("POST", "/api/v1/groups/"+g.ID+"/rules", map[string]any{"name": "edge down", "state": "down", "for": "2s",
		"channel_ids": []string{"00000000-0000-4000-8000-000000000000"}}, 400, nil)
	c.call("POST", "/api/v1/groups/"+g.ID+"/rules", map[string]any{"name": "edge down", "state": "down", "for": "2s",
		"channel_ids": []string{ch.ID}}, 201, nil)

	time.Sleep(4 * time.Second) // up
	sim.Set(target, pingtest.Behavior{Silent: true})
	blackholed := time.Now()
	waitUntil(t, 30*time.Second, "a firing notification", func() bool { return len(states()) >= 1 })
	t.Logf("firing received %s after the blackhole (down after ~6.5 s at 2 Hz, then held 2 s)", time.Since(blackholed).Round(100*time.Millisecond))
	sim.Set(target, pingtest.Behavior{})
	restored := time.Now()
	waitUntil(t, 30*time.Second, "a resolved notification", func() bool { return len(states()) >= 2 })
	t.Logf("resolved received %s after the target answered again", time.Since(restored).Round(100*time.Millisecond))
	time.Sleep(3 * time.Second) // nothing more
	if s := states(); fmt.Sprint(s) != "[firing resolved]" || badSignatures != 0 {
		t.Fatalf("notifications %v (%d with a bad signature), want one firing and one resolved, signed", s, badSignatures)
	}
	mu.Lock()
	firing := got[0]
	mu.Unlock()
	if firing.Rule != "edge down" || firing.Group != "edge" || firing.Severity != "critical" {
		t.Errorf("the firing notification: %+v", firing)
	}
	var alerts struct {
		Alerts []struct {
			ResolvedAt *time.Time `json:"resolved_at"`
		}
	}
	c.call("GET", "/api/v1/groups/"+g.ID+"/alerts", nil, 200, &alerts)
	if len(alerts.Alerts) != 1 || alerts.Alerts[0].ResolvedAt == nil {
		t.Errorf("the group's alerts: %+v", alerts)
	}
	srv.stop()
}
