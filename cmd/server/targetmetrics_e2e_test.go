//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// debianTool finds a command the Go tests need from a Debian package (make test-deps
// installs them): a failure in CI, a skip elsewhere.
func debianTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if bin, err := exec.LookPath(name); err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (make test-deps installs Debian's %s)", name, pkg)
	}
	t.Skipf("%s is not installed (make test-deps installs Debian's %s)", name, pkg)
	return ""
}

// TestPrometheusScrapesTargetMetrics: Debian's prometheus scrapes /metrics/targets
// with an API token and sees smokeping_requests_total of a loopback target grow, with
// smokeping_prober's labels plus group and location; promtool finds the exposition
// clean; a group that did not opt in is not exported; no token, no metrics.
func TestPrometheusScrapesTargetMetrics(t *testing.T) {
	prometheusBin := debianTool(t, "prometheus", "prometheus")
	promtool := debianTool(t, "promtool", "prometheus")

	dataDir := t.TempDir()
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8"}, "--listen", "127.0.0.1:0")
	c := srv.client()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var lo e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "lo", "interval": "250ms", "targets": "127.0.0.1", "metrics": true}, 201, &lo)
	c.call("POST", "/api/v1/groups", map[string]any{"name": "quiet", "interval": "250ms", "targets": "127.0.0.2"}, 201, nil)
	var tok struct{ Token string }
	c.call("POST", "/api/v1/tokens", map[string]any{"name": "prometheus"}, 201, &tok)

	anon := srv.client()
	if code, _ := anon.status("GET", "/metrics/targets", nil); code != http.StatusUnauthorized {
		t.Fatalf("GET /metrics/targets without a token: %d, want 401", code)
	}

	// The exposition itself: the loopback target once it has results, lint-clean.
	scrape := func() string {
		req, _ := http.NewRequest("GET", "http://"+srv.addr+"/metrics/targets", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /metrics/targets: %d %s", resp.StatusCode, body)
		}
		return string(body)
	}
	var text string
	waitUntil(t, 30*time.Second, "an answered probe of 127.0.0.1 in /metrics/targets", func() bool {
		text = scrape()
		return metricValue(text, "smokeping_response_duration_seconds_count") > 0
	})
	want := `smokeping_requests_total{group="lo",host="127.0.0.1",ip="127.0.0.1",location="local",source=""}`
	if !strings.Contains(text, want) {
		t.Errorf("exposition lacks %s:\n%s", want, text)
	}
	if strings.Contains(text, "127.0.0.2") {
		t.Errorf("a group without metrics is exported:\n%s", text)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(text)
	if out, err := check.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\non:\n%s", err, out, text)
	}

	// Prometheus scraping it every second.
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(tok.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: pingdeck-targets
    metrics_path: /metrics/targets
    authorization:
      credentials_file: %s
    static_configs:
      - targets: [%q]
`, tokenFile, srv.addr)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freeLoopbackAddr(t)
	var promLog lockedBuffer
	prom := exec.Command(prometheusBin, "--config.file="+configFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { prom.Process.Kill(); prom.Wait() }()

	query := func() (float64, map[string]string) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(`smokeping_requests_total{host="127.0.0.1"}`))
		if err != nil {
			return -1, nil // not listening yet
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Data.Result) != 1 {
			return -1, nil
		}
		s, _ := out.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return -1, nil
		}
		return v, out.Data.Result[0].Metric
	}
	var first float64
	var labels map[string]string
	waitUntil(t, 60*time.Second, "prometheus to have scraped smokeping_requests_total", func() bool {
		first, labels = query()
		return first > 0
	})
	for name, want := range map[string]string{"job": "pingdeck-targets", "group": "lo", "ip": "127.0.0.1", "location": "local"} {
		if labels[name] != want {
			t.Errorf("prometheus has %s=%q, want %q (all: %v)", name, labels[name], want, labels)
		}
	}
	waitUntil(t, 60*time.Second, "smokeping_requests_total to grow in prometheus", func() bool {
		v, _ := query()
		return v > first
	})

	// Every query of our Grafana dashboard answers, on what prometheus scraped.
	for _, expr := range dashboardQueries(t) {
		expr = strings.NewReplacer("$group", "lo", "$host", "127.0.0.1", "$location", "local", "$__rate_interval", "15s").Replace(expr)
		waitUntil(t, 30*time.Second, "dashboard query "+expr+" to answer", func() bool {
			return promSeries(t, promAddr, expr) > 0
		})
	}

	// Turned off, the group's series go at once.
	c.call("PATCH", "/api/v1/groups/"+lo.ID, map[string]any{"metrics": false}, 200, nil)
	waitUntil(t, 10*time.Second, "127.0.0.1 to leave /metrics/targets once its group's metrics are off", func() bool {
		return !strings.Contains(scrape(), "127.0.0.1")
	})
	if t.Failed() {
		t.Logf("prometheus log:\n%s", promLog.String())
	}
}

// dashboardQueries are the PromQL expressions of deploy/grafana/pingdeck.json's panels.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/grafana/pingdeck.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/pingdeck.json: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				exprs = append(exprs, e)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return exprs
}

// promSeries runs an instant query and returns how many series answer; a query
// prometheus refuses fails the test.
func promSeries(t *testing.T, addr, expr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Status, Error string
		Data          struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" {
		t.Fatalf("query %s: %s %v", expr, out.Error, err)
	}
	return len(out.Data.Result)
}

// freeLoopbackAddr is a loopback address with a port nobody listens on just now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
