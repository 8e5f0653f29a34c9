package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pingdeck/internal/store/storetest"
)

// e2eBinaryEnv hands the binary built by a parent test to its child in a namespace.
const e2eBinaryEnv = "PINGDECK_E2E_BINARY"

func TestMain(m *testing.M) { storetest.Main(m) }

// buildBinary compiles the real server, with the race detector, once per test binary
// run.
func buildBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(e2eBinaryEnv); bin != "" {
		return bin // a child in a simulator's namespace, given its parent's build
	}
	return raceBuild.get(t, "-race")
}

// buildPlainBinary compiles the real server without the race detector, for the tests
// that probe a thousand targets: the detector's cost would be measured instead of the
// server (on 4,000 pro-bing goroutines; on SQLite writes, 60× slower under it, which
// then cannot take a thousand results a second).
func buildPlainBinary(t *testing.T) string {
	t.Helper()
	return plainBuild.get(t)
}

// serverBuild is one compiled server binary, built on first use.
type serverBuild struct {
	once sync.Once
	path string
	err  error
}

var raceBuild, plainBuild serverBuild

func (b *serverBuild) get(t *testing.T, flags ...string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "pingdeck-e2e-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "pingdeck")
		args := append(append([]string{"build"}, flags...), "-o", b.path, ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// proc is a running pingdeck binary.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	stdout *lockedBuffer
	stderr *lockedBuffer
	exited chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// startServer runs the binary and waits for its "listening" log line.
func startServer(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startServerIn(t, buildBinary(t), nil, env, args...)
}

// startServerIn is startServer for a given binary, run by a wrapper command that execs
// it (`ip netns exec NAME`, say: the process and its PID are the server's) if any.
func startServerIn(t *testing.T, binary string, wrap []string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmdline := append(append(slices.Clone(wrap), binary), args...)
	p.cmd = exec.Command(cmdline[0], cmdline[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.stdout
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "pingdeck listening" {
				addrCh <- rec.Addr
			}
		}
	}()
	go func() { err := p.cmd.Wait(); pw.Close(); p.exited <- err }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	select {
	case p.addr = <-addrCh:
		return p
	case err := <-p.exited:
		t.Fatalf("server exited before listening: %v\nstderr:\n%s", err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start in 60s\nstderr:\n%s", p.stderr)
	}
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Fatalf("server exit after SIGTERM: %v\nstderr:\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		p.t.Fatalf("server did not stop within 20s of SIGTERM")
	}
}

var passwordLine = regexp.MustCompile(`created user "admin" with password (\S+)`)

type httpClient struct {
	t    *testing.T
	base string
	c    *http.Client
	// dial reaches the server when only it can (clientVia); nil dials directly.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (p *proc) client() *httpClient {
	jar, _ := cookiejar.New(nil)
	return &httpClient{t: p.t, base: "http://" + p.addr, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// clientVia is client for a server only dial can reach (one in another network
// namespace).
func (p *proc) clientVia(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *httpClient {
	h := p.client()
	h.c.Transport = &http.Transport{DialContext: dial}
	h.dial = dial
	return h
}

func (h *httpClient) call(method, path string, body any, want int, out any) {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, h.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("decode %s: %v", raw, err)
		}
	}
}

// text GETs path and returns the body of a 200 answer.
func (h *httpClient) text(path string) string {
	h.t.Helper()
	resp, err := h.c.Get(h.base + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	return string(raw)
}

// metricValue sums the samples of one metric in Prometheus text format.
func metricValue(text, name string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			fields := strings.Fields(rest)
			v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
			sum += v
		}
	}
	return sum
}

func grepLines(text string, prefixes ...string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

type e2eGroup struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Targets []struct {
		ID      string `json:"id"`
		Address string `json:"address"`
	} `json:"targets"`
	Skipped []struct {
		Input  string `json:"input"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

// TestFirstRunCreateRestart is the README's promise: start with nothing, sign in with
// the printed password, create a group with our own UUID from a pasted list, restart,
// and find everything still there — on SQLite and on Postgres.
func TestFirstRunCreateRestart(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, dsn string) {
		dataDir := t.TempDir()
		// The server really probes what is stored: keep it on loopback.
		env := []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ALLOW_TARGETS=127.0.0.0/8,::1/128"}
		if !strings.HasPrefix(dsn, "sqlite:") {
			env = append(env, "PINGDECK_DB="+dsn) // else the default database in the data dir
		}
		srv := startServer(t, env, "--listen", "127.0.0.1:0")
		if log := srv.stderr.String(); !strings.Contains(log, `"msg":"probe engine ready","engine":"shared","icmp_mode":"`) {
			t.Errorf("the start-up log does not say which engine and ICMP mode were chosen:\n%s", log)
		}
		// stdout and stderr are copied by separate goroutines: the password can land
		// just after the "listening" line that startServer waited for.
		var m []string
		for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			m = passwordLine.FindStringSubmatch(srv.stdout.String())
		}
		if m == nil {
			t.Fatalf("first start did not print the admin password; stdout:\n%s", srv.stdout.String())
		}
		c := srv.client()
		c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": m[1]}, 200, nil)
		const id = "0b6f7a4e-8f0c-4a53-9d2e-6c1f3b2a9e10"
		body := map[string]any{"name": "branch office", "interval": "2s",
			"targets": "127.0.0.1\n::1, localhost\n127.0.1.16/28\n10.0.0.1/8\n224.0.0.5\n192.0.2.1"}
		var g e2eGroup
		c.call("PUT", "/api/v1/groups/"+id, body, 201, &g)
		if len(g.Targets) != 17 || len(g.Skipped) != 3 {
			t.Fatalf("created %d targets, skipped %+v; want 17 and 3 (oversized CIDR, multicast, not allowed)", len(g.Targets), g.Skipped)
		}
		c.call("PUT", "/api/v1/groups/"+id, body, 200, nil)
		waitReady(t, c)
		metrics := c.text("/metrics")
		for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "pingdeck_http_requests_total"} {
			if !strings.Contains(metrics, name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
		// The stored targets are probed and the results written.
		deadline := time.Now().Add(20 * time.Second)
		for metricValue(c.text("/metrics"), "pingdeck_results_written_total") < 17 {
			if time.Now().After(deadline) {
				t.Fatalf("no probe results written within 20s:\n%s", grepLines(c.text("/metrics"), "pingdeck_probe", "pingdeck_result"))
			}
			time.Sleep(200 * time.Millisecond)
		}
		srv.stop()
		if strings.HasPrefix(dsn, "sqlite:") {
			if _, err := os.Stat(filepath.Join(dataDir, "pingdeck.db")); err != nil {
				t.Fatalf("default database not in the data dir: %v", err)
			}
		}

		again := startServer(t, env, "--listen", "127.0.0.1:0")
		if passwordLine.MatchString(again.stdout.String()) {
			t.Fatal("a second start printed a new admin password")
		}
		c = again.client()
		c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": m[1]}, 200, nil)
		var after e2eGroup
		c.call("GET", "/api/v1/groups/"+id, nil, 200, &after)
		if after.Name != "branch office" || len(after.Targets) != 17 {
			t.Fatalf("after restart: %+v", after)
		}
		again.stop()
	})
}

func TestTakenPortFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	out, err := exec.Command(buildBinary(t), "--listen", ln.Addr().String(), "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--listen") || !strings.Contains(string(out), "address already in use") {
		t.Fatalf("err = %v, output:\n%s\nwant a failure naming --listen", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to notice the port is taken", d)
	}
}

func TestBadConfigNamesTheSetting(t *testing.T) {
	shortKey := filepath.Join(t.TempDir(), "device.key")
	if err := os.WriteFile(shortKey, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"flag", nil, []string{"--min-interval", "1ms"}, "--min-interval"},
		{"env", []string{"PINGDECK_MAX_TARGETS_PER_USER=lots"}, nil, "PINGDECK_MAX_TARGETS_PER_USER"},
		{"groups quota", []string{"PINGDECK_MAX_GROUPS_PER_USER=0"}, nil, "max-groups-per-user"},
		{"db scheme", []string{"PINGDECK_DB=mysql://x"}, nil, "--db"},
		{"deny list", nil, []string{"--deny-targets", "10.0.0.0/33"}, "deny-targets"},
		{"retention", nil, []string{"--retention-raw", "24h", "--retention-rollup", "1h"}, "--retention-rollup"},
		{"stray argument", nil, []string{"serve"}, "unexpected argument"},
		{"removed spool flag", nil, []string{"--spool-max-mb", "100"}, "--spool-max-mb (PINGDECK_SPOOL_MAX_MB) is gone: results wait on the bus"},
		{"removed spool variable", []string{"PINGDECK_SPOOL_MAX_MB=100"}, nil, "set --bus-max-mb"},
		{"bus limit", []string{"PINGDECK_BUS_MAX_MB=0"}, nil, "bus-max-mb"},
		{"location", nil, []string{"--location", "Frankfurt.DE"}, "--location"},
		{"old schema without migrate", nil, []string{"--migrate=false"}, "--migrate=true"},
		{"device key", []string{"PINGDECK_DEVICE_KEY_FILE=" + shortKey}, nil, "--device-key-file (PINGDECK_DEVICE_KEY_FILE)"},
		{"bus listener without credentials", nil, []string{"--nats-listen", "127.0.0.1:0"}, "--nats-listen (PINGDECK_NATS_LISTEN): refusing to open the bus to the network without credentials"},
		{"bus listener with a short password", []string{"PINGDECK_NATS_USER=agent", "PINGDECK_NATS_PASSWORD=short"}, []string{"--nats-listen", "127.0.0.1:0"}, "--nats-password"},
		{"bus listen address", []string{"PINGDECK_NATS_LISTEN=4222"}, nil, "--nats-listen (PINGDECK_NATS_LISTEN): must be host:port"},
		{"bus url and listener", nil, []string{"--nats-url", "nats://127.0.0.1:4222", "--nats-listen", "127.0.0.1:0", "--nats-user", "u", "--nats-password", "long-enough-password"}, "--nats-listen"},
		{"bus url scheme", []string{"PINGDECK_NATS_URL=http://127.0.0.1:4222"}, nil, "--nats-url"},
		{"bus url unreachable", []string{"PINGDECK_NATS_URL=nats://127.0.0.1:1"}, nil, "--nats-url (PINGDECK_NATS_URL)"},
		{"bus tls without listener", nil, []string{"--nats-tls-cert", "c.pem", "--nats-tls-key", "k.pem"}, "--nats-tls-cert"},
		{"bus tls files missing", nil, []string{"--nats-listen", "127.0.0.1:0", "--nats-user", "u", "--nats-password", "long-enough-password", "--nats-tls-cert", "missing.pem", "--nats-tls-key", "missing.key"}, "--nats-listen (PINGDECK_NATS_LISTEN) 127.0.0.1:0: TLS certificate and key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(buildBinary(t), append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, tt.args...)...)
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Fatalf("err = %v, output:\n%s\nwant a failure mentioning %q", err, out, tt.want)
			}
		})
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, name := range []string{"listen", "data-dir", "db", "admin-password", "migrate", "min-interval",
		"max-targets-per-user", "max-groups-per-user", "allowed-origins", "trusted-proxies", "retention-raw", "retention-rollup",
		"allow-targets", "deny-targets", "log-level", "ping-engine", "icmp-mode", "device-key-file",
		"max-connections", "max-connections-per-ip", "request-read-timeout",
		"nats-url", "nats-listen", "nats-user", "nats-password", "nats-tls-cert", "nats-tls-key", "metrics-targets-public", "results-hold-mb"} {
		if !strings.Contains(string(out), "--"+name+" ("+envName(name)+")") {
			t.Errorf("--help does not document --%s with %s", name, envName(name))
		}
	}
	// each default once, in the units a user writes
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Count(line, "(default") > 1 {
			t.Errorf("--help prints a default twice: %s", line)
		}
	}
	for _, want := range []string{"(default 2160h)", "(default 9600h)", "(default info)", "(default 200ms)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "0m0s") || strings.Contains(string(out), "INFO") {
		t.Errorf("--help shows Go's spelling of a default:\n%s", out)
	}
}

// waitUntil polls cond until it holds, failing the test after limit (a bound on a
// stuck server, not a timing check).
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %s for %s", limit, what)
		}
	}
}
