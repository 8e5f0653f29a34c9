package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/notify"
)

// fakeResolver answers from a table; "" hosts do not resolve.
type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestChannelValidate(t *testing.T) {
	tests := []struct {
		name      string
		kind      notify.Kind
		config    string
		secret    string
		wantField string
	}{
		{"webhook ok", notify.KindWebhook, `{"url":"https://hooks.example.com/x"}`, "0123456789abcdef", ""},
		{"webhook ftp", notify.KindWebhook, `{"url":"ftp://example.com/"}`, "0123456789abcdef", "config.url"},
		{"webhook no host", notify.KindWebhook, `{"url":"http:///x"}`, "0123456789abcdef", "config.url"},
		{"webhook short secret", notify.KindWebhook, `{"url":"https://example.com/"}`, "short", "secret"},
		{"webhook unknown field", notify.KindWebhook, `{"url":"https://example.com/","uri":"x"}`, "0123456789abcdef", "config"},
		{"slack ok", notify.KindSlack, `{}`, "https://hooks.slack.com/services/T/B/X", ""},
		{"slack no url", notify.KindSlack, `{}`, "", "secret"},
		{"email ok", notify.KindEmail, `{"host":"smtp.example.com","port":587,"from":"a@example.com","to":["b@example.com"]}`, "", ""},
		{"email bad to", notify.KindEmail, `{"host":"smtp.example.com","port":587,"from":"a@example.com","to":["not an address"]}`, "", "config.to[0]"},
		{"email no port", notify.KindEmail, `{"host":"smtp.example.com","from":"a@example.com","to":["b@example.com"]}`, "", "config.port"},
		{"email bad tls", notify.KindEmail, `{"host":"smtp.example.com","port":25,"tls":"maybe","from":"a@example.com","to":["b@example.com"]}`, "", "config.tls"},
		{"email user without password", notify.KindEmail, `{"host":"smtp.example.com","port":25,"username":"u","from":"a@example.com","to":["b@example.com"]}`, "", "secret"},
		{"alertmanager ok", notify.KindAlertmanager, `{"url":"http://am.example:9093"}`, "", ""},
		{"alertmanager bad hold", notify.KindAlertmanager, `{"url":"http://am.example:9093","hold":"forever"}`, "", "config.hold"},
		{"unknown kind", "pager", `{}`, "", "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &notify.Channel{OwnerUserID: "u", Kind: tt.kind, Name: "n", Config: json.RawMessage(tt.config), Secret: tt.secret}
			err := c.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ge *groups.Error
			if !errors.As(err, &ge) || ge.Field != tt.wantField || !errors.Is(err, groups.ErrInvalid) {
				t.Fatalf("Validate = %v; want invalid %s", err, tt.wantField)
			}
		})
	}
}

// TestCheckDestination: non-admins' channels may not point at loopback or link-local
// addresses (by IP or by a name resolving there), nor at names that do not resolve;
// admins' may.
func TestCheckDestination(t *testing.T) {
	r := fakeResolver{
		"hooks.example.com": {netip.MustParseAddr("203.0.113.7")},
		"intranet.example":  {netip.MustParseAddr("10.1.2.3")},
		"sneaky.example":    {netip.MustParseAddr("203.0.113.8"), netip.MustParseAddr("127.0.0.1")},
		"metadata.example":  {netip.MustParseAddr("169.254.169.254")},
	}
	tests := []struct {
		url, secret string
		kind        notify.Kind
		admin       bool
		wantReason  string
	}{
		{"https://hooks.example.com/x", "", notify.KindWebhook, false, ""},
		{"http://intranet.example/x", "", notify.KindWebhook, false, ""},
		{"http://127.0.0.1:9093", "", notify.KindAlertmanager, false, "loopback"},
		{"http://[::1]/", "", notify.KindWebhook, false, "loopback"},
		{"http://[::ffff:127.0.0.1]/", "", notify.KindWebhook, false, "loopback"},
		{"http://sneaky.example/", "", notify.KindWebhook, false, "loopback"},
		{"http://metadata.example/latest", "", notify.KindWebhook, false, "link-local"},
		{"http://[fe80::1]/", "", notify.KindWebhook, false, "link-local"},
		{"http://0.0.0.0/", "", notify.KindWebhook, false, "unspecified"},
		{"", "http://127.0.0.1/slack", notify.KindSlack, false, "loopback"},
		{"http://nowhere.example/", "", notify.KindWebhook, false, "does not resolve"},
		{"http://127.0.0.1:9093", "", notify.KindAlertmanager, true, ""},
		{"http://nowhere.example/", "", notify.KindWebhook, true, "does not resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.url+tt.secret, func(t *testing.T) {
			secret, config := "0123456789abcdef", `{"url":"`+tt.url+`"}`
			if tt.kind == notify.KindSlack {
				secret, config = tt.secret, `{}`
			}
			c := &notify.Channel{OwnerUserID: "u", Kind: tt.kind, Name: "n", Config: json.RawMessage(config), Secret: secret, AllowInternal: tt.admin}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			err := notify.CheckDestination(context.Background(), r, c)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, groups.ErrInvalid) || !strings.Contains(err.Error(), tt.wantReason) {
				t.Fatalf("CheckDestination = %v; want refused naming %q", err, tt.wantReason)
			}
		})
	}
}

// TestSendRefusesInternalAddresses: a non-admin channel that got past the check (DNS
// changed since) is refused when it dials, and the receiver hears nothing.
func TestSendRefusesInternalAddresses(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	s := sqliteStore(t)
	ch := newChannel(t, s, notify.KindWebhook, `{"url":"`+srv.URL+`"}`, "0123456789abcdef", false)
	d := notify.NewDispatcher(s, notify.Options{})
	del, err := d.SendTest(context.Background(), ch, firing("x", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if del.Status != notify.StatusFailed || !strings.Contains(del.LastError, "internal address") || hits != 0 {
		t.Fatalf("test send: %s %q, receiver hit %d times; want refused at dial time", del.Status, del.LastError, hits)
	}
	if logs := deliveries(t, s, ch.ID); len(logs) != 1 || logs[0].Status != notify.StatusFailed || len(logs[0].Log) != 1 {
		t.Fatalf("delivery log %+v; want the test delivery, failed once", logs)
	}
}

// TestSlack: a Slack-compatible receiver gets {"text": …} with a mrkdwn block.
func TestSlack(t *testing.T) {
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	s := sqliteStore(t)
	ch := newChannel(t, s, notify.KindSlack, `{}`, srv.URL+"/services/T/B/X", true)
	d := notify.NewDispatcher(s, notify.Options{})
	del, err := d.SendTest(context.Background(), ch, firing("s", time.Now()))
	if err != nil || del.Status != notify.StatusSent {
		t.Fatalf("test send: %+v %v", del, err)
	}
	m := <-got
	text, _ := m["text"].(string)
	blocks, _ := m["blocks"].([]any)
	if !strings.Contains(text, "[TEST] [FIRING] core down: core/198.18.0.1") || len(blocks) != 1 {
		t.Fatalf("slack message %v", m)
	}
}
