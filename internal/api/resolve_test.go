package api_test

import (
	"context"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// TestAddRefusesNamesThatDoNotResolve: a hostname with no address is skipped with
// its reason on every way targets are added, unless the request insists; a name that
// resolves gets its address at once. Uses the machine's real resolver.
func TestAddRefusesNamesThatDoNotResolve(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		const bad = "no-such-host.invalid"
		input := "127.0.0.1\nlocalhost\n" + bad

		// POST /groups
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": input}, 201, &g)
		if len(g.Targets) != 2 || g.Targets[1].Address != "localhost" || g.Targets[1].IP == nil || *g.Targets[1].IP != "127.0.0.1" {
			t.Fatalf("targets %+v, want 127.0.0.1 and localhost resolved to 127.0.0.1", g.Targets)
		}
		mustSkip(t, g.Skipped, bad, "does not resolve: no such host")

		// POST /groups/{id}/targets, then again insisting
		var res addResult
		alice.mustJSON("POST", "/api/v1/groups/"+g.ID+"/targets", map[string]any{"targets": bad}, 200, &res)
		if len(res.Added) != 0 {
			t.Fatalf("added %+v without allow_unresolved", res.Added)
		}
		mustSkip(t, res.Skipped, bad, "does not resolve: no such host")
		alice.mustJSON("POST", "/api/v1/groups/"+g.ID+"/targets", map[string]any{"targets": bad, "allow_unresolved": true}, 200, &res)
		if len(res.Added) != 1 || res.Added[0].Address != bad || res.Added[0].Unresolved != "no such host" || res.Added[0].IP != nil || len(res.Skipped) != 0 {
			t.Fatalf("insisting: added %+v skipped %+v; want it added and marked unresolved", res.Added, res.Skipped)
		}
		var fetched group
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &fetched)
		if len(fetched.Targets) != 3 || fetched.Targets[2].Unresolved != "" {
			t.Fatalf("GET %+v: want 3 targets, none marked (the mark is for the adding answer only)", fetched.Targets)
		}

		// PUT /groups/{id}: creating, and repeating with a new name to add
		id := "7d4e3c10-58a1-4c52-9f0c-2b1b9c1d6e01"
		var put group
		alice.mustJSON("PUT", "/api/v1/groups/"+id, map[string]any{"name": "p", "targets": input}, 201, &put)
		if len(put.Targets) != 2 {
			t.Fatalf("PUT created %+v", put.Targets)
		}
		mustSkip(t, put.Skipped, bad, "does not resolve")
		put = group{}
		alice.mustJSON("PUT", "/api/v1/groups/"+id, map[string]any{"targets": input, "allow_unresolved": true}, 200, &put)
		if len(put.Targets) != 3 || len(put.Skipped) != 0 {
			t.Fatalf("PUT insisting: targets %+v skipped %+v", put.Targets, put.Skipped)
		}
		for _, tg := range put.Targets {
			if (tg.Address == bad) != (tg.Unresolved == "no such host") {
				t.Errorf("PUT insisting: %+v", tg)
			}
		}
	})
}

// TestAddRefusesNamesThatResolveToRefusedAddresses: the target policy applies after
// DNS, and insisting does not get past it.
func TestAddRefusesNamesThatResolveToRefusedAddresses(t *testing.T) {
	deny := groups.TargetPolicy{Deny: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	eachEnv(t, options{policy: deny}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "localhost", "allow_unresolved": true}, 201, &g)
		if len(g.Targets) != 0 {
			t.Fatalf("added %+v", g.Targets)
		}
		mustSkip(t, g.Skipped, "localhost", "--deny-targets")
	})
}

// TestReportAndPruneCountErrorsApart: probes that never left are errors in the report
// (not sent, not loss) and in the samples; prune still offers a name that never resolves.
func TestReportAndPruneCountErrorsApart(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g", "targets": "192.0.2.1 192.0.2.2 nope.invalid", "allow_unresolved": true}, 201, &g)
		mixed, healthy, unresolved := g.Targets[0], g.Targets[1], g.Targets[2]
		now := time.Now()
		var rs []ping.Result
		for i := range 60 {
			at := now.Add(-time.Duration(60-i) * time.Second)
			m := ping.Result{TargetID: mixed.ID, SentAt: at, OK: true, RTT: time.Millisecond}
			switch i % 4 {
			case 1:
				m = ping.Result{TargetID: mixed.ID, SentAt: at, Err: ping.ErrTimeout}
			case 2:
				m = ping.Result{TargetID: mixed.ID, SentAt: at, Err: "send: sendto: network is unreachable"}
			}
			rs = append(rs, m,
				ping.Result{TargetID: healthy.ID, SentAt: at, OK: true, RTT: time.Millisecond},
				ping.Result{TargetID: unresolved.ID, SentAt: at, Err: "resolve nope.invalid: lookup nope.invalid: no such host"})
		}
		if err := e.store.WriteResults(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		var r struct {
			Summary reportStats `json:"summary"`
			Targets []struct {
				Address string `json:"address"`
				reportStats
			} `json:"targets"`
		}
		from := now.Add(-2 * time.Minute).Unix()
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/report?range=3m&from="+strconv.FormatInt(from, 10), nil, 200, &r)
		m, u := r.Targets[0], r.Targets[2]
		if m.Sent != 45 || m.Received != 30 || m.Errors != 15 || m.LossPct == nil || math.Abs(*m.LossPct-100.0/3) > 1e-9 {
			t.Fatalf("mixed target %+v (loss %v); want sent 45, received 30, errors 15, loss 33.3 %%", m, deref(m.LossPct))
		}
		if u.Sent != 0 || u.Errors != 60 || u.LossPct != nil || u.SuccessRate != nil {
			t.Fatalf("unresolved target %+v; want sent 0, errors 60, no loss figure", u)
		}
		if s := r.Summary; s.Sent != 105 || s.Received != 90 || s.Errors != 75 {
			t.Fatalf("summary %+v; want sent 105, received 90, errors 75", s)
		}

		var samples struct {
			Samples []struct {
				OK   bool    `json:"ok"`
				Sent bool    `json:"sent"`
				Err  *string `json:"err"`
			} `json:"samples"`
		}
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID+"/targets/"+mixed.ID+"/samples?limit=4&from="+strconv.FormatInt(now.Add(-time.Minute).Add(-time.Second).Unix(), 10), nil, 200, &samples)
		var kinds []string
		for _, s := range samples.Samples {
			k := "ok"
			if s.Err != nil {
				k = *s.Err
			}
			if s.Sent == (k == "send failed") {
				t.Errorf("sample %+v: sent must be false exactly for the probe that never left", s)
			}
			kinds = append(kinds, k)
		}
		if strings.Join(kinds, ",") != "ok,timeout,send failed,ok" {
			t.Fatalf("samples %v, want ok,timeout,send failed,ok", kinds)
		}

		var prune struct {
			Targets []struct {
				Address string  `json:"address"`
				Sent    int64   `json:"sent"`
				Errors  int64   `json:"errors"`
				Loss    float64 `json:"loss"`
			} `json:"targets"`
		}
		alice.mustJSON("POST", "/api/v1/groups/"+g.ID+"/prune", map[string]any{"action": "remove", "dry_run": true}, 200, &prune)
		if len(prune.Targets) != 1 || prune.Targets[0].Address != "nope.invalid" || prune.Targets[0].Sent != 0 || prune.Targets[0].Errors != 60 || prune.Targets[0].Loss != 1 {
			t.Fatalf("prune offers %+v; want only the name that never resolved (sent 0, errors 60)", prune.Targets)
		}
	})
}

func mustSkip(t *testing.T, skipped []skipped, input, reason string) {
	t.Helper()
	for _, s := range skipped {
		if s.Input == input {
			if !strings.Contains(s.Reason, reason) {
				t.Fatalf("%s skipped as %q, want %q in the reason", input, s.Reason, reason)
			}
			return
		}
	}
	t.Fatalf("%s not in skipped %+v", input, skipped)
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
