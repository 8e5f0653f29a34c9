package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/internal/bus"
	"pingdeck/internal/live/livetest"
)

const (
	e2eNATSUser     = "replica"
	e2eNATSPassword = "correct horse battery staple"
)

// startListeningBus starts the binary with its embedded NATS open on a free loopback
// port, and returns it with that port's URL.
func startListeningBus(t *testing.T, dataDir string) (*proc, string) {
	t.Helper()
	env := []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8", "PINGDECK_NATS_USER=" + e2eNATSUser, "PINGDECK_NATS_PASSWORD=" + e2eNATSPassword}
	srv := startServer(t, env, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	for _, line := range strings.Split(srv.stderr.String(), "\n") {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bus: embedded NATS listening for agents and replicas" {
			return srv, "nats://" + rec.Addr
		}
	}
	t.Fatalf("no log line says where the bus listens:\n%s", srv.stderr)
	return nil, ""
}

// TestChangesReachAnotherProcessOnTheBus: two processes, one bus. A change made
// through server A's HTTP API (a rename) arrives, as JSON on its documented subject, at
// another NATS client of A's bus, which is all a replica or an agent is; an anonymous
// client is turned away.
func TestChangesReachAnotherProcessOnTheBus(t *testing.T) {
	srv, url := startListeningBus(t, t.TempDir())
	if nc, err := nats.Connect(url, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the bus")
	}
	nc, err := nats.Connect(url, nats.UserInfo(e2eNATSUser, e2eNATSPassword), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect to the bus with its credentials: %v", err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("pingdeck.v1.changes.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	c := srv.client()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "core", "interval": "5s", "targets": "127.0.0.1"}, 201, &g)
	c.call("PATCH", "/api/v1/groups/"+g.ID, map[string]string{"name": "core routers"}, 200, nil)

	type change struct {
		Kind    string `json:"kind"`
		GroupID string `json:"group_id"`
	}
	var seen []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			t.Fatalf("no group_updated for %s on the bus (%v); saw %v", g.ID, err, seen)
		}
		var ch change
		if err := json.Unmarshal(m.Data, &ch); err != nil {
			t.Fatalf("%s: payload %q is not JSON: %v", m.Subject, m.Data, err)
		}
		if m.Subject != "pingdeck.v1.changes."+ch.Kind {
			t.Fatalf("a %s change on subject %s", ch.Kind, m.Subject)
		}
		seen = append(seen, ch.Kind+" "+ch.GroupID)
		if ch.Kind == "group_updated" && ch.GroupID == g.ID {
			break
		}
	}
	if seen[0] != "group_created "+g.ID {
		t.Errorf("changes arrived as %v; want the creation first", seen)
	}
	srv.stop()
}

// TestLostBusMakesTheServerNotReady: with --nats-url, the server runs on an external
// NATS; when that goes away /readyz says the bus is the problem, and when it is back
// the server is ready again.
func TestLostBusMakesTheServerNotReady(t *testing.T) {
	natsStore := t.TempDir()
	startNATS := func(port int) *server.Server {
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: natsStore})
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("test NATS did not start")
		}
		return ns
	}
	ns := startNATS(server.RANDOM_PORT)
	defer func() { ns.Shutdown() }()
	port := ns.Addr().(*net.TCPAddr).Port
	url := "nats://" + ns.Addr().String()

	dataDir := t.TempDir()
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_NATS_URL=" + url}, "--listen", "127.0.0.1:0")
	c := srv.client()
	waitReady(t, c)
	if _, err := os.Stat(filepath.Join(dataDir, "bus")); !os.IsNotExist(err) {
		t.Errorf("with --nats-url a bus store was made in the data dir (%v): nothing should be embedded", err)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	var body string
	waitUntil(t, 10*time.Second, "/readyz to fail once NATS is gone", func() bool {
		var code int
		code, body = c.status("GET", "/readyz", nil)
		return code == 503
	})
	if !strings.Contains(body, "bus:") {
		t.Fatalf("/readyz while NATS is down does not name the bus: %s", body)
	}

	ns = startNATS(port)
	waitUntil(t, 15*time.Second, "/readyz to pass once NATS is back", func() bool {
		code, _ := c.status("GET", "/readyz", nil)
		return code == 200
	})
	srv.stop()
}

// TestDamagedBusStoreStillStarts: a bus store whose files were overwritten with
// garbage, or which is not even a directory, gives a clear log line and a start.
func TestDamagedBusStoreStillStarts(t *testing.T) {
	dataDir := t.TempDir()
	srv, url := startListeningBus(t, dataDir)
	nc, err := nats.Connect(url, nats.UserInfo(e2eNATSUser, e2eNATSPassword))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "DAMAGE", Subjects: []string{"damage.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := js.Publish(ctx, "damage.x", []byte(strings.Repeat("r", 100+i))); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	srv.stop()

	busDir := filepath.Join(dataDir, "bus")
	damaged := 0
	filepath.WalkDir(busDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		damaged++
		return os.WriteFile(path, []byte("\x00\xffnot a NATS file\x00"), 0o600)
	})
	if damaged == 0 {
		t.Fatal("the bus store holds no files")
	}
	again, _ := startListeningBus(t, dataDir)
	waitReady(t, again.client())
	if !strings.Contains(again.stderr.String(), "bus: the JetStream store was damaged") {
		t.Fatalf("after damage to %d files, no clear log line:\n%s", damaged, again.stderr)
	}
	again.stop()

	if err := os.RemoveAll(busDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(busDir, []byte("garbage where the store was"), 0o600); err != nil {
		t.Fatal(err)
	}
	third, _ := startListeningBus(t, dataDir)
	waitReady(t, third.client())
	if !strings.Contains(third.stderr.String(), "bus: the JetStream store could not be opened; moved it aside") {
		t.Fatalf("a store that is a file: no clear log line:\n%s", third.stderr)
	}
	third.stop()
}

// waitReady waits until /readyz answers 200: the server listens before its probe
// engine and bus are up.
func waitReady(t *testing.T, c *httpClient) {
	t.Helper()
	waitUntil(t, 20*time.Second, "/readyz to answer 200", func() bool {
		code, _ := c.status("GET", "/readyz", nil)
		return code == 200
	})
}

// TestResultsFromAnotherProcessReachTheDashboardAndTheDatabase: a NATS client of the
// server's bus (all an agent is) says hello (an old protocol version is refused with a
// clear message), then publishes a batch of results on a group's documented subject:
// an open dashboard gets them and they are stored.
func TestResultsFromAnotherProcessReachTheDashboardAndTheDatabase(t *testing.T) {
	srv, url := startListeningBus(t, t.TempDir())
	c := srv.client()
	waitReady(t, c)
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "remote", "interval": "1h", "targets": "127.4.3.1"}, 201, &g)
	conn, resp, err := c.wsDial(http.Header{"Origin": {c.base}}, livetest.Options{})
	if err != nil {
		t.Fatalf("dial: %v (%+v)", err, resp)
	}
	defer conn.Close()
	for {
		m, err := conn.Next(time.Now().Add(20 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == "snapshot" {
			break
		}
	}

	nc, err := nats.Connect(url, nats.UserInfo(e2eNATSUser, e2eNATSPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := bus.Greet(nc, "old-agent", []int{0}, 5*time.Second); err == nil || !strings.Contains(err.Error(), "upgrade the agent") {
		t.Fatalf("an agent speaking only v0: %v, want a refusal saying to upgrade it", err)
	}
	if v, err := bus.Greet(nc, "agent", []int{1}, 5*time.Second); err != nil || v != 1 {
		t.Fatalf("hello with v1: %d, %v", v, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().Add(-time.Second).Truncate(time.Millisecond)
	payload := fmt.Sprintf(`{"source":"e2e-agent","before":0,"results":[{"target":%q,"sent_us":%d,"ok":true,"rtt_us":4321}]}`, g.Targets[0].ID, sent.UnixMicro())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, bus.ResultSubject("local", g.ID), []byte(payload)); err != nil {
		t.Fatal(err)
	}
	for got := false; !got; {
		m, err := conn.Next(time.Now().Add(20 * time.Second))
		if err != nil {
			t.Fatalf("the published result did not reach the dashboard: %v", err)
		}
		for _, it := range m.Items {
			if it.T == g.Targets[0].ID && it.At == sent.UnixMilli() && it.RTTMs != nil && *it.RTTMs == 4.321 {
				got = true
			}
		}
	}
	waitUntil(t, 20*time.Second, "the published result stored", func() bool {
		var samples struct {
			Samples []json.RawMessage `json:"samples"`
		}
		c.call("GET", fmt.Sprintf("/api/v1/groups/%s/targets/%s/samples?from=%s", g.ID, g.Targets[0].ID, sent.Add(-5*time.Second).Format(time.RFC3339Nano)), nil, 200, &samples)
		return len(samples.Samples) == 1
	})
	srv.stop()
}

// TestExternalNATSServerCarriesResults: with --nats-url pointing at Debian's
// nats-server (JetStream on), the result stream lives there, results reach the
// database and an open dashboard through it, and nothing is embedded.
func TestExternalNATSServerCarriesResults(t *testing.T) {
	bin := natsServerBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ns := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", t.TempDir())
	if err := ns.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Process.Kill(); ns.Wait() }()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	waitUntil(t, 10*time.Second, "nats-server to listen", func() bool {
		nc, err := nats.Connect(url)
		if err == nil {
			nc.Close()
		}
		return err == nil
	})

	dataDir := t.TempDir()
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8", "PINGDECK_NATS_URL=" + url}, "--listen", "127.0.0.1:0")
	c := srv.client()
	waitReady(t, c)
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "external", "interval": "200ms", "targets": "127.4.5.1\n127.4.5.2"}, 201, &g)
	conn, resp, err := c.wsDial(http.Header{"Origin": {c.base}}, livetest.Options{})
	if err != nil {
		t.Fatalf("dial: %v (%+v)", err, resp)
	}
	defer conn.Close()
	for answered := map[string]bool{}; len(answered) < 2; {
		m, err := conn.Next(time.Now().Add(20 * time.Second))
		if err != nil {
			t.Fatalf("no live results through the external NATS: %v", err)
		}
		for _, it := range m.Items {
			if it.OK {
				answered[it.T] = true
			}
		}
	}
	waitUntil(t, 20*time.Second, "results stored through the external NATS", func() bool {
		return metricValue(c.text("/metrics"), "pingdeck_results_written_total") >= 10
	})
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.ResultStream)
	if err != nil {
		t.Fatalf("the result stream is not on the external NATS: %v", err)
	}
	if cfg := st.CachedInfo().Config; cfg.Retention != jetstream.WorkQueuePolicy || cfg.MaxBytes != 1024<<20 {
		t.Fatalf("result stream settings %+v, want a work queue of 1024 MiB", cfg)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "bus")); !os.IsNotExist(err) {
		t.Errorf("with --nats-url a bus store was made in the data dir (%v)", err)
	}
	srv.stop()
}

// TestLocationNamesTheServersResults: --location renames where the server's own prober
// probes from: its results are published under that name, stored, and shown live.
func TestLocationNamesTheServersResults(t *testing.T) {
	env := []string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8", "PINGDECK_NATS_USER=" + e2eNATSUser, "PINGDECK_NATS_PASSWORD=" + e2eNATSPassword,
		"PINGDECK_LOCATION=site-a"}
	srv := startServer(t, env, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	var url string
	for _, line := range strings.Split(srv.stderr.String(), "\n") {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bus: embedded NATS listening for agents and replicas" {
			url = "nats://" + rec.Addr
		}
	}
	nc, err := nats.Connect(url, nats.UserInfo(e2eNATSUser, e2eNATSPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("pingdeck.v1.results.site-a.>")
	if err != nil {
		t.Fatal(err)
	}
	c := srv.client()
	waitReady(t, c)
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "site a", "interval": "200ms", "targets": "127.4.6.1"}, 201, &g)
	if _, err := sub.NextMsg(20 * time.Second); err != nil {
		t.Fatalf("no result published as site-a: %v", err)
	}
	waitUntil(t, 20*time.Second, "site-a's results stored", func() bool {
		return metricValue(c.text("/metrics"), "pingdeck_results_written_total") >= 5
	})
	if d := metricValue(c.text("/metrics"), "pingdeck_results_dropped_total"); d != 0 {
		t.Fatalf("%v results dropped: the server's own location must be stored", d)
	}
	srv.stop()
}
