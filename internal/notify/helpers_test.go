package notify_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/notify"
	"pingdeck/internal/store"
	"pingdeck/internal/store/storetest"

	"github.com/google/uuid"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Microsecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eachDB runs f on a fresh SQLite file and a fresh Postgres database.
func eachDB(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "test.db")
			if name == "postgres" {
				dsn = storetest.PostgresURL(t)
			}
			f(t, dsn)
		})
	}
}

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{Migrate: true})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sqliteStore(t *testing.T) *store.Store {
	t.Helper()
	return openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
}

// newChannel stores a channel owned by a new user; internal says whether an admin set
// it up (so it may reach loopback receivers).
func newChannel(t *testing.T, s *store.Store, kind notify.Kind, config, secret string, internal bool) *notify.Channel {
	t.Helper()
	ctx := context.Background()
	u := &auth.User{ID: uuid.NewString(), Username: "u" + uuid.NewString()[:8], PasswordHash: "x", CreatedAt: time.Now().UTC()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := &notify.Channel{ID: uuid.NewString(), OwnerUserID: u.ID, Kind: kind, Name: string(kind), Config: []byte(config),
		Secret: secret, AllowInternal: internal, CreatedAt: now, UpdatedAt: now}
	if err := c.Validate(); err != nil {
		t.Fatalf("channel: %v", err)
	}
	if err := s.CreateNotifyChannel(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func firing(id string, since time.Time) notify.Notification {
	return notify.Notification{ID: id + ":firing", AlertID: id, State: notify.Firing, Rule: "core down", Group: "core",
		Target: "198.18.0.1", Location: "local", Severity: "critical", Since: since,
		Figures: map[string]float64{"loss_pct": 100}, URL: "http://pingdeck.example/groups/1"}
}

// deliveries returns a channel's delivery log.
func deliveries(t *testing.T, s *store.Store, channelID string) []store.DeliveryLog {
	t.Helper()
	logs, err := s.NotifyDeliveries(context.Background(), channelID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// binary finds a program the test needs; without it the test is skipped, unless CI is
// set, where it fails.
func binary(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not installed (make test-deps installs it)", names[0])
	}
	t.Skipf("%s not installed (make test-deps installs it)", names[0])
	return ""
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs a program until the test ends (its stdin stays open until then); its
// stderr goes to the test log. It returns the program's stdout lines.
func start(t *testing.T, name string, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stderr = testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	lines := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
	})
	return lines
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// waitFor polls cond until it holds; it fails the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
