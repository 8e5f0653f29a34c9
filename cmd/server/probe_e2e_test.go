//go:build linux

package main

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/ping"
	"pingdeck/internal/ping/pingtest"
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
				t.Fatalf("%d targets over 3 s: %d results stored (%d answered), want %d, all answered; %d targets off\nserver log:\n%s",
					n, sent, received, 3*n, off, srv.stderr)
			}
		})
	}
}

// TestStoredResultsAgainstSimulator is the probe engine's "done when": the real server,
// run in a network namespace that reaches both its own loopback and the ping
// simulator, probes a group of 1,016 loopback targets and a group of simulated ones
// (20 ms delay, 25 % loss, silent) on each engine; afterwards the database holds one
// result per target per interval, and the simulated delay and loss read back from it.
func TestStoredResultsAgainstSimulator(t *testing.T) {
	sim := pingtest.Start(t, pingtest.Options{})
	type simTarget struct {
		addr     string
		behavior pingtest.Behavior
	}
	var simulated []simTarget
	for i := 1; i <= 4; i++ {
		simulated = append(simulated,
			simTarget{fmt.Sprintf("198.18.0.%d", i), pingtest.Behavior{Delay: 20 * time.Millisecond}},
			simTarget{fmt.Sprintf("198.18.1.%d", i), pingtest.Behavior{Loss: 0.25}},
			simTarget{fmt.Sprintf("198.18.2.%d", i), pingtest.Behavior{Silent: true}})
	}
	for _, st := range simulated {
		sim.Set(netip.MustParseAddr(st.addr), st.behavior)
	}
	loopback := []string{"127.3.0.0/24", "127.3.1.0/24", "127.3.2.0/24", "127.3.3.0/24"}

	for _, engine := range []string{"probing", "shared"} {
		t.Run(engine, func(t *testing.T) {
			peer := sim.NewPeer(t) // a fresh one per server
			dataDir := t.TempDir()
			srv := startServerIn(t, buildPlainBinary(t), []string{"ip", "netns", "exec", peer.Name()},
				[]string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
					"PINGDECK_ALLOW_TARGETS=127.0.0.0/8,198.18.0.0/15"},
				"--listen", "127.0.0.1:0", "--ping-engine", engine, "--icmp-mode", "unprivileged")
			c := srv.clientVia(peer.DialContext)
			defer c.c.CloseIdleConnections() // lets the peer namespace go with the server
			c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
			var lo, simGroup e2eGroup
			c.call("POST", "/api/v1/groups", map[string]any{"name": "loopback", "interval": "1s",
				"targets": strings.Join(loopback, "\n")}, 201, &lo)
			addrs := make([]string, len(simulated))
			for i, st := range simulated {
				addrs[i] = st.addr
			}
			c.call("POST", "/api/v1/groups", map[string]any{"name": "simulated", "interval": "1s",
				"targets": strings.Join(addrs, "\n")}, 201, &simGroup)
			if len(lo.Targets) != 1016 || len(simGroup.Targets) != len(simulated) {
				t.Fatalf("created %d loopback and %d simulated targets, want 1016 and %d",
					len(lo.Targets), len(simGroup.Targets), len(simulated))
			}
			start := time.Now()
			time.Sleep(10 * time.Second)
			srv.stop()

			st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "pingdeck.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// Per target, a 4 s window well inside the run whose edges fall half an
			// interval from its sends: exactly four probes. The shared engine keeps
			// every send within a tick of its phase; pro-bing paces each target on a
			// timer goroutine of its own, which on a loaded machine can slip a send
			// past the window's edge into the next window: one more or one less.
			// k consecutive probes of a 25 %-loss target lose ⌊k/4⌋ or ⌈k/4⌉.
			const probes = 4
			slip := int64(0)
			if engine == "probing" {
				slip = 1
			}
			near := func(n int64) bool { return n >= probes-slip && n <= probes+slip }
			base := start.Add(4 * time.Second).Truncate(time.Second)
			statsOf := func(id string) store.WindowStats {
				t.Helper()
				from := base.Add(ping.Phase(id, time.Second) - 500*time.Millisecond)
				stats, err := st.ResultStats(context.Background(), []string{id}, from, from.Add(probes*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				return stats[id]
			}
			loTargets, err := st.Targets(context.Background(), lo.ID)
			if err != nil {
				t.Fatal(err)
			}
			var off []string
			for _, tg := range loTargets {
				if s := statsOf(tg.ID); !near(s.Sent) || s.Received != s.Sent {
					off = append(off, fmt.Sprintf("%s: %d stored, %d answered", tg.Address, s.Sent, s.Received))
				}
			}
			if len(off) > 0 {
				t.Errorf("%d of %d loopback targets do not have %d answered results in %d s: %s",
					len(off), len(loTargets), probes, probes, strings.Join(off[:min(len(off), 10)], "; "))
			}

			simTargets, err := st.Targets(context.Background(), simGroup.ID)
			if err != nil {
				t.Fatal(err)
			}
			behavior := map[string]pingtest.Behavior{}
			for _, s := range simulated {
				behavior[s.addr] = s.behavior
			}
			fastest := time.Hour // of the delayed targets' stored RTTs
			for _, tg := range simTargets {
				s, b := statsOf(tg.ID), behavior[tg.Address]
				lost := s.Sent - s.Received
				var lossOK bool
				switch {
				case b.Silent:
					lossOK = lost == s.Sent
				case b.Loss > 0:
					lossOK = lost == s.Sent/4 || lost == (s.Sent+3)/4
				default:
					lossOK = lost == 0
				}
				if !near(s.Sent) || !lossOK {
					t.Errorf("%s (%+v): %d results stored, %d answered; want %d (±%d), with the behaviour's loss",
						tg.Address, b, s.Sent, s.Received, probes, slip)
				}
				if b.Delay > 0 && s.Received > 0 {
					low := time.Duration(*s.RTTMinUs) * time.Microsecond
					if low < b.Delay {
						t.Errorf("%s: stored RTT %v, below the simulated %v", tg.Address, low, b.Delay)
					}
					fastest = min(fastest, low)
				}
			}
			// Replies are never early (checked above); on a loaded machine many are
			// late, so the fastest of the delayed targets' 16 probes is compared.
			// pro-bing times replies in user space after a channel hop, so with a
			// thousand pingers it reads later than the shared engine's kernel stamps.
			slack := 10 * time.Millisecond
			if engine == "probing" {
				slack = 50 * time.Millisecond
			}
			if fastest > 20*time.Millisecond+slack {
				t.Errorf("fastest stored RTT of the 20 ms targets %v, want 20 ms and at most %v more", fastest, slack)
			}
		})
	}
}
