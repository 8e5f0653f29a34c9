package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"
)

// TestLiveFloodsKeepMemoryBounded is the hardening issue's live-stream attack against
// the real binary: a public group of 1,016 loopback targets probed every 200 ms; a
// signed-in viewer opens one socket that sends a 250 KB message of an unknown type,
// then floods resume (with a made-up token) and subscribe, reading nothing meanwhile,
// and a second socket that follows the group and never reads (it reads at the end,
// to learn how it was closed). Throughout, the
// server's RSS stays within 64 MiB of what it was before, both attackers are closed
// (the flood with 1008, the one that never reads with 4429 or cut off), and the
// owner's dashboard socket keeps getting results.
func TestLiveFloodsKeepMemoryBounded(t *testing.T) {
	const rssBound = 64 << 20
	srv := startServerIn(t, buildPlainBinary(t), nil, []string{"PINGDECK_DATA_DIR=" + t.TempDir(),
		"PINGDECK_ADMIN_PASSWORD=admin-password", "PINGDECK_ALLOW_TARGETS=127.0.0.0/8"}, "--listen", "127.0.0.1:0")
	admin := srv.client()
	admin.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	admin.call("POST", "/api/v1/groups", map[string]any{"name": "big public", "interval": "200ms", "visibility": "public",
		"targets": "127.6.0.0/24\n127.6.1.0/24\n127.6.2.0/24\n127.6.3.0/24"}, 201, &g)
	if len(g.Targets) < 1000 {
		t.Fatalf("created %d targets, want about 1,000", len(g.Targets))
	}
	admin.call("POST", "/api/v1/users", map[string]string{"username": "mallory", "password": "mallory-password"}, 201, nil)
	mallory := srv.client()
	mallory.call("POST", "/api/v1/auth/login", map[string]string{"username": "mallory", "password": "mallory-password"}, 200, nil)

	// The owner's dashboard: reads everything, and notes when results arrive.
	normal := dialLive(t, srv, admin, livetest.Options{})
	if normal == nil {
		t.FailNow()
	}
	var (
		mu          sync.Mutex
		resultTimes []time.Time
		normalErr   error
	)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var buf []byte
		for {
			data, err := normal.ReadInto(buf, time.Now().Add(time.Minute))
			if err != nil {
				mu.Lock()
				normalErr = err
				mu.Unlock()
				return
			}
			buf = data
			if strings.HasPrefix(string(data), `{"type":"results"`) {
				mu.Lock()
				resultTimes = append(resultTimes, time.Now())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { normal.Close(); <-readerDone })
	resultsSince := func(since time.Time) (n int, maxGap time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		last := since
		for _, at := range resultTimes {
			if at.Before(since) {
				continue
			}
			n++
			maxGap = max(maxGap, at.Sub(last))
			last = at
		}
		return n, max(maxGap, time.Since(last))
	}
	// Steady state first: probing, results streaming, then the baseline.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if n, _ := resultsSince(time.Time{}); n >= 15 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard socket got no results within 30 s (err %v)\n%s", normalErr, srv.stderr)
		}
	}
	baseline := vmRSS(t, srv.cmd.Process.Pid)
	rssCtx, stopRSS := context.WithCancel(context.Background())
	peak := make(chan int64, 1)
	over := make(chan int64, 1)
	go func() { // RSS every 50 ms; the test fails as soon as it passes the bound
		var top int64
		defer func() { peak <- top }()
		for rssCtx.Err() == nil {
			rss := vmRSS(t, srv.cmd.Process.Pid)
			top = max(top, rss)
			if rss > baseline+rssBound {
				over <- rss
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	defer stopRSS()

	attackStart := time.Now()
	// The flood: no reading while it sends, then read to learn how it was closed.
	floodCode := make(chan string, 1)
	go func() {
		conn := dialLive(t, srv, mallory, livetest.Options{})
		if conn == nil {
			floodCode <- "not opened"
			return
		}
		defer conn.Close()
		sent := 0
		msgs := []any{
			map[string]any{"type": strings.Repeat("x", 250<<10)},
			map[string]any{"type": "subscribe", "groups": []string{g.ID}},
		}
		for ; sent < 20000; sent++ {
			m := map[string]any{"type": "resume", "token": "made-up", "since": 1}
			if sent < len(msgs) {
				m = msgs[sent].(map[string]any)
			} else if sent%2 == 0 {
				m = map[string]any{"type": "subscribe", "groups": []string{g.ID}}
			}
			if conn.WriteJSON(m) != nil {
				break
			}
		}
		floodCode <- fmt.Sprintf("%s after %d messages", readCloseCode(conn, 30*time.Second), sent)
	}()
	// The one that never reads: it follows the group, and its backlog grows.
	stuckCode := make(chan string, 1)
	go func() {
		conn := dialLive(t, srv, mallory, livetest.Options{})
		if conn == nil {
			stuckCode <- "not opened"
			return
		}
		defer conn.Close()
		if err := conn.WriteJSON(map[string]any{"type": "subscribe", "groups": []string{g.ID}}); err != nil {
			stuckCode <- err.Error()
			return
		}
		for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if metricValue(admin.text("/metrics"), "pingdeck_live_slow_disconnects_total") > 0 {
				break // the server has given up on it: see how it ended
			}
		}
		stuckCode <- readCloseCode(conn, 30*time.Second)
	}()
	var flood, stuck string
	for flood == "" || stuck == "" {
		select {
		case rss := <-over:
			t.Fatalf("RSS %d MiB, %d MiB over the baseline of %d MiB, %s into the attack",
				rss>>20, (rss-baseline)>>20, baseline>>20, time.Since(attackStart).Round(time.Millisecond))
		case flood = <-floodCode:
		case stuck = <-stuckCode:
		case <-time.After(60 * time.Second):
			t.Fatalf("attackers still open after 60 s: flood %q, never-reading %q", flood, stuck)
		}
	}
	if n, gap := resultsSince(attackStart); n < 20 || gap > 2*time.Second {
		t.Errorf("the dashboard socket got %d results messages during the attack, with a gap of %s (err %v)", n, gap, normalErr)
	}
	afterAttack := time.Now()
	time.Sleep(2 * time.Second)
	stopRSS()
	top := <-peak
	select {
	case rss := <-over:
		t.Fatalf("RSS %d MiB, %d MiB over the baseline", rss>>20, (rss-baseline)>>20)
	default:
	}
	if n, _ := resultsSince(afterAttack); n < 5 {
		t.Errorf("the dashboard socket got %d results messages in the 2 s after the attack (err %v)", n, normalErr)
	}
	t.Logf("RSS baseline %d MiB, peak %d MiB (+%d MiB); flood closed %s; never-reading socket closed %s",
		baseline>>20, top>>20, (top-baseline)>>20, flood, stuck)
	if !strings.HasPrefix(flood, "1008") && !strings.HasPrefix(flood, "4429") {
		t.Errorf("the flooding socket ended with %s, want close 1008 (or 4429)", flood)
	}
	if !strings.HasPrefix(stuck, "4429") && !strings.HasPrefix(stuck, "cut") {
		t.Errorf("the never-reading socket ended with %s, want close 4429 or a cut connection", stuck)
	}
	if m := admin.text("/metrics"); metricValue(m, "pingdeck_live_slow_disconnects_total") < 1 {
		t.Errorf("no slow disconnect counted:\n%s", grepLines(m, "pingdeck_live_"))
	}
}

// dialLive opens the live stream with c's session and reads its hello.
func dialLive(t *testing.T, srv *proc, c *httpClient, o livetest.Options) *livetest.Conn {
	t.Helper()
	conn, resp, err := c.wsDial(http.Header{"Origin": {c.base}}, o)
	if err != nil {
		t.Errorf("dial: %v (%+v)", err, resp)
		return nil
	}
	if m, err := conn.Next(time.Now().Add(30 * time.Second)); err != nil || m.Type != "hello" {
		t.Errorf("first message %.100s, %v; want hello", m.Raw, err)
	}
	return conn
}

// readCloseCode reads what is left until the server's close frame: its code, or "cut"
// when the connection ended without one.
func readCloseCode(conn *livetest.Conn, within time.Duration) string {
	deadline := time.Now().Add(within)
	var buf []byte
	for {
		data, err := conn.ReadInto(buf, deadline)
		var ce *livetest.CloseError
		switch {
		case errors.As(err, &ce):
			return strconv.Itoa(ce.Code) + " " + ce.Text
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return "still open"
			}
			return "cut (" + err.Error() + ")"
		}
		buf = data
	}
}

// vmRSS is a process's resident set size in bytes, from /proc/PID/status.
func vmRSS(t *testing.T, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Errorf("reading the server's RSS: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Errorf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestMaxStreamsPerUser: --max-streams-per-user (or its variable) caps one user's open
// live streams; the next handshake gets 429 with the API's error body, and a bad value
// is refused at start naming the setting.
func TestMaxStreamsPerUser(t *testing.T) {
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_MAX_STREAMS_PER_USER=2"}, "--listen", "127.0.0.1:0")
	admin := srv.client()
	admin.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	for range 2 {
		if conn := dialLive(t, srv, admin, livetest.Options{}); conn != nil {
			defer conn.Close()
		}
	}
	_, resp, err := admin.wsDial(http.Header{"Origin": {admin.base}}, livetest.Options{})
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third stream with --max-streams-per-user 2: %v (%+v), want 429", err, resp)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != "rate_limited" ||
		!strings.Contains(body.Error.Message, "--max-streams-per-user") {
		t.Fatalf("429 body %+v (%v), want the rate_limited error naming --max-streams-per-user", body, err)
	}

	for _, bad := range [][]string{{"--max-streams-per-user", "0"}, {"--max-streams-per-user", "many"}} {
		out, err := exec.Command(buildBinary(t), append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, bad...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "max-streams-per-user") {
			t.Errorf("%v: err %v, output:\n%s\nwant a failure naming the flag", bad, err, out)
		}
	}
	out, _ := exec.Command(buildBinary(t), "--help").CombinedOutput()
	if !strings.Contains(string(out), "--max-streams-per-user (PINGDECK_MAX_STREAMS_PER_USER)") {
		t.Errorf("--help does not document --max-streams-per-user:\n%s", out)
	}
}
