package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pingdeck/internal/notify"
)

// startAlertmanager runs Debian's Alertmanager on a free loopback port with a temp
// config and storage, clustering off, routing every alert (resolves too) to the
// webhook receiver at hook; it returns its base URL once it is ready.
func startAlertmanager(t *testing.T, hook string) string {
	t.Helper()
	bin := binary(t, "prometheus-alertmanager", "alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(`route:
  receiver: hook
  group_by: [alertname, group, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: `+hook+`
        send_resolved: true
`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + itoa(freePort(t))
	start(t, bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	base := "http://" + addr
	waitFor(t, "alertmanager to be ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// amWebhook is what Alertmanager's webhook receiver posts.
type amWebhook struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
		EndsAt time.Time         `json:"endsAt"`
	} `json:"alerts"`
}

type amGotAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

// amAlerts returns GET /api/v2/alerts (active, and with active=false the rest).
func amAlerts(t *testing.T, base, query string) []amGotAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []amGotAlert
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAlertmanagerFiringThenResolved: Alertmanager receives pingdeck's alert and lists
// it as active with its labels; the resolve ends it (endsAt set, no longer active).
func TestAlertmanagerFiringThenResolved(t *testing.T) {
	// What Alertmanager itself sends on: the team's receivers see the resolve.
	sent := make(chan amWebhook, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m amWebhook
		if err := json.NewDecoder(r.Body).Decode(&m); err == nil {
			sent <- m
		}
	}))
	defer hook.Close()
	base := startAlertmanager(t, hook.URL)
	ctx := context.Background()
	s := sqliteStore(t)
	ch := newChannel(t, s, notify.KindAlertmanager, `{"url":"`+base+`/"}`, "", true)
	d := notify.NewDispatcher(s, notify.Options{})

	since := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	n := firing("am1", since)
	if err := d.Enqueue(ctx, []string{ch.ID}, n); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if logs := deliveries(t, s, ch.ID); logs[0].Status != notify.StatusSent {
		t.Fatalf("firing delivery: %+v", logs[0])
	}
	var active []amGotAlert
	waitFor(t, "the alert in GET /api/v2/alerts", func() bool {
		active = amAlerts(t, base, "")
		return len(active) == 1
	})
	a := active[0]
	want := map[string]string{"alertname": "core down", "group": "core", "target": "198.18.0.1", "location": "local", "severity": "critical"}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if a.Status.State != "active" || !a.StartsAt.Equal(since) || a.EndsAt.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("alert %+v; want active since %v, held ~24h", a, since)
	}

	resolvedAt := time.Now().UTC().Truncate(time.Second)
	r := n
	r.ID, r.State, r.ResolvedAt = "am1:resolved", notify.Resolved, resolvedAt
	if err := d.Enqueue(ctx, []string{ch.ID}, r); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the alert to leave the active list", func() bool { return len(amAlerts(t, base, "")) == 0 })
	giveUp := time.After(time.Minute)
	for {
		select {
		case m := <-sent:
			if m.Status != "resolved" {
				continue
			}
			if len(m.Alerts) != 1 || m.Alerts[0].Status != "resolved" || !m.Alerts[0].EndsAt.Equal(resolvedAt) || m.Alerts[0].Labels["target"] != "198.18.0.1" {
				t.Fatalf("Alertmanager's resolve notification %+v; want the alert ended at %v", m, resolvedAt)
			}
			return
		case <-giveUp:
			t.Fatal("Alertmanager sent no resolve notification within a minute")
		}
	}
}
