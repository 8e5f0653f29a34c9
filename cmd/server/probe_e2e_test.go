package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/store"
)

// TestProbedResultsAreStored runs the real binary with a group of loopback targets and
// reads the database afterwards: every target has one stored, answered result per
// interval.
func TestProbedResultsAreStored(t *testing.T) {
	for _, tc := range []struct {
		engine  string
		subnets int // /24s of loopback targets, 254 each
	}{
		{"probing", 1},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			dataDir := t.TempDir()
			srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
				"PINGDECK_ALLOW_TARGETS=127.0.0.0/8"}, "--listen", "127.0.0.1:0", "--ping-engine", tc.engine)
			c := srv.client()
			c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
			var cidrs []string
			for i := range tc.subnets {
				cidrs = append(cidrs, fmt.Sprintf("127.3.%d.0/24", i))
			}
			var g e2eGroup
			c.call("POST", "/api/v1/groups", map[string]any{"name": "loopback", "interval": "1s", "targets": strings.Join(cidrs, "\n")}, 201, &g)
			n := 254 * tc.subnets
			if len(g.Targets) != n {
				t.Fatalf("created %d targets, want %d", len(g.Targets), n)
			}
			start := time.Now()
			time.Sleep(9 * time.Second)
			srv.stop()

			st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "pingdeck.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			targets, err := st.Targets(context.Background(), g.ID)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, len(targets))
			for i, tg := range targets {
				ids[i] = tg.ID
			}
			// A 3 s window well inside the run (after start-up, before shutdown): three
			// probes per target.
			from := start.Add(4 * time.Second).Truncate(time.Second)
			stats, err := st.ResultStats(context.Background(), ids, from, from.Add(3*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			var sent, received, off int64
			for _, id := range ids {
				s := stats[id]
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
