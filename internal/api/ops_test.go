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

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	var logs strings.Builder
	e := newEnv(t, sqliteDSN(t), options{logs: &logs})
	alice := e.user("alice")
	e.store.Close() // the database goes away under a signed-in user
	got := alice.mustError("GET", "/api/v1/groups", nil, 500, "internal", "")
	if got.Error.Message != "internal error" {
		t.Fatalf("5xx message = %q, want the bare \"internal error\"", got.Error.Message)
	}
	if !strings.Contains(logs.String(), "request failed") || !strings.Contains(logs.String(), "database is closed") {
		t.Fatalf("the cause was not logged:\n%s", logs.String())
	}
}

func TestTrustedProxies(t *testing.T) {
	login := func(e *env, forwardedFor string) (int, bool) {
		c := e.anon()
		c.header.Set("X-Forwarded-Proto", "https")
		c.header.Set("X-Forwarded-For", forwardedFor)
		status, _, resp := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "wrong"})
		if status != 401 {
			return status, false
		}
		status, _, resp = c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword})
		for _, ck := range resp.Cookies() {
			if ck.Name == "pingdeck_session" {
				return status, ck.Secure
			}
		}
		return status, false
	}
	untrusted := newEnv(t, sqliteDSN(t), options{})
	if _, secure := login(untrusted, "192.0.2.1"); secure {
		t.Fatal("an untrusted client's X-Forwarded-Proto made the cookie Secure")
	}
	trusted := newEnv(t, sqliteDSN(t), options{trusted: []string{"127.0.0.1", "::1"}})
	if _, secure := login(trusted, "192.0.2.1"); !secure {
		t.Fatal("behind a trusted TLS proxy the session cookie must be Secure")
	}
	// Behind a trusted proxy, login rate limits apply to the real client address:
	// exhausting one client's attempts leaves another client's alone.
	c := trusted.anon()
	c.header.Set("X-Forwarded-For", "198.51.100.1")
	for range 5 {
		c.mustError("POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "x"}, 401, "unauthenticated", "")
	}
	c.mustError("POST", "/api/v1/auth/login", map[string]string{"username": "someone", "password": "x"}, 429, "rate_limited", "")
	other := trusted.anon()
	other.header.Set("X-Forwarded-For", "198.51.100.2")
	other.mustError("POST", "/api/v1/auth/login", map[string]string{"username": "someone", "password": "x"}, 401, "unauthenticated", "")
}
