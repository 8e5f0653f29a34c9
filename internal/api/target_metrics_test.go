package api_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/api"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/targetmetrics"
)

// A group's metrics setting is off by default; its owner and editors turn it on or
// off (POST, PUT, PATCH), viewers may not, and a value that is not a boolean is
// refused naming the field.
func TestGroupMetricsSetting(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "127.0.0.1"}, 201, &g)
		if g.Metrics {
			t.Fatal("a new group exports metrics; want off by default")
		}
		p := "/api/v1/groups/" + g.ID
		alice.mustJSON("PUT", p+"/shares/bob", map[string]any{"role": "editor"}, 200, nil)
		alice.mustJSON("PUT", p+"/shares/carol", map[string]any{"role": "viewer"}, 200, nil)

		var patched group
		bob.mustJSON("PATCH", p, map[string]any{"metrics": true}, 200, &patched)
		if !patched.Metrics {
			t.Fatalf("after an editor's PATCH metrics=true: %+v", patched)
		}
		carol.mustError("PATCH", p, map[string]any{"metrics": false}, 403, "forbidden", "")
		alice.mustError("PATCH", p, map[string]any{"metrics": "yes"}, 400, "invalid", "metrics")
		alice.mustJSON("GET", p, nil, 200, &patched)
		if !patched.Metrics {
			t.Fatal("metrics=true did not persist (or a refused request changed it)")
		}
		alice.mustJSON("PUT", p, map[string]any{"name": "g", "metrics": false}, 200, &patched)
		if patched.Metrics {
			t.Fatal("a repeated PUT with metrics=false left it on")
		}
		var created group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "h", "metrics": true}, 201, &created)
		if !created.Metrics {
			t.Fatal("POST with metrics=true made a group without metrics")
		}
	})
}

// idleFeed delivers nothing: the test hands the exporter results itself.
type idleFeed struct{}

func (idleFeed) Follow(string) error                            { return nil }
func (idleFeed) Unfollow(string)                                {}
func (idleFeed) Run(ctx context.Context, _ func([]ping.Result)) { <-ctx.Done() }

// /metrics/targets names target addresses: without --metrics-targets-public it needs
// credentials and shows each user the exported groups they may see.
func TestTargetMetricsEndpoint(t *testing.T) {
	// One exporter per env (the databases' envs may run at once), by store.
	var mu sync.Mutex
	exporters := map[*store.Store]*targetmetrics.Exporter{}
	newExporter := func(st *store.Store) api.TargetMetrics {
		mu.Lock()
		defer mu.Unlock()
		exporters[st] = targetmetrics.New(st, idleFeed{}, logger(nil))
		return exporters[st]
	}
	// setUp makes alice's exported group (127.0.0.1), bob's (127.0.0.2) and alice's
	// quiet one (127.0.0.3), and one result for each target.
	setUp := func(t *testing.T, e *env) (alice *client) {
		mu.Lock()
		exp := exporters[e.store]
		mu.Unlock()
		alice, bob := e.user("alice"), e.user("bob")
		var a, b, quiet group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "a", "targets": "127.0.0.1", "metrics": true}, 201, &a)
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "b", "targets": "127.0.0.2", "metrics": true}, 201, &b)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "quiet", "targets": "127.0.0.3"}, 201, &quiet)
		if err := exp.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		var rs []ping.Result
		for _, g := range []group{a, b, quiet} {
			rs = append(rs, ping.Result{TargetID: g.Targets[0].ID, GroupID: g.ID, Location: "local", SentAt: time.Now(), OK: true, RTT: time.Millisecond})
		}
		exp.Observe(rs)
		return alice
	}
	scrape := func(t *testing.T, c *client) string {
		t.Helper()
		status, body, _ := c.do("GET", "/metrics/targets", nil)
		if status != 200 {
			t.Fatalf("GET /metrics/targets: %d %s", status, body)
		}
		return string(body)
	}
	shows := func(t *testing.T, who, body string, want map[string]bool) {
		t.Helper()
		for ip, shown := range want {
			if got := strings.Contains(body, `smokeping_requests_total{group=`) && strings.Contains(body, `ip="`+ip+`"`); got != shown {
				t.Errorf("%s: %s shown = %v, want %v\n%s", who, ip, got, shown, body)
			}
		}
	}

	eachEnv(t, options{targetMetrics: newExporter}, func(t *testing.T, e *env) {
		alice := setUp(t, e)
		e.anon().mustError("GET", "/metrics/targets", nil, 401, "unauthenticated", "")

		var tok struct{ Token string }
		alice.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "prometheus"}, 201, &tok)
		scraper := e.anon()
		scraper.header.Set("Authorization", "Bearer "+tok.Token)
		shows(t, "alice's token", scrape(t, scraper), map[string]bool{"127.0.0.1": true, "127.0.0.2": false, "127.0.0.3": false})
		shows(t, "admin", scrape(t, e.login("admin")), map[string]bool{"127.0.0.1": true, "127.0.0.2": true, "127.0.0.3": false})
	})

	t.Run("public", func(t *testing.T) {
		e := newEnv(t, sqliteDSN(t), options{targetMetrics: newExporter, targetMetricsPublic: true})
		setUp(t, e)
		shows(t, "anonymous", scrape(t, e.anon()), map[string]bool{"127.0.0.1": true, "127.0.0.2": true, "127.0.0.3": false})
	})
}
