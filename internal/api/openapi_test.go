package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/api"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/targetmetrics"
)

// loadOpenAPI parses the embedded spec, the bytes the server serves.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	return doc
}

func TestOpenAPISpecIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi version = %q, want 3.0.3", doc.OpenAPI)
	}
	for _, name := range []string{"Group", "Target", "User", "Token", "Skipped", "Error"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components/schemas lacks %s", name)
		}
	}
}

// ginRoutes builds the real route table.
func ginRoutes(t *testing.T) (http.Handler, []string) {
	t.Helper()
	engine, err := api.RouteTable(api.Deps{Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range engine.Routes() {
		out = append(out, r.Method+" "+openAPIPath(r.Path))
	}
	slices.Sort(out)
	return engine, out
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// openAPIPath writes gin's /groups/:id as /groups/{id}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// specOperations lists the spec's operations as "METHOD /path".
func specOperations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[strings.ToUpper(method)+" "+path] = op
		}
	}
	return out
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	_, routes := ginRoutes(t)
	ops := specOperations(doc)
	var missing, extra []string
	for _, r := range routes {
		if ops[r] == nil {
			missing = append(missing, r)
		}
	}
	for op := range ops {
		if !slices.Contains(routes, op) {
			extra = append(extra, op)
		}
	}
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("routes not in openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("openapi.yaml operations that are not routes:\n  %s", strings.Join(extra, "\n  "))
	}
}

// noClientError are the operations that cannot answer a 4xx: they read no input and
// need no authentication. (/readyz answers 503 when the database is down, never 4xx.)
var noClientError = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /api/v1/openapi.yaml",
}

func TestOpenAPIOperationsDeclareErrorsAndSecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	engine, routes := ginRoutes(t)
	ops := specOperations(doc)

	// The security schemes: a session cookie and a bearer token.
	var cookieScheme, bearerScheme string
	for name, ref := range doc.Components.SecuritySchemes {
		switch s := ref.Value; {
		case s.Type == "apiKey" && s.In == "cookie" && s.Name == "pingdeck_session":
			cookieScheme = name
		case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
			bearerScheme = name
		}
	}
	if cookieScheme == "" || bearerScheme == "" {
		t.Fatalf("components/securitySchemes must define the pingdeck_session cookie and a bearer token; have %v", doc.Components.SecuritySchemes)
	}

	for _, key := range routes {
		op := ops[key]
		if op == nil {
			continue // reported by TestOpenAPIMatchesRoutes
		}
		t.Run(key, func(t *testing.T) {
			var codes []string
			for code := range op.Responses.Map() {
				codes = append(codes, code)
			}
			slices.Sort(codes)
			has4xx := slices.ContainsFunc(codes, func(c string) bool { return strings.HasPrefix(c, "4") })
			if !has4xx && !slices.Contains(noClientError, key) {
				t.Errorf("declares no 4xx response (has %v)", codes)
			}
			// 101 is the success of a WebSocket handshake.
			if !slices.ContainsFunc(codes, func(c string) bool { return strings.HasPrefix(c, "2") || c == "101" }) &&
				!slices.Contains(codes, "501") {
				t.Errorf("declares no success response (has %v)", codes)
			}

			// What the spec says about authentication…
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			var schemes []string
			for _, req := range security {
				for name := range req {
					if doc.Components.SecuritySchemes[name] == nil {
						t.Errorf("security names an undefined scheme %q", name)
					}
					schemes = append(schemes, name)
				}
			}
			specAuthed := len(security) > 0

			// …must match what the handler does for a request without credentials.
			method, path, _ := strings.Cut(key, " ")
			path = strings.NewReplacer("{id}", zeroID, "{target_id}", zeroID, "{token_id}", zeroID).Replace(path)
			rec := httptest.NewRecorder()
			engine.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
			codeAuthed := rec.Code == http.StatusUnauthorized

			switch {
			case codeAuthed && !specAuthed:
				t.Errorf("needs authentication (answered 401 without credentials) but the spec has security: []")
			case !codeAuthed && specAuthed:
				t.Errorf("answered %d without credentials, yet the spec requires authentication", rec.Code)
			case specAuthed:
				if !slices.Contains(schemes, cookieScheme) || !slices.Contains(schemes, bearerScheme) {
					t.Errorf("security %v must accept both %s and %s", schemes, cookieScheme, bearerScheme)
				}
				for _, req := range security {
					if len(req) != 1 {
						t.Errorf("security requirement %v must name one scheme (alternatives, not both at once)", req)
					}
				}
				if !slices.Contains(codes, "401") {
					t.Errorf("authenticated operation declares no 401 response (has %v)", codes)
				}
			default:
				if op.Security == nil {
					t.Errorf("unauthenticated operation must say security: [] explicitly")
				}
			}
		})
	}
}

// TestOpenAPIDescribesTheServer drives a real server through every operation, and many
// of their error cases, and checks each response (status, headers, body) against the
// spec, and each request the server accepts against the spec's request schema.
func TestOpenAPIDescribesTheServer(t *testing.T) {
	doc := loadOpenAPI(t)
	doc.Servers = nil // match paths alone
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	e := newEnv(t, sqliteDSN(t), options{sites: true, targetMetrics: func(st *store.Store) api.TargetMetrics {
		return targetmetrics.New(st, idleFeed{}, logger(nil))
	}})
	e.observe = func(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
		checkAgainstSpec(t, router, covered, req, resp, body)
	}
	newClient := func() *specClient { return &specClient{e.anon()} }

	anon := newClient()
	anon.call("GET", "/healthz", nil, 200)
	anon.call("GET", "/readyz", nil, 200)
	anon.call("GET", "/metrics", nil, 200)
	anon.call("GET", "/api/v1/openapi.yaml", nil, 200)
	anon.call("GET", "/api/v1/me", nil, 401)
	anon.call("GET", "/api/v1/ws", nil, 401)
	anon.call("POST", "/api/v1/auth/logout", nil, 204)
	anon.call("POST", "/api/v1/auth/login", map[string]any{"username": "admin"}, 400)
	anon.call("POST", "/api/v1/auth/login", map[string]any{"username": "admin", "password": "wrong"}, 401)

	admin := newClient()
	admin.call("POST", "/api/v1/auth/login", map[string]any{"username": "admin", "password": "admin-password"}, 200)
	admin.call("GET", "/api/v1/me", nil, 200)
	anon.call("GET", "/metrics/targets", nil, 401)
	admin.call("GET", "/metrics/targets", nil, 200)
	admin.call("GET", "/api/v1/ws", nil, 400) // not a handshake
	admin.call("POST", "/api/v1/users", map[string]any{"username": "Bob", "password": "bob-password", "display_name": "Bob"}, 201)
	admin.call("POST", "/api/v1/users", map[string]any{"username": "bob", "password": "bob-password"}, 409)
	admin.call("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "short"}, 400)
	admin.call("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "carol-password", "role": "x"}, 400)
	admin.call("GET", "/api/v1/users", nil, 200)
	bob := newClient()
	bob.call("POST", "/api/v1/auth/login", map[string]any{"username": "bob", "password": "bob-password"}, 200)
	bob.call("POST", "/api/v1/users", map[string]any{"username": "eve", "password": "eve-password"}, 403)

	admin.call("GET", "/api/v1/locations", nil, 200)
	bob.call("GET", "/api/v1/agents", nil, 403)
	var enrolled struct{ Agent struct{ ID string } }
	admin.callJSON("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "fra"}, 201, &enrolled)
	admin.call("POST", "/api/v1/agents", map[string]any{"name": "fra-2", "location": "fra"}, 409)
	admin.call("POST", "/api/v1/agents", map[string]any{"name": "x", "location": "Frankfurt"}, 400)
	admin.call("GET", "/api/v1/agents", nil, 200)
	admin.call("DELETE", "/api/v1/agents/not-a-uuid", nil, 400)
	admin.call("DELETE", "/api/v1/agents/"+enrolled.Agent.ID, nil, 204)
	admin.call("DELETE", "/api/v1/agents/"+enrolled.Agent.ID, nil, 404)

	var tok struct{ ID, Token string }
	admin.callJSON("POST", "/api/v1/tokens", map[string]any{"name": "grafana", "expires_in": "24h"}, 201, &tok)
	admin.call("POST", "/api/v1/tokens", map[string]any{"name": "ci", "expires_in": 60000}, 201)
	admin.call("POST", "/api/v1/tokens", map[string]any{"name": "forever"}, 201)
	admin.call("POST", "/api/v1/tokens", map[string]any{"name": "also forever", "expires_in": nil}, 201)
	admin.call("POST", "/api/v1/tokens", map[string]any{"name": "x", "expires_in": "-1h"}, 400)
	bearer := newClient()
	bearer.bearer = tok.Token
	bearer.call("GET", "/api/v1/me", nil, 200)
	bearer.call("GET", "/api/v1/tokens", nil, 200)
	bob.call("DELETE", "/api/v1/tokens/"+tok.ID, nil, 404)
	admin.call("DELETE", "/api/v1/tokens/not-a-uuid", nil, 400)
	admin.call("DELETE", "/api/v1/tokens/"+tok.ID, nil, 204)
	bearer.call("GET", "/api/v1/me", nil, 401)

	var g struct{ ID string }
	admin.callJSON("POST", "/api/v1/groups", map[string]any{
		"name": "edge", "targets": "192.0.2.1, 2001:db8::1\nrouter1.example.net  # core\n198.51.100.0/30\nfe80::1%eth0\n192.0.2.1",
		"interval": "500ms", "timeout": 300, "packet_size": 100, "visibility": "private", "paused": false,
		"allow_unresolved": true,
	}, 201, &g)
	admin.call("POST", "/api/v1/groups", map[string]any{"name": "empty", "visibility": "public", "locations": []string{"local"}}, 201)
	admin.call("POST", "/api/v1/groups", map[string]any{"name": "far", "locations": []string{"fra"}}, 400)
	admin.call("POST", "/api/v1/groups", map[string]any{"name": "g", "interval": "100ms"}, 400)
	admin.call("POST", "/api/v1/groups", `{"name":"g"} garbage`, 400)
	admin.call("POST", "/api/v1/groups", fmt.Sprintf(`{"name":"g","targets":%q}`, strings.Repeat("192.0.2.1\n", 120_000)), 413)
	admin.call("GET", "/api/v1/groups", nil, 200)
	admin.call("GET", "/api/v1/groups?scope=all", nil, 200)
	admin.call("GET", "/api/v1/groups/"+g.ID, nil, 200)
	admin.call("GET", "/api/v1/groups/nope", nil, 400)
	bob.call("GET", "/api/v1/groups/"+g.ID, nil, 404)
	bob.call("GET", "/api/v1/groups", nil, 200)

	put := "/api/v1/groups/5b1f2f62-3b9e-4c7e-9a51-2f1d8c3e0a77"
	body := map[string]any{"name": "lab", "targets": []string{"192.0.2.10", "192.0.2.11"}, "interval": 1000}
	admin.call("PUT", put, body, 201)
	admin.call("PUT", put, body, 200)
	admin.call("PUT", put, map[string]any{"paused": true}, 200)
	bob.call("PUT", put, body, 409)
	admin.call("PUT", "/api/v1/groups/"+zeroID, map[string]any{"targets": "192.0.2.1"}, 400)

	p := "/api/v1/groups/" + g.ID
	admin.call("PATCH", p, map[string]any{"name": "core", "interval": "2s", "visibility": "public"}, 200)
	admin.call("PATCH", p, map[string]any{"targets": "192.0.2.2"}, 400)
	admin.call("PATCH", p, map[string]any{"locations": []string{"local"}}, 200)
	admin.call("PATCH", p, map[string]any{"locations": []string{}}, 400)
	bob.call("PATCH", p, map[string]any{"name": "mine"}, 403)
	var added struct {
		Added []struct{ ID string }
	}
	admin.callJSON("POST", p+"/targets", map[string]any{"targets": "192.0.2.1\n192.0.2.99\nhttp://example.com"}, 200, &added)
	admin.call("POST", p+"/targets", map[string]any{"targets": []string{}}, 400)
	bob.call("POST", p+"/targets", map[string]any{"targets": "192.0.2.9"}, 403)
	tp := p + "/targets/" + added.Added[0].ID
	admin.call("PATCH", tp, map[string]any{"paused": true}, 200)
	admin.call("PATCH", tp, map[string]any{}, 400)
	bob.call("DELETE", tp, nil, 403)
	admin.call("DELETE", tp, nil, 204)
	admin.call("DELETE", tp, nil, 404)
	admin.call("POST", p+"/prune", map[string]any{"action": "remove", "window": "120s", "min_loss": 1, "dry_run": true}, 200)
	admin.call("POST", p+"/prune", map[string]any{"action": "pause"}, 200)
	admin.call("POST", p+"/prune", map[string]any{"action": "explode"}, 400)
	bob.call("POST", p+"/prune", map[string]any{"action": "pause"}, 403)
	var full struct{ Targets []struct{ ID string } }
	admin.callJSON("GET", p, nil, 200, &full)
	probed := full.Targets[0].ID
	var results []ping.Result
	for i := range 90 {
		r := ping.Result{TargetID: probed, SentAt: time.Now().Add(-time.Duration(90-i) * time.Second), OK: i%3 != 0, RTT: 12 * time.Millisecond}
		if i%9 == 0 { // some probes never left: they are reported as errors
			r.Err = "resolve x.invalid: lookup x.invalid: no such host"
		} else if !r.OK {
			r.Err = ping.ErrTimeout
		}
		results = append(results, r)
	}
	if err := e.store.WriteResults(t.Context(), results); err != nil {
		t.Fatal(err)
	}
	admin.call("GET", p+"/report?range=120s", nil, 200)
	admin.call("POST", p+"/prune", map[string]any{"action": "pause", "min_loss": 0.1, "dry_run": true}, 200)
	admin.call("POST", p+"/prune", map[string]any{"action": "pause", "min_loss": 0.1, "dry_run": true, "location": "local"}, 200)
	admin.call("POST", p+"/targets", map[string]any{"targets": "localhost\nno-such-host.invalid"}, 200)
	bob.call("GET", p+"/report?time_range=1h&step=10m&format=json", nil, 200) // public: a viewer may
	admin.call("GET", p+"/report?range=120s&format=csv", nil, 200)
	admin.call("GET", p+"/report?range=120s&location=local", nil, 200)
	admin.call("GET", p+"/report?range=120s&format=csv&by=location", nil, 200)
	admin.call("GET", p+"/report?range=120s&location=Local", nil, 400)
	admin.call("GET", p+"/report?range=0", nil, 400)
	admin.call("GET", p+"/report?range=120s&from=2999-01-01T00:00:00Z", nil, 400)
	admin.call("GET", p+"/targets/"+probed+"/samples?limit=10", nil, 200)
	admin.call("GET", p+"/targets/"+probed+"/samples?limit=10&location=local", nil, 200)
	admin.call("GET", p+"/targets/"+probed+"/samples?limit=0", nil, 400)
	admin.call("GET", p+"/events?limit=5", nil, 200)
	admin.call("GET", p+"/rules", nil, 200)
	var rule struct{ ID string }
	admin.callJSON("POST", p+"/rules", map[string]any{"name": "down", "state": "down", "for": "1m"}, 201, &rule)
	admin.call("POST", p+"/rules", map[string]any{"name": "down", "state": "up"}, 400)
	admin.call("GET", p+"/alerts", nil, 200)
	if err := e.store.OpenAlert(t.Context(), &store.Alert{ID: uuid.NewString(), RuleID: rule.ID, GroupID: g.ID, StartedAt: time.Now().UTC(), Targets: 1}); err != nil {
		t.Fatal(err)
	}
	admin.call("GET", "/api/v1/alerts?state=firing", nil, 200)
	admin.call("GET", "/api/v1/alerts", nil, 200)
	admin.call("GET", "/api/v1/alerts?state=open", nil, 400)
	admin.call("GET", "/api/v1/groups", nil, 200)
	admin.call("GET", p+"/thresholds", nil, 200)
	admin.call("PUT", p+"/thresholds", map[string]any{"window": 20, "flap_window": "30m", "degraded_rtt_ms": nil}, 200)
	admin.call("PUT", p+"/thresholds", map[string]any{"window": 2}, 400)
	admin.call("PUT", p+"/targets/"+probed+"/thresholds", map[string]any{"degraded_rtt_ms": 80, "rtt_percentile": 95}, 200)
	admin.call("PUT", p+"/targets/"+probed+"/thresholds", map[string]any{"consecutive": 50}, 400)
	admin.call("GET", p+"/thresholds", nil, 200)
	admin.call("DELETE", p+"/targets/"+probed+"/thresholds", nil, 204)
	admin.call("DELETE", p+"/targets/"+probed+"/thresholds", nil, 404)
	admin.call("GET", p+"/silences", nil, 200)
	var silence struct{ ID string }
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	admin.callJSON("POST", p+"/silences", map[string]any{"to": soon, "comment": "router upgrade"}, 201, &silence)
	admin.call("POST", p+"/silences", map[string]any{"from": time.Now().UTC().Format(time.RFC3339), "to": soon, "target_id": probed}, 201)
	admin.call("POST", p+"/silences", map[string]any{"from": soon, "to": soon}, 400)
	admin.call("GET", p+"/silences", nil, 200)
	admin.call("DELETE", p+"/silences/"+silence.ID, nil, 204)
	admin.call("DELETE", p+"/silences/"+silence.ID, nil, 404)
	admin.call("DELETE", p+"/silences/x", nil, 400)
	admin.call("GET", p+"/uptime", nil, 200)
	admin.call("GET", p+"/uptime?location=Local", nil, 400)
	if err := e.store.RecordEvents(t.Context(), []store.TargetEvent{{TargetID: probed, GroupID: g.ID, Location: "local", From: "unknown", To: "up", At: time.Now().Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	admin.call("GET", p+"/statebar?range=24h", nil, 200)
	admin.call("GET", p+"/statebar?range=1y", nil, 400)
	admin.call("GET", p+"/targets/"+probed+"/history?range=24h", nil, 200)
	admin.call("GET", p+"/targets/"+probed+"/history?range=2d", nil, 400)
	admin.call("DELETE", p+"/rules/"+rule.ID, nil, 204)
	admin.call("DELETE", p+"/rules/x", nil, 400)
	admin.call("GET", p+"/events?before=x", nil, 400)
	admin.call("GET", p+"/targets/"+probed+"/events", nil, 200)
	admin.call("GET", p+"/targets/"+probed+"/events?limit=5000", nil, 400)
	admin.call("GET", p+"/targets/"+zeroID+"/samples", nil, 404)

	// Sharing, pins and notifications (the group is public now).
	admin.call("GET", p+"/shares", nil, 200)
	admin.call("PUT", p+"/shares/bob", map[string]any{"role": "viewer"}, 200)
	admin.call("PUT", p+"/shares/bob", map[string]any{"role": "owner"}, 400)
	admin.call("PUT", p+"/shares/admin", map[string]any{"role": "viewer"}, 400)
	admin.call("PUT", p+"/shares/nobody", map[string]any{"role": "editor"}, 404)
	bob.call("PUT", p+"/shares/bob", map[string]any{"role": "editor"}, 403)
	admin.call("GET", p+"/shares", nil, 200)
	bob.call("GET", p+"/shares", nil, 403)
	bob.call("PUT", "/api/v1/me/pins/"+g.ID, nil, 204)
	bob.call("PUT", "/api/v1/me/pins/"+zeroID, nil, 404)
	bob.call("PUT", "/api/v1/me/pins/nope", nil, 400)
	bob.call("GET", "/api/v1/groups?scope=dashboard", nil, 200)
	bob.call("GET", "/api/v1/groups?scope=public", nil, 200)
	bob.call("GET", "/api/v1/groups?scope=mine", nil, 400)
	bob.call("DELETE", "/api/v1/me/pins/"+g.ID, nil, 204)
	bob.call("DELETE", "/api/v1/me/pins/"+zeroID, nil, 404)
	var notes struct{ Notifications []struct{ ID string } }
	bob.callJSON("GET", "/api/v1/notifications", nil, 200, &notes)
	bob.call("GET", "/api/v1/notifications?unread=true", nil, 200)
	bob.call("GET", "/api/v1/notifications?unread=maybe", nil, 400)
	bob.call("POST", "/api/v1/notifications/"+notes.Notifications[0].ID+"/read", nil, 200)
	admin.call("POST", "/api/v1/notifications/"+notes.Notifications[0].ID+"/read", nil, 404)
	admin.call("POST", "/api/v1/notifications/nope/read", nil, 400)
	bob.call("POST", "/api/v1/notifications", map[string]any{"to": "admin", "group_id": g.ID, "message": "look at edge-1"}, 201)
	bob.call("POST", "/api/v1/notifications", map[string]any{"to": "nobody", "group_id": g.ID}, 404)
	bob.call("POST", "/api/v1/notifications", map[string]any{"to": "admin", "group_id": zeroID}, 404)
	bob.call("POST", "/api/v1/notifications", map[string]any{"to": "admin", "group_id": g.ID, "message": strings.Repeat("x", 501)}, 400)
	admin.call("GET", "/api/v1/notifications", nil, 200)
	admin.call("DELETE", p+"/shares/bob", nil, 204)
	admin.call("DELETE", p+"/shares/bob", nil, 404)

	bob.call("DELETE", p, nil, 403)
	admin.call("DELETE", p, nil, 204)
	admin.call("DELETE", p, nil, 404)

	// Passwords: an administrator's reset ends the user's sessions and holds the next
	// one back until the user chooses a new password.
	admin.call("POST", "/api/v1/users", map[string]any{"username": "dave", "password": "dave-password"}, 201)
	dave := newClient()
	dave.call("POST", "/api/v1/auth/login", map[string]any{"username": "dave", "password": "dave-password"}, 200)
	bob.call("PUT", "/api/v1/users/dave/password", map[string]any{"new_password": "temporary-1"}, 403)
	admin.call("PUT", "/api/v1/users/dave/password", map[string]any{"new_password": "short"}, 400)
	admin.call("PUT", "/api/v1/users/nobody/password", map[string]any{"new_password": "temporary-1"}, 404)
	admin.call("PUT", "/api/v1/users/admin/password", map[string]any{"new_password": "temporary-1"}, 400)
	admin.call("PUT", "/api/v1/users/dave/password", map[string]any{"new_password": "temporary-1"}, 204)
	dave.call("GET", "/api/v1/me", nil, 401)
	dave.call("POST", "/api/v1/auth/login", map[string]any{"username": "dave", "password": "temporary-1"}, 200)
	dave.call("GET", "/api/v1/me", nil, 200)
	dave.call("GET", "/api/v1/users", nil, 403)
	dave.call("POST", "/api/v1/me/password", map[string]any{"current_password": "temporary-1", "new_password": "short"}, 400)
	dave.call("POST", "/api/v1/me/password", map[string]any{"current_password": "not-it", "new_password": "dave-password-2"}, 403)
	dave.call("POST", "/api/v1/me/password", map[string]any{"current_password": "temporary-1", "new_password": "dave-password-2"}, 204)
	dave.call("GET", "/api/v1/users", nil, 200)
	// Administrators: the last one keeps the flag.
	bob.call("PATCH", "/api/v1/users/dave", map[string]any{"is_admin": true}, 403)
	admin.call("PATCH", "/api/v1/users/dave", map[string]any{}, 400)
	admin.call("PATCH", "/api/v1/users/nobody", map[string]any{"is_admin": true}, 404)
	admin.call("PATCH", "/api/v1/users/dave", map[string]any{"is_admin": true}, 200)
	admin.call("PATCH", "/api/v1/users/dave", map[string]any{"is_admin": false}, 200)
	admin.call("PATCH", "/api/v1/users/admin", map[string]any{"is_admin": false}, 409)

	admin.call("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "carol-password"}, 201)
	bob.call("POST", "/api/v1/users/carol/unlock", nil, 403)
	admin.call("POST", "/api/v1/users/nobody/unlock", nil, 404)
	admin.call("POST", "/api/v1/users/carol/unlock", nil, 204)
	bob.call("DELETE", "/api/v1/users/carol", nil, 403)
	admin.call("DELETE", "/api/v1/users/admin", nil, 400)
	admin.call("DELETE", "/api/v1/users/nobody", nil, 404)
	admin.call("DELETE", "/api/v1/users/carol", nil, 204)

	// Channels: secrets write-only; loopback receivers only for admins.
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	var ch struct{ ID string }
	hookBody := map[string]any{"kind": "webhook", "name": "ops", "config": map[string]any{"url": hook.URL}, "secret": "0123456789abcdef"}
	admin.callJSON("POST", "/api/v1/channels", hookBody, 201, &ch)
	bob.call("POST", "/api/v1/channels", hookBody, 400)
	admin.call("POST", "/api/v1/channels", map[string]any{"kind": "pager", "name": "x"}, 400)
	admin.call("GET", "/api/v1/channels", nil, 200)
	admin.call("GET", "/api/v1/channels/"+ch.ID, nil, 200)
	admin.call("GET", "/api/v1/channels/nope", nil, 400)
	bob.call("GET", "/api/v1/channels/"+ch.ID, nil, 404)
	admin.call("PATCH", "/api/v1/channels/"+ch.ID, map[string]any{"name": "ops 2"}, 200)
	admin.call("POST", "/api/v1/channels/"+ch.ID+"/test", nil, 200)
	admin.call("GET", "/api/v1/channels/"+ch.ID+"/deliveries", nil, 200)
	bob.call("DELETE", "/api/v1/channels/"+ch.ID, nil, 404)
	admin.call("DELETE", "/api/v1/channels/"+ch.ID, nil, 204)

	evil := newClient()
	evil.header.Set("Origin", "https://evil.example")
	evil.header.Set("Sec-Fetch-Site", "cross-site")
	evil.call("POST", "/api/v1/auth/login", map[string]any{"username": "admin", "password": "admin-password"}, 403)
	admin.header = evil.header
	admin.call("POST", "/api/v1/groups", map[string]any{"name": "csrf"}, 403)
	admin.call("GET", "/api/v1/ws", nil, 403)
	admin.header = http.Header{}
	admin.call("POST", "/api/v1/auth/logout", nil, 204)

	// The client address has failed twice already (admin's "wrong" sign-in, dave's wrong
	// current password); 3 more use up its 5.
	for range 3 {
		anon.call("POST", "/api/v1/auth/login", map[string]any{"username": "mallory", "password": "guess"}, 401)
	}
	anon.call("POST", "/api/v1/auth/login", map[string]any{"username": "mallory", "password": "guess"}, 429)

	for op := range specOperations(loadOpenAPI(t)) {
		if !covered[op] {
			t.Errorf("%s is not exercised by this test", op)
		}
	}
}

// specClient is a test client whose exchanges are checked against the spec.
type specClient struct{ *client }

func (c *specClient) call(method, path string, body any, want int) []byte {
	c.t.Helper()
	status, raw, _ := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s → %d, want %d: %.300s", method, path, status, want, raw)
	}
	return raw
}

func (c *specClient) callJSON(method, path string, body any, want int, out any) {
	c.t.Helper()
	if err := json.Unmarshal(c.call(method, path, body, want), out); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
}

// checkAgainstSpec finds the exchange's operation, marks it covered, and checks the
// response (and, when the server accepted it, the request) against the spec.
func checkAgainstSpec(t *testing.T, router routers.Router, covered map[string]bool, req *http.Request, resp *http.Response, got []byte) {
	t.Helper()
	what := fmt.Sprintf("%s %s → %d", req.Method, req.URL.Path, resp.StatusCode)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s: no operation in openapi.yaml: %v", what, err)
	}
	covered[req.Method+" "+route.Path] = true
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(t.Context(), in); err != nil {
			t.Errorf("%s: the server accepted a request the spec does not allow: %v", what, err)
		}
	}
	err = openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body:    io.NopCloser(bytes.NewReader(got)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		t.Errorf("%s: the response does not match the spec: %v\nbody: %.500s", what, err, got)
	}
}
