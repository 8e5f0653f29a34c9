package api_test

import (
	"strings"
	"testing"
)

// TestBearerSchemeIsCaseInsensitive: RFC 7235 makes the auth scheme case-insensitive.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	var tok struct{ Token string }
	e.login("admin").mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "ci"}, 201, &tok)
	for _, h := range []string{"Bearer " + tok.Token, "bearer " + tok.Token, "BEARER " + tok.Token, "bEaReR  " + tok.Token} {
		c := e.anon()
		c.header.Set("Authorization", h)
		c.mustJSON("GET", "/api/v1/me", nil, 200, nil)
	}
	for _, h := range []string{"Bearer", "bearer ", "Bearerx " + tok.Token, "Basic " + tok.Token, "bearer " + tok.Token + "x"} {
		c := e.anon()
		c.header.Set("Authorization", h)
		c.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
	}
}

// TestTokenLifetimeOverflow: expires_in out of range says which way, naming the field;
// values beyond what a duration holds are too large, not wrapped around to negative.
func TestTokenLifetimeOverflow(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	admin := e.login("admin")
	tests := []struct {
		expiresIn string
		want      string // in the message; "" when accepted
	}{
		{`1e30`, "at most 87600h (10 years)"},
		{`1e400`, "at most 87600h (10 years)"},
		{`"100000000000h"`, "at most 87600h (10 years)"},
		{`315360000001`, "at most 87600h (10 years)"},
		{`"87601h"`, "at most 87600h (10 years)"},
		{`-1e30`, "must be positive"},
		{`"-100000000000h"`, "must be positive"},
		{`-1`, "must be positive"},
		{`0`, "must be positive"},
		{`"0s"`, "must be positive"},
		{`0.5`, "at least 1s"},
		{`"999ms"`, "at least 1s"},
		{`"soon"`, "must be a duration"},
		{`true`, "must be a duration"},
		{`1000`, ""},
		{`1500.5`, ""},
		{`315360000000`, ""},
		{`"87600h"`, ""},
		{`null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.expiresIn, func(t *testing.T) {
			body := `{"name":"t","expires_in":` + tt.expiresIn + `}`
			if tt.want == "" {
				admin.in(t).mustJSON("POST", "/api/v1/tokens", body, 201, nil)
				return
			}
			got := admin.in(t).mustError("POST", "/api/v1/tokens", body, 400, "invalid", "expires_in")
			if !strings.Contains(got.Error.Message, tt.want) {
				t.Fatalf("message %q does not say %q", got.Error.Message, tt.want)
			}
		})
	}
}
