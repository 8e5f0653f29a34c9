package main

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"
)

// TestLiveStreamCarriesRealProbes runs the real binary probing loopback targets: a
// dashboard socket gets hello, the card's snapshot, then answered results for every
// target each interval; SIGTERM closes it with 1001 before the process exits.
func TestLiveStreamCarriesRealProbes(t *testing.T) {
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8"}, "--listen", "127.0.0.1:0")
	c := srv.client()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g struct {
		ID      string
		Targets []struct{ ID string }
	}
	c.call("POST", "/api/v1/groups", map[string]any{"name": "loopback", "interval": "500ms", "targets": "127.4.0.1\n127.4.0.2\n127.4.0.3"}, 201, &g)

	conn, resp, err := c.wsDial(http.Header{"Origin": {c.base}}, livetest.Options{})
	if err != nil {
		t.Fatalf("dial: %v (%+v)", err, resp)
	}
	defer conn.Close()
	read := func() livetest.Message {
		t.Helper()
		m, err := conn.Next(time.Now().Add(30 * time.Second))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return m
	}
	if m := read(); m.Type != "hello" || m.Location != "local" {
		t.Fatalf("first message %+v, want hello from location local", m)
	}
	if m := read(); m.Type != "locations" || len(m.Locations) != 1 || m.Locations[0].Name != "local" || !m.Locations[0].Online {
		t.Fatalf("second message %+v, want the locations: the server's own, online", m)
	}
	if m := read(); m.Type != "snapshot" || m.Group.ID != g.ID || len(m.Group.Targets) != 3 {
		t.Fatalf("third message %+v, want the group's snapshot", m)
	}
	// Every target answers, a few times, with a round trip time.
	answered := map[string]int{}
	var lastSeq uint64
	for len(answered) < 3 || min(answered[g.Targets[0].ID], answered[g.Targets[1].ID], answered[g.Targets[2].ID]) < 3 {
		m := read()
		if m.Type != "results" {
			continue
		}
		if m.Seq <= lastSeq {
			t.Fatalf("seq %d after %d", m.Seq, lastSeq)
		}
		lastSeq = m.Seq
		for _, it := range m.Items {
			if it.G != g.ID || !it.OK || it.RTTMs == nil || *it.RTTMs <= 0 {
				t.Fatalf("item %+v: want an answered probe of the group", it)
			}
			answered[it.T]++
		}
	}
	if metrics := c.text("/metrics"); metricValue(metrics, "pingdeck_live_clients") != 1 || metricValue(metrics, "pingdeck_live_messages_sent_total") < 3 {
		t.Errorf("live metrics:\n%s", grepLines(metrics, "pingdeck_live_"))
	}

	// Shutdown closes the socket with 1001, then the process exits cleanly.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := conn.Read(time.Now().Add(20 * time.Second))
		var ce *livetest.CloseError
		if errors.As(err, &ce) {
			if ce.Code != 1001 {
				t.Fatalf("closed with %d at shutdown, want 1001", ce.Code)
			}
			break
		}
		if err != nil {
			t.Fatalf("socket ended without a close frame: %v", err)
		}
	}
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, srv.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit within 20s of SIGTERM")
	}
	if log := srv.stderr.String(); strings.Contains(log, `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", log)
	}
}
