package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"pingdeck/internal/notify"
)

// signedReceiver records the bodies whose signature verifies with secret.
type signedReceiver struct {
	secret string
	mu     sync.Mutex
	signed int
}

func (r *signedReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if !notify.VerifySignature(r.secret, body, req.Header.Get(notify.SignatureHeader)) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.signed++
	r.mu.Unlock()
}

// TestChannelSecretsAreWriteOnly: no response carries the secret; an update without
// one keeps it (the test send is still signed with it).
func TestChannelSecretsAreWriteOnly(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		const secret = "a-signing-secret-nobody-reads"
		rc := &signedReceiver{secret: secret}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		admin := e.login("admin").in(t)
		var ch struct {
			ID        string `json:"id"`
			SecretSet bool   `json:"secret_set"`
		}
		admin.mustJSON("POST", "/api/v1/channels", map[string]any{"kind": "webhook", "name": "ops",
			"config": map[string]any{"url": srv.URL + "/hook"}, "secret": secret}, 201, &ch)
		if !ch.SecretSet {
			t.Fatalf("secret_set false after create")
		}
		admin.mustJSON("PATCH", "/api/v1/channels/"+ch.ID, map[string]any{"name": "ops renamed"}, 200, nil)
		for _, p := range []string{"/api/v1/channels", "/api/v1/channels/" + ch.ID} {
			_, body, _ := admin.do("GET", p, nil)
			if strings.Contains(string(body), secret) || !strings.Contains(string(body), `"secret_set":true`) {
				t.Fatalf("GET %s = %s; want secret_set true and no secret", p, body)
			}
		}
		var d struct {
			Status    string `json:"status"`
			LastError string `json:"last_error"`
		}
		admin.mustJSON("POST", "/api/v1/channels/"+ch.ID+"/test", nil, 200, &d)
		if d.Status != "sent" || rc.signed != 1 {
			t.Fatalf("test send: %+v, %d signed requests; want sent, signed with the kept secret", d, rc.signed)
		}
		var log struct {
			Deliveries []struct {
				Status string `json:"status"`
				Test   bool   `json:"test"`
				Log    []any  `json:"log"`
			} `json:"deliveries"`
		}
		admin.mustJSON("GET", "/api/v1/channels/"+ch.ID+"/deliveries", nil, 200, &log)
		if len(log.Deliveries) != 1 || !log.Deliveries[0].Test || log.Deliveries[0].Status != "sent" || len(log.Deliveries[0].Log) != 1 {
			t.Fatalf("deliveries = %+v; want the one test delivery, sent", log)
		}
	})
}

// TestChannelBadInput: refused with the field named and nothing stored; non-admins may
// not point channels at loopback or link-local addresses.
func TestChannelBadInput(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		bob := e.user("bob").in(t)
		tests := []struct {
			name   string
			body   map[string]any
			field  string
			reason string
		}{
			{"loopback", map[string]any{"kind": "webhook", "name": "x", "config": map[string]any{"url": "http://127.0.0.1:8080/x"}, "secret": "0123456789abcdef"}, "config.url", "loopback"},
			{"metadata", map[string]any{"kind": "alertmanager", "name": "x", "config": map[string]any{"url": "http://169.254.169.254/"}}, "config.url", "link-local"},
			{"slack at localhost", map[string]any{"kind": "slack", "name": "x", "secret": "http://[::1]:9/hook"}, "secret", "loopback"},
			{"smtp at loopback", map[string]any{"kind": "email", "name": "x", "config": map[string]any{"host": "127.0.0.1", "port": 25, "from": "a@example.com", "to": []string{"b@example.com"}}}, "config.host", "loopback"},
			{"not a url", map[string]any{"kind": "webhook", "name": "x", "config": map[string]any{"url": "hooks.example.com"}, "secret": "0123456789abcdef"}, "config.url", "http"},
			{"no secret", map[string]any{"kind": "webhook", "name": "x", "config": map[string]any{"url": "http://192.0.2.1/"}}, "secret", "secret"},
			{"no name", map[string]any{"kind": "webhook", "config": map[string]any{"url": "http://192.0.2.1/"}}, "name", ""},
			{"bad kind", map[string]any{"kind": "pager", "name": "x"}, "kind", ""},
			{"bad email", map[string]any{"kind": "email", "name": "x", "config": map[string]any{"host": "192.0.2.1", "port": 25, "from": "nobody", "to": []string{"b@example.com"}}}, "config.from", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := bob.in(t).mustError("POST", "/api/v1/channels", tt.body, 400, "invalid", tt.field)
				if !strings.Contains(got.Error.Message, tt.reason) {
					t.Fatalf("message %q does not say %q", got.Error.Message, tt.reason)
				}
			})
		}
		var list struct{ Channels []any }
		bob.mustJSON("GET", "/api/v1/channels", nil, 200, &list)
		if len(list.Channels) != 0 {
			t.Fatalf("refused channels were stored: %v", list.Channels)
		}
	})
}

// TestGroupChannels: a group's channels are managed by those who may edit the group;
// viewers get 403, strangers 404.
func TestGroupChannels(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob, carol, dave := e.user("alice").in(t), e.user("bob").in(t), e.user("carol").in(t), e.user("dave").in(t)
		var g struct{ ID string }
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "core"}, 201, &g)
		alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/bob", map[string]any{"role": "editor"}, 200, nil)
		alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/carol", map[string]any{"role": "viewer"}, 200, nil)
		body := map[string]any{"kind": "alertmanager", "name": "am", "group_id": g.ID, "config": map[string]any{"url": "http://192.0.2.10:9093"}}

		var ch struct{ ID string }
		bob.mustJSON("POST", "/api/v1/channels", body, 201, &ch)
		carol.mustError("POST", "/api/v1/channels", body, 403, "forbidden", "")
		dave.mustError("POST", "/api/v1/channels", body, 404, "not_found", "")
		carol.mustError("GET", "/api/v1/channels/"+ch.ID, nil, 403, "forbidden", "")
		dave.mustError("DELETE", "/api/v1/channels/"+ch.ID, nil, 404, "not_found", "")
		var list struct{ Channels []struct{ ID string } }
		alice.mustJSON("GET", "/api/v1/channels", nil, 200, &list)
		if len(list.Channels) != 1 || list.Channels[0].ID != ch.ID {
			t.Fatalf("alice's list = %+v; want the group's channel", list)
		}
		alice.mustError("PATCH", "/api/v1/channels/"+ch.ID, map[string]any{"kind": "webhook"}, 400, "invalid", "kind")
		alice.mustJSON("DELETE", "/api/v1/channels/"+ch.ID, nil, 204, nil)
	})
}
