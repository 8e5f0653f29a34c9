package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/store/storetest"
)

// TestResultsSurviveAnOutageAndAKill: the database stops taking results under a
// running server (its results table is renamed away, so every write fails); the
// server keeps probing and spools to disk; it is killed with SIGKILL mid-outage; the
// database comes back and the next start writes what was spooled. A window inside
// the outage then holds every probe, exactly once.
func TestResultsSurviveAnOutageAndAKill(t *testing.T) {
	const interval = 200 * time.Millisecond
	ctx := context.Background()
	dsn := storetest.PostgresURL(t)
	dataDir := t.TempDir()
	env := []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8", "PINGDECK_DB=" + dsn}
	srv := startServer(t, env, "--listen", "127.0.0.1:0")
	c := srv.client()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "outage", "interval": interval.String(), "targets": "127.4.0.0/28"}, 201, &g)
	time.Sleep(2 * time.Second) // results flowing into the database

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ALTER TABLE probe_results RENAME TO probe_results_away"); err != nil {
		t.Fatal(err)
	}
	outage := time.Now()
	spoolDir := filepath.Join(dataDir, "spool")
	waitUntil(t, 20*time.Second, "results to reach the spool during the outage", func() bool { return spoolFiles(t, spoolDir) > 0 })
	time.Sleep(time.Until(outage.Add(4 * time.Second)))
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-srv.exited

	if _, err := db.ExecContext(ctx, "ALTER TABLE probe_results_away RENAME TO probe_results"); err != nil {
		t.Fatal(err)
	}
	again := startServer(t, env, "--listen", "127.0.0.1:0")
	waitUntil(t, 30*time.Second, "the spool to be written after the restart", func() bool { return spoolFiles(t, spoolDir) == 0 })
	again.stop()

	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// For each target, a 2 s window inside the outage whose edges fall half an interval
	// away from its sends: exactly ten probes, all answered.
	base := outage.Add(500 * time.Millisecond).Truncate(interval)
	for _, tg := range g.Targets {
		from := base.Add(ping.Phase(tg.ID, interval) - interval/2)
		stats, err := st.ResultStats(ctx, []string{tg.ID}, from, from.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if s := stats[tg.ID]; s.Sent != 10 || s.Received != 10 {
			t.Fatalf("target %s, 2 s inside the outage: %d results stored (%d answered), want 10 and 10\nfirst server:\n%s\nsecond server:\n%s",
				tg.Address, s.Sent, s.Received, srv.stderr, again.stderr)
		}
	}
}

func spoolFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
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
