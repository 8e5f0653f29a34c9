package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialerFrom dials from a loopback source address, so the server sees another client.
func dialerFrom(src string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return d.DialContext
}

// slowPost is one attacking connection: a POST that promises a body and trickles it.
type slowPost struct {
	conn    net.Conn
	started time.Time
	answer  chan slowAnswer
}

type slowAnswer struct {
	status  string // the status line, "" if the server said nothing
	body    string
	err     error // how the read ended, nil for a clean close
	elapsed time.Duration
}

// TestSlowBodiesCannotHoldTheServer: a POST sending one body byte now and then once held
// its connection forever, and enough of them (20,000) took every file descriptor until
// /healthz stopped answering. Now one address holds at most --max-connections-per-ip
// (the rest are closed at once), a body that has not arrived within
// --request-read-timeout gets 408 and its connection closed, and another client is
// served all along.
func TestSlowBodiesCannotHoldTheServer(t *testing.T) {
	const (
		perIP       = 100
		attackers   = 300
		readTimeout = 3 * time.Second
	)
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password"},
		"--listen", "127.0.0.1:0", "--max-connections-per-ip", strconv.Itoa(perIP), "--request-read-timeout", readTimeout.String())
	healthy := srv.clientVia(dialerFrom("127.0.0.2"))
	healthy.call("GET", "/healthz", nil, 200, nil)

	var held []*slowPost
	refused := 0
	request := "POST /api/v1/auth/login HTTP/1.1\r\nHost: " + srv.addr + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
	first := time.Now()
	for range attackers {
		c, err := dialerFrom("127.0.0.1")(context.Background(), "tcp", srv.addr)
		if err != nil {
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("dial: %v", err)
			}
			refused++ // the reset came before the dial returned
			continue
		}
		t.Cleanup(func() { c.Close() })
		p := &slowPost{conn: c, started: time.Now(), answer: make(chan slowAnswer, 1)}
		_, _ = c.Write([]byte(request))
		go p.read()
		held = append(held, p)
	}
	if d := time.Since(first); d > readTimeout/2 {
		t.Fatalf("opening %d connections took %v: too slow a machine to tell refused from cut connections", attackers, d)
	}
	// Trickle a byte to every connection each 500 ms, as the attack does.
	stop, trickled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for _, p := range held {
					_ = p.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					_, _ = p.conn.Write([]byte(" "))
				}
			}
		}
	}()
	defer func() { close(stop); <-trickled }()

	// During the attack another client is served, and the server counts what it refused.
	healthy.call("GET", "/healthz", nil, 200, nil)
	healthy.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	metrics := healthy.text("/metrics")
	t.Logf("during the attack: %s", grepLines(metrics, "pingdeck_connections"))

	// Sort the attackers: refused ones are closed at once without an answer; held ones
	// get 408 when their read deadline passes, then the connection closes.
	var cut []slowAnswer
	for _, p := range held {
		select {
		case a := <-p.answer:
			switch {
			case a.status == "":
				refused++
			case strings.HasPrefix(a.status, "HTTP/1.1 408 ") && strings.Contains(a.body, `"request_timeout"`):
				cut = append(cut, a)
			default:
				t.Fatalf("a slow POST was answered %q %s after %v", a.status, a.body, a.elapsed)
			}
		case <-time.After(readTimeout + 15*time.Second):
			t.Fatalf("a slow POST was still open %v after it began", time.Since(p.started))
		}
	}
	t.Logf("%d slow POSTs from one address: %d refused at once, %d cut with 408", attackers, refused, len(cut))
	if len(cut) != perIP || refused != attackers-perIP {
		t.Fatalf("%d held then cut, %d refused; want %d held (--max-connections-per-ip) and %d refused", len(cut), refused, perIP, attackers-perIP)
	}
	var fastest, slowest time.Duration = time.Hour, 0
	for _, a := range cut {
		fastest, slowest = min(fastest, a.elapsed), max(slowest, a.elapsed)
		if a.elapsed < readTimeout-500*time.Millisecond || a.elapsed > readTimeout+10*time.Second {
			t.Fatalf("a slow POST was cut after %v, want about --request-read-timeout (%v)", a.elapsed, readTimeout)
		}
		if a.err != nil && !errors.Is(a.err, syscall.ECONNRESET) {
			t.Fatalf("after its 408 a slow POST's connection ended with %v, want closed", a.err)
		}
	}
	t.Logf("held connections were cut %v to %v after they began (--request-read-timeout %v)", fastest, slowest, readTimeout)
	if got := metricValue(metrics, `pingdeck_connections_refused_total{reason="per_address"}`); got != attackers-perIP {
		t.Errorf("pingdeck_connections_refused_total{reason=\"per_address\"} = %v during the attack, want %d", got, attackers-perIP)
	}
	if got := metricValue(metrics, "pingdeck_connections_open"); got < perIP || got > perIP+3 {
		t.Errorf("pingdeck_connections_open = %v during the attack, want %d attackers and this client's", got, perIP)
	}
	// The places are free again: the attacking address may connect as anyone.
	srv.clientVia(dialerFrom("127.0.0.1")).call("GET", "/healthz", nil, 200, nil)
	if got := metricValue(healthy.text("/metrics"), "pingdeck_connections_open"); got > 3 {
		t.Errorf("pingdeck_connections_open = %v after the attack, want only the test's own", got)
	}
}

// read waits (at most 30 s) for the answer and the close.
func (p *slowPost) read() {
	_ = p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(p.conn)
	status, err := br.ReadString('\n')
	var body []byte
	if err == nil {
		body, err = io.ReadAll(br)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	p.answer <- slowAnswer{status: strings.TrimSpace(status), body: string(body), err: err, elapsed: time.Since(p.started)}
}

// TestOpenFileLimitRaised: started with a low soft limit on open files, the server runs
// with its soft limit at the hard limit, says so, and derives --max-connections from it.
func TestOpenFileLimitRaised(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := min(uint64(1024), lim.Max/2)
	if low < 64 {
		t.Skipf("the hard limit on open files (%d) is too low to lower the soft one under it", lim.Max)
	}
	srv := startServerIn(t, buildBinary(t), []string{"sh", "-c", fmt.Sprintf(`ulimit -Sn %d && exec "$0" "$@"`, low)},
		[]string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password"}, "--listen", "127.0.0.1:0")
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", srv.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Max open files\s+(\d+)\s+(\d+)`).FindSubmatch(limits)
	if m == nil {
		t.Fatalf("no open-file limit in\n%s", limits)
	}
	soft, _ := strconv.ParseUint(string(m[1]), 10, 64)
	hard, _ := strconv.ParseUint(string(m[2]), 10, 64)
	if hard != lim.Max || soft != hard {
		t.Fatalf("server's open-file limit: soft %d, hard %d; want both %d (started with soft %d)", soft, hard, lim.Max, low)
	}
	want := fmt.Sprintf(`"open_file_limit":%d,"open_file_hard_limit":%d,"max_connections":%d,`, hard, hard, maxConnectionsFor(hard))
	if log := srv.stderr.String(); !strings.Contains(log, want) {
		t.Errorf("the start-up log does not say %s:\n%s", want, log)
	}
	srv.stop()
}

// TestConnectionLimitFlags: the new settings are validated, naming the flag.
func TestConnectionLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--max-connections", "-1"}, nil, "--max-connections (PINGDECK_MAX_CONNECTIONS)"},
		{[]string{"--max-connections-per-ip", "0"}, nil, "--max-connections-per-ip"},
		{[]string{"--max-connections", "10", "--max-connections-per-ip", "20"}, nil, "--max-connections-per-ip"},
		{nil, []string{"PINGDECK_REQUEST_READ_TIMEOUT=10ms"}, "--request-read-timeout"},
		{nil, []string{"PINGDECK_MAX_CONNECTIONS_PER_IP=many"}, "PINGDECK_MAX_CONNECTIONS_PER_IP"},
	} {
		t.Run(strings.Join(append(tc.args, tc.env...), " "), func(t *testing.T) {
			_, err := parseConfig(tc.args, func(k string) string {
				for _, kv := range tc.env {
					if name, v, _ := strings.Cut(kv, "="); name == k {
						return v
					}
				}
				return ""
			}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v %v: %v, want an error naming %s", tc.args, tc.env, err, tc.want)
			}
		})
	}
	cfg, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MaxConnections != 0 || cfg.MaxConnectionsPerIP != 256 || cfg.RequestReadTimeout != 30*time.Second {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{{0, 10000}, {100, 64}, {1024, 512}, {20000, 10000}, {1 << 20, 10000}} {
		if got := maxConnectionsFor(tc.nofile); got != tc.want {
			t.Errorf("maxConnectionsFor(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
}
