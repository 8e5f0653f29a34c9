package store

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"pingdeck/internal/ping"
	"pingdeck/internal/store/storetest"
)

// openAtVersion opens dsn with its schema migrated up to version only.
func openAtVersion(t *testing.T, dsn string, version int64) *Store {
	t.Helper()
	dialect, conn, err := ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &gorm.Config{Logger: logger.Discard}
	var db *gorm.DB
	if dialect == SQLite {
		db, err = gorm.Open(sqlite.Open(sqliteDSN(conn)), cfg)
	} else {
		db, err = gorm.Open(postgres.Open(conn), cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{db: db, dialect: dialect, locations: newLocationRegistry(), open: newOpenBlocks()}
	p, err := s.migrationProvider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatalf("migrate up to %d: %v", version, err)
	}
	return s
}

// TestMigrationGivesStoredResultsTheOwnLocation migrates a database holding results,
// rollups and a group from before locations: the rows become location "local" and keep
// counting, the new key holds on the partitions that existed (Postgres) and those made
// after, and the tables keep their indexes (SQLite). Down goes back to the old key,
// keeping the local rows.
func TestMigrationGivesStoredResultsTheOwnLocation(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "old.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := dsns[name](t)
			old := openAtVersion(t, dsn, 8)
			base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			target, userID, groupID := uuid.NewString(), uuid.NewString(), uuid.NewString()
			if err := old.EnsurePartitions(ctx, base, base); err != nil {
				t.Fatal(err)
			}
			// 30 probes of one target at 1 Hz, every third lost, and their rollups, as
			// version 8 wrote them.
			minute, hour := newAgg(), newAgg()
			for i := range 30 {
				sentAt := base.Add(time.Duration(i) * time.Second)
				var rtt any
				rttUs := int64(lostUs)
				if i%3 != 0 {
					rttUs = 2000 + int64(i)
					rtt = rttUs
				}
				var at any = sentAt
				if old.dialect == SQLite {
					at = sentAt.UnixMicro()
				}
				mustExec(t, old, "INSERT INTO probe_results (target_id, sent_at, rtt_us, ok, unsent) VALUES (?, ?, ?, ?, 0)", target, at, rtt, i%3 != 0)
				minute.addProbe(rttUs)
				hour.addProbe(rttUs)
			}
			for table, a := range map[string]*agg{"probe_rollups_1m": minute, "probe_rollups_1h": hour} {
				var bucket any = base
				if old.dialect == SQLite {
					bucket = base.UnixMicro()
				}
				mustExec(t, old, "INSERT INTO "+table+" (target_id, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
					target, bucket, a.sent, a.received, int64(a.sumUs), int64(a.sumSqUs), a.minUs, a.maxUs, a.hist.encode())
			}
			mustExec(t, old, "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, 'ann', 'x', ?)", userID, base)
			mustExec(t, old, `INSERT INTO groups (id, owner_id, name, visibility, interval_ms, timeout_ms, packet_size, created_at, updated_at)
				VALUES (?, ?, 'old', 'private', 1000, 1000, 56, ?, ?)`, groupID, userID, base, base)
			mustExec(t, old, "INSERT INTO targets (id, group_id, address, ip, created_at) VALUES (?, ?, '192.0.2.1', '192.0.2.1', ?)", uuid.NewString(), groupID, base)
			closeDB(t, old)

			s := openTest(t, dsn) // migrates
			report := func(from, to time.Time) *Report {
				return mustReport(t, s, ReportQuery{TargetIDs: []string{target}, From: from, To: to, RawSince: base.Add(-time.Hour)})
			}
			whole, edge := report(base, base.Add(time.Hour)), report(base.Add(10*time.Second), base.Add(20*time.Second))
			if got := whole.ByLocation[target]["local"]; len(whole.ByLocation[target]) != 1 || got.Sent != 30 || got.Received != 20 {
				t.Fatalf("the stored hour (rollups): %+v", whole.ByLocation[target])
			}
			if got := edge.ByLocation[target]["local"]; len(edge.ByLocation[target]) != 1 || got.Sent != 10 || got.Received != 7 {
				t.Fatalf("10 s of raw rows: %+v", edge.ByLocation[target])
			}
			g, err := s.GroupFor(ctx, groupID, userID)
			if err != nil || !slices.Equal(g.Group.Locations, []string{"local"}) {
				t.Fatalf("old group's locations %v (%v), want the server's own", g.Group.Locations, err)
			}
			if ds, err := s.ProbedFrom("local", true).ActiveTargets(ctx); err != nil || len(ds) != 1 {
				t.Fatalf("the server's own prober lists %v (%v), want the old group's target", ds, err)
			}

			// The same send times from another location are new rows; from local again
			// they are replays, on the partition made before the migration and on one
			// made after (two days on).
			var rs []ping.Result
			for _, day := range []time.Duration{0, 48 * time.Hour} {
				for i := range 30 {
					r := ping.Result{TargetID: target, SentAt: base.Add(day + time.Duration(i)*time.Second), OK: true, RTT: time.Millisecond}
					rs = append(rs, r, at("fra", []ping.Result{r})[0])
				}
			}
			for range 2 {
				if err := s.WriteResults(ctx, rs); err != nil {
					t.Fatal(err)
				}
			}
			for _, day := range []time.Duration{0, 48 * time.Hour} {
				st, err := s.ResultStatsByLocation(ctx, []string{target}, "", base.Add(day), base.Add(day+time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				if st[target]["local"].Sent != 30 || st[target]["fra"].Sent != 30 {
					t.Errorf("day +%v: local %d, fra %d; want 30 each", day, st[target]["local"].Sent, st[target]["fra"].Sent)
				}
			}
			checkLocationKeys(t, s)

			// Down: back to the old key, with the local rows only.
			p, err := s.migrationProvider()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 8); err != nil {
				t.Fatalf("migrate down: %v", err)
			}
			var n int64
			if err := s.db.Raw("SELECT count(*) FROM probe_results").Row().Scan(&n); err != nil || n != 60 {
				t.Fatalf("after down: %d results (%v), want the 60 local ones", n, err)
			}
		})
	}
}

// checkLocationKeys checks the primary keys (on every Postgres partition) and the
// SQLite indexes of the block and rollup tables (version 16 keeps the location key
// version 9 gave the rows in its blocks).
func checkLocationKeys(t *testing.T, s *Store) {
	t.Helper()
	if s.dialect == SQLite {
		for table, index := range map[string]string{"probe_blocks": "probe_blocks_start", "probe_rollups_1h": "probe_rollups_1h_bucket"} {
			var sqlText string
			if err := s.db.Raw("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table).Row().Scan(&sqlText); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sqlText, "PRIMARY KEY (target_id, location, ") || (table != "probe_blocks") != strings.Contains(sqlText, "WITHOUT ROWID") {
				t.Errorf("%s: %s", table, sqlText)
			}
			if index == "" {
				continue
			}
			var n int
			if err := s.db.Raw("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ? AND tbl_name = ?", index, table).Row().Scan(&n); err != nil || n != 1 {
				t.Errorf("index %s on %s: %d (%v)", index, table, n, err)
			}
		}
		return
	}
	rows, err := s.db.Raw(`SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE i.indisprimary AND (c.relname LIKE 'probe\_rollups%' OR c.relname LIKE 'probe\_blocks%')`).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var table, def string
		if err := rows.Scan(&table, &def); err != nil {
			t.Fatal(err)
		}
		seen++
		if !strings.Contains(def, "(target_id, location, start)") && !strings.Contains(def, "(target_id, location, bucket)") {
			t.Errorf("%s: %s", table, def)
		}
	}
	// Two parents; three days of blocks (the batch two days on made the one between
	// too); one month of hourly rollups.
	if seen != 2+3+1 {
		t.Errorf("%d primary keys on the block and rollup tables, want 6", seen)
	}
}

func mustExec(t *testing.T, s *Store, query string, args ...any) {
	t.Helper()
	if err := s.db.Exec(query, args...).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func closeDB(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
