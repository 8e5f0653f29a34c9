package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/store/storetest"
)

// TestProbedResultsAreStored runs the real binary with a group of loopback targets and
// reads the database afterwards: every target has one stored, answered result per
// interval.
func TestProbedResultsAreStored(t *testing.T) {
	// pro-bing in raw-socket mode (what root gets on this host) hands every reply to
	// every pinger's socket, so its cost grows with the square of the target count; it is
	// checked here with 62 targets, and at 1,000 in unprivileged mode against the
	// simulator (internal/ping). The shared engine takes 1,016, stored in Postgres: the
	// pure-Go SQLite under the race detector, on a shared box, cannot keep up with 1,016
	// results a second plus their rollups (it takes ~0.8 CPU-s per 1,016 there, ~30 ms
	// without -race).
	for _, tc := range []struct {
		engine   string
		cidrs    []string
		n        int
		postgres bool
	}{
		{"probing", []string{"127.3.0.0/26"}, 62, false},
		{"shared", []string{"127.3.0.0/24", "127.3.1.0/24", "127.3.2.0/24", "127.3.3.0/24"}, 1016, true},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			dataDir := t.TempDir()
			dsn := "sqlite:" + filepath.Join(dataDir, "pingdeck.db")
			if tc.postgres {
				dsn = storetest.PostgresURL(t)
			}
			srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
				"PINGDECK_ALLOW_TARGETS=127.0.0.0/8", "PINGDECK_DB=" + dsn}, "--listen", "127.0.0.1:0", "--ping-engine", tc.engine)
			c := srv.client()
			c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
			var g e2eGroup
			c.call("POST", "/api/v1/groups", map[string]any{"name": "loopback", "interval": "1s", "targets": strings.Join(tc.cidrs, "\n")}, 201, &g)
			n := tc.n
			if len(g.Targets) != n {
				t.Fatalf("created %d targets, want %d", len(g.Targets), n)
			}
			start := time.Now()
			time.Sleep(9 * time.Second)
			srv.stop()

			st, err := store.Open(context.Background(), dsn, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			targets, err := st.Targets(context.Background(), g.ID)
			if err != nil {
				t.Fatal(err)
			}
			// For each target, a 3 s window well inside the run (after start-up, before
			// shutdown) whose edges fall half an interval away from its sends: exactly
			// three probes, whatever the send jitter.
			base := start.Add(4 * time.Second).Truncate(time.Second)
			var sent, received, off int64
			for _, tg := range targets {
				from := base.Add(ping.Phase(tg.ID, time.Second) - 500*time.Millisecond)
				stats, err := st.ResultStats(context.Background(), []string{tg.ID}, from, from.Add(3*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				s := stats[tg.ID]
				sent += s.Sent
				received += s.Received
				if s.Sent != 3 {
					off++
				}
			}
			if sent != int64(3*n) || received != sent {
				t.Fatalf("%d targets over 3 s: %d results stored (%d answered), want %d, all answered; %d targets off",
					n, sent, received, 3*n, off)
			}
		})
	}
}
