package bus

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer collects a test's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// open starts a bus with cfg (StoreDir and Logger filled in when empty) and closes it
// at the end of the test.
func open(t *testing.T, cfg Config) (*Bus, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if cfg.StoreDir == "" {
		cfg.StoreDir = filepath.Join(t.TempDir(), "bus")
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v\nlog:\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b, logs
}

func TestEmbeddedByDefaultOpensNoPort(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bus")
	b, _ := open(t, Config{StoreDir: dir})
	if err := b.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if addr := b.ListenAddr(); addr != nil {
		t.Fatalf("ListenAddr = %v, want none", addr)
	}
	// The server itself holds no listener (not merely an unreported one).
	if addr := b.server.Addr(); addr != nil {
		t.Fatalf("the embedded server listens on %v", addr)
	}
	if !b.server.JetStreamEnabled() {
		t.Fatal("JetStream is off")
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("JetStream store not under the store dir: %v", err)
	}
}

func TestListenWithoutCredentialsIsRefused(t *testing.T) {
	for _, cfg := range []Config{
		{Listen: "127.0.0.1:0"},
		{Listen: "127.0.0.1:0", User: "pingdeck"},
		{Listen: "127.0.0.1:0", Password: "secret-secret"},
	} {
		cfg.StoreDir = filepath.Join(t.TempDir(), "bus")
		b, err := Open(cfg)
		if err == nil {
			b.Close()
			t.Fatalf("Open(%+v) started a listening bus", cfg)
		}
		if !strings.Contains(err.Error(), "without credentials") {
			t.Fatalf("Open(%+v): %v; want a refusal naming the missing credentials", cfg, err)
		}
	}
}

func TestListenerTakesOnlyAuthenticatedClients(t *testing.T) {
	b, _ := open(t, Config{Listen: "127.0.0.1:0", User: "agent", Password: "correct horse battery"})
	addr := b.ListenAddr()
	if addr == nil {
		t.Fatal("no listener")
	}
	url := "nats://" + addr.String()

	nc, err := nats.Connect(url, nats.UserInfo("agent", "correct horse battery"), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect with the password: %v", err)
	}
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}

	for name, opts := range map[string][]nats.Option{
		"anonymous":      nil,
		"wrong password": {nats.UserInfo("agent", "wrong")},
	} {
		bad, err := nats.Connect(url, append(opts, nats.Timeout(5*time.Second))...)
		if err == nil {
			bad.Close()
			t.Fatalf("%s: connected", name)
		}
		if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("%s: %v; want an authorization error", name, err)
		}
	}
}

func TestReadyNamesALostConnection(t *testing.T) {
	b, _ := open(t, Config{})
	b.server.Shutdown()
	b.server.WaitForShutdown()
	err := b.Ready()
	if err == nil {
		t.Fatal("Ready after the server stopped: nil")
	}
	if !strings.Contains(err.Error(), "NATS") {
		t.Fatalf("Ready: %v; want it to name NATS", err)
	}
}

func TestListenAddressTakenFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	b, err := Open(Config{StoreDir: filepath.Join(t.TempDir(), "bus"), Listen: ln.Addr().String(), User: "u", Password: "p"})
	if err == nil {
		b.Close()
		t.Fatal("started on a taken port")
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("error %v does not name the address", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to notice the port is taken", d)
	}
}
