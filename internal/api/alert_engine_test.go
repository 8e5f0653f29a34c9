package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/alerts"
	"pingdeck/internal/bus"
	"pingdeck/internal/notify"
	"pingdeck/internal/ping"
)

// stateEngine runs the real state service (internal/alerts) on an embedded bus over
// the env's store, as the server does, and publishes results to it.
type stateEngine struct {
	pub *bus.ResultPublisher
}

func startStateEngine(t *testing.T, e *env) *stateEngine {
	t.Helper()
	b, err := bus.Open(bus.Config{StoreDir: filepath.Join(t.TempDir(), "bus")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, _, err := b.OpenResults(ctx, bus.StreamLimits{MaxBytes: 1 << 20, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	pub, err := b.NewResultPublisher(bus.PublisherOptions{Location: "local", FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc := alerts.NewService(b.Conn(), e.store, nil, nil)
	svc.WithThresholds(e.store)
	// The dispatcher is not run: what the rules notify stays queued, for the test to read.
	svc.WithRules(e.store, notify.NewDispatcher(e.store, notify.Options{}))
	var wg sync.WaitGroup
	wg.Go(func() { svc.Run(ctx) })
	wg.Go(func() { pub.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait(); b.Close() })
	time.Sleep(100 * time.Millisecond) // the service subscribes
	return &stateEngine{pub: pub}
}

// probe publishes n results a target gets now: answered after rtt, or lost (rtt 0).
func (s *stateEngine) probe(groupID, targetID string, n int, rtt time.Duration) {
	at := time.Now().Add(-time.Duration(n) * time.Millisecond)
	for i := range n {
		r := ping.Result{TargetID: targetID, GroupID: groupID, SentAt: at.Add(time.Duration(i) * time.Millisecond), OK: rtt > 0, RTT: rtt}
		if rtt == 0 {
			r.Err = ping.ErrTimeout
		}
		s.pub.Submit(r)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestMaintenanceWindowAndThresholdsDriveTheEngine: a group-wide maintenance window
// keeps a rule from firing and from notifying (no delivery queued, nothing in the
// bell) while the states are still recorded; deleting it lets the rule fire. A
// per-target degraded_rtt_ms set through the API turns the same slow answers from up
// into degraded within seconds.
func TestMaintenanceWindowAndThresholdsDriveTheEngine(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		admin := e.login("admin")
		hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer hook.Close()
		var g group
		admin.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "targets": "192.0.2.1 192.0.2.2"}, 201, &g)
		down, slow := g.Targets[0].ID, g.Targets[1].ID
		var ch struct{ ID string }
		admin.mustJSON("POST", "/api/v1/channels", map[string]any{"kind": "webhook", "name": "ops",
			"config": map[string]any{"url": hook.URL}, "secret": "0123456789abcdef"}, 201, &ch)
		admin.mustJSON("POST", "/api/v1/groups/"+g.ID+"/rules", map[string]any{"name": "edge down", "state": "down",
			"channel_ids": []string{ch.ID}}, 201, nil)
		var silence struct{ ID string }
		admin.mustJSON("POST", "/api/v1/groups/"+g.ID+"/silences", map[string]any{"to": time.Now().Add(time.Hour).Format(time.RFC3339),
			"comment": "maintenance"}, 201, &silence)

		engine := startStateEngine(t, e)
		type eventsOut struct {
			Events []struct {
				TargetID string `json:"target_id"`
				To       string `json:"to"`
			}
		}
		lastState := func(target string) string {
			var evs eventsOut
			admin.mustJSON("GET", "/api/v1/groups/"+g.ID+"/targets/"+target+"/events", nil, 200, &evs)
			if len(evs.Events) == 0 {
				return ""
			}
			return evs.Events[0].To
		}
		firing := func() int {
			var a struct{ Alerts []struct{ ID string } }
			admin.mustJSON("GET", "/api/v1/alerts?state=firing", nil, 200, &a)
			return len(a.Alerts)
		}
		deliveries := func() int {
			var d struct{ Deliveries []struct{ ID string } }
			admin.mustJSON("GET", "/api/v1/channels/"+ch.ID+"/deliveries", nil, 200, &d)
			return len(d.Deliveries)
		}
		bell := func() int {
			var n struct{ Notifications []struct{ Kind string } }
			admin.mustJSON("GET", "/api/v1/notifications", nil, 200, &n)
			count := 0
			for _, x := range n.Notifications {
				if x.Kind == "alert" {
					count++
				}
			}
			return count
		}

		// In maintenance: the target goes down (recorded), nothing fires or notifies.
		engine.probe(g.ID, down, 12, 0)
		engine.probe(g.ID, slow, 12, 80*time.Millisecond)
		eventually(t, "the target's down state recorded", func() bool { return lastState(down) == "down" })
		if s := lastState(slow); s != "up" {
			t.Fatalf("80 ms answers under the built-in thresholds: %q, want up", s)
		}
		time.Sleep(3 * time.Second) // evaluations happen each second; rules and windows are reread every 2 s
		if firing() != 0 || deliveries() != 0 || bell() != 0 {
			t.Fatalf("during the maintenance window: %d firing, %d deliveries, %d in the bell", firing(), deliveries(), bell())
		}

		// The window deleted: the rule fires, one delivery queued, one bell notice.
		admin.mustJSON("DELETE", "/api/v1/groups/"+g.ID+"/silences/"+silence.ID, nil, 204, nil)
		eventually(t, "the rule to fire", func() bool { return firing() == 1 })
		eventually(t, "the notification", func() bool { return deliveries() == 1 && bell() == 1 })

		// A per-target threshold: the same 80 ms answers are degraded now.
		admin.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/targets/"+slow+"/thresholds", map[string]any{"degraded_rtt_ms": 50}, 200, nil)
		eventually(t, "the slow target degraded", func() bool {
			engine.probe(g.ID, slow, 1, 80*time.Millisecond)
			return lastState(slow) == "degraded"
		})
	})
}
