package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	c := e.anon()
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, raw, _ := c.do("GET", path, nil); status != 200 {
			t.Fatalf("%s: %d %s", path, status, raw)
		}
	}
	e.login("admin").mustJSON("GET", "/api/v1/me", nil, 200, nil)
	status, raw, _ := c.do("GET", "/metrics", nil)
	body := string(raw)
	if status != 200 || !strings.Contains(body, `pingdeck_http_requests_total{code="200",method="GET",route="/api/v1/me"} 1`) ||
		!strings.Contains(body, `pingdeck_http_request_duration_seconds_count{method="GET",route="/api/v1/me"} 1`) {
		t.Fatalf("/metrics lacks the HTTP metrics: %d\n%.2000s", status, body)
	}
	status, raw, resp := c.do("GET", "/api/v1/openapi.yaml", nil)
	if status != 200 || !strings.HasPrefix(string(raw), "openapi:") || !strings.Contains(resp.Header.Get("Content-Type"), "yaml") {
		t.Fatalf("openapi.yaml: %d %s %.100s", status, resp.Header.Get("Content-Type"), raw)
	}
}

func TestReadyzFailsWhenDatabaseIsDown(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{ready: func(context.Context) error { return errors.New("database unreachable") }})
	e.anon().mustError("GET", "/readyz", nil, 503, "unavailable", "")
	if status, _, _ := e.anon().do("GET", "/healthz", nil); status != 200 {
		t.Fatal("healthz must only say the process is up")
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	c := e.login("admin")
	c.mustError("GET", "/api/v1/nope", nil, 404, "not_found", "")
	c.mustError("POST", "/api/v1/nope", `{}`, 404, "not_found", "")
	c.mustError("DELETE", "/api/v1/users", nil, 405, "method_not_allowed", "")
	status, raw, _ := c.do("GET", "/", nil)
	if status != 200 || !strings.Contains(string(raw), "pingdeck") {
		t.Fatalf("the dashboard is not served at /: %d", status)
	}
}

func TestCrossOriginWritesRefused(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{origin: []string{"https://ops.example"}})
	c := e.login("admin")
	c.header.Set("Origin", "https://evil.example")
	c.header.Set("Sec-Fetch-Site", "cross-site")
	c.mustError("POST", "/api/v1/groups", map[string]any{"name": "csrf"}, 403, "forbidden", "")
	c.mustError("DELETE", "/api/v1/tokens/"+zeroID, nil, 403, "forbidden", "")
	c.mustJSON("GET", "/api/v1/groups", nil, 200, nil) // reads are harmless
	c.header.Set("Origin", "https://ops.example")
	c.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "allowed origin"}, 201, nil)
	c.header.Set("Origin", e.srv.URL)
	c.header.Set("Sec-Fetch-Site", "same-origin")
	c.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "same origin"}, 201, nil)
}
