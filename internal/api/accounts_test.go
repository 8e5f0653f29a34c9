package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestEveryAPIRouteNeedsAuth(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	anon := e.anon()
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/me"}, {"GET", "/api/v1/users"}, {"POST", "/api/v1/users"},
		{"GET", "/api/v1/tokens"}, {"POST", "/api/v1/tokens"}, {"DELETE", "/api/v1/tokens/" + zeroID},
		{"GET", "/api/v1/groups"}, {"POST", "/api/v1/groups"}, {"GET", "/api/v1/groups/" + zeroID},
		{"PUT", "/api/v1/groups/" + zeroID}, {"PATCH", "/api/v1/groups/" + zeroID}, {"DELETE", "/api/v1/groups/" + zeroID},
		{"POST", "/api/v1/groups/" + zeroID + "/targets"}, {"PATCH", "/api/v1/groups/" + zeroID + "/targets/" + zeroID},
		{"DELETE", "/api/v1/groups/" + zeroID + "/targets/" + zeroID}, {"POST", "/api/v1/groups/" + zeroID + "/prune"},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			anon.in(t).mustError(r.method, r.path, `{"name":"x"}`, 401, "unauthenticated", "")
		})
	}
	anon.bearer = "pdk_not-a-real-token"
	anon.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
	anon.bearer = ""
	anon.header.Set("Authorization", "Basic YWRtaW46eA==")
	e2 := anon.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
	if !strings.Contains(e2.Error.Message, "Bearer") {
		t.Fatalf("a non-bearer Authorization header should say what is expected: %s", e2.Error.Message)
	}
}

func TestLoginLogout(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		c := e.anon()
		c.mustError("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "wrong"}, 401, "unauthenticated", "")
		c.mustError("POST", "/api/v1/auth/login", map[string]string{"username": "admin"}, 400, "invalid", "password")

		status, raw, resp := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword})
		if status != 200 {
			t.Fatalf("login: %d %s", status, raw)
		}
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "pingdeck_session" {
				cookie = ck
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" {
			t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, not Secure over plain HTTP, Path=/", cookie)
		}
		var me struct {
			Username string `json:"username"`
			IsAdmin  bool   `json:"is_admin"`
		}
		c.mustJSON("GET", "/api/v1/me", nil, 200, &me)
		if me.Username != "admin" || !me.IsAdmin {
			t.Fatalf("me = %+v", me)
		}

		// A second login rotates the session: the old cookie stops working.
		stale := e.anon()
		stale.http.Jar.SetCookies(resp.Request.URL, []*http.Cookie{cookie})
		c.mustJSON("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword}, 200, nil)
		stale.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
		c.mustJSON("GET", "/api/v1/me", nil, 200, nil)

		if status, raw, _ := c.do("POST", "/api/v1/auth/logout", nil); status != 204 {
			t.Fatalf("logout: %d %s", status, raw)
		}
		c.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
		// Signing out with a dead cookie still clears it.
		if status, _, resp := stale.do("POST", "/api/v1/auth/logout", nil); status != 204 || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
			t.Fatalf("logout with a stale cookie: %d %+v", status, resp.Cookies())
		}
	})
}

func TestLoginRateLimited(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	c := e.anon()
	for range 5 {
		c.mustError("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "guess"}, 401, "unauthenticated", "")
	}
	status, raw, resp := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword})
	if status != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "rate_limited") {
		t.Fatalf("after 5 failures: %d %s Retry-After=%q; want 429 rate_limited with Retry-After", status, raw, resp.Header.Get("Retry-After"))
	}
}

func TestUsers(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		admin := e.login("admin")
		bob := e.user("bob")
		bob.mustError("POST", "/api/v1/users", map[string]any{"username": "eve", "password": "eve-pass-1"}, 403, "forbidden", "")
		admin.mustError("POST", "/api/v1/users", map[string]any{"username": "bob", "password": "another-pass"}, 409, "conflict", "username")
		admin.mustError("POST", "/api/v1/users", map[string]any{"username": "x y", "password": "another-pass"}, 400, "invalid", "username")
		admin.mustError("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "short"}, 400, "invalid", "password")
		admin.mustError("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "long-enough", "role": "god"}, 400, "invalid", "role")

		var list struct {
			Users []struct {
				Username     string `json:"username"`
				PasswordHash string `json:"password_hash"`
			} `json:"users"`
		}
		bob.mustJSON("GET", "/api/v1/users", nil, 200, &list)
		if len(list.Users) != 2 || list.Users[0].Username != "admin" || list.Users[1].Username != "bob" {
			t.Fatalf("users = %+v", list.Users)
		}
		if _, raw, _ := bob.do("GET", "/api/v1/users", nil); strings.Contains(string(raw), "$2a$") {
			t.Fatal("user list leaks password hashes")
		}
	})
}

func TestAPITokens(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		var tok struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}
		alice.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "grafana", "expires_in": "24h"}, 201, &tok)
		if !strings.HasPrefix(tok.Token, "pdk_") {
			t.Fatalf("token = %q", tok.Token)
		}
		alice.mustError("POST", "/api/v1/tokens", map[string]any{"name": ""}, 400, "invalid", "name")
		alice.mustError("POST", "/api/v1/tokens", map[string]any{"name": "x", "expires_in": "-1h"}, 400, "invalid", "expires_in")

		_, raw, _ := alice.do("GET", "/api/v1/tokens", nil)
		if !strings.Contains(string(raw), "grafana") || strings.Contains(string(raw), tok.Token) {
			t.Fatalf("token list must name the token and never show it again: %s", raw)
		}

		bearer := e.anon()
		bearer.bearer = tok.Token
		var me struct{ Username string }
		bearer.mustJSON("GET", "/api/v1/me", nil, 200, &me)
		if me.Username != "alice" {
			t.Fatalf("bearer user = %q", me.Username)
		}
		bearer.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "via token"}, 201, nil)

		e.user("bob").mustError("DELETE", "/api/v1/tokens/"+tok.ID, nil, 404, "not_found", "")
		alice.mustError("DELETE", "/api/v1/tokens/not-a-uuid", nil, 400, "invalid", "token_id")
		if status, _, _ := alice.do("DELETE", "/api/v1/tokens/"+tok.ID, nil); status != 204 {
			t.Fatalf("revoke: %d", status)
		}
		bearer.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
	})
}
