package storedonce

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"

	"pingdeck/internal/ping"
	"pingdeck/internal/probeblock"
	"pingdeck/internal/store"
)

// sqliteDB is a SQLite file with the store's own schema (migrated by store.Open, then
// closed), opened with database/sql.
func sqliteDB(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bench.db")
	s, err := store.Open(t.Context(), "sqlite:"+path, store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sendsOf are a target's sends on its schedule, once a second from base for n seconds,
// every fifth lost.
func sendsOf(id string, base time.Time, n int) []probeblock.Probe {
	first := base.Add(ping.Phase(id, time.Second))
	var out []probeblock.Probe
	for i := range n {
		p := probeblock.Probe{SentUs: first.Add(time.Duration(i) * time.Second).UnixMicro(), RTTUs: 40, Status: probeblock.Answered}
		if i%5 == 4 {
			p.RTTUs, p.Status = 0, probeblock.Lost
		}
		out = append(out, p)
	}
	return out
}

func TestCheckSQLiteReadsTheStoresBlocks(t *testing.T) {
	db := sqliteDB(t)
	ctx := context.Background()
	if ok, err := SQLiteHasBlocks(ctx, db); err != nil || !ok {
		t.Fatalf("the store's schema has no probe_blocks (%v)", err)
	}
	base := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	targets := []Target{
		{"0b6f4f8e-1111-4c7e-9a8b-000000000001", "127.64.0.1"},
		{"0b6f4f8e-1111-4c7e-9a8b-000000000002", "127.64.0.2"},
		{"0b6f4f8e-1111-4c7e-9a8b-000000000003", "127.64.0.3"},
	}
	// Target 1: 90 s in two blocks (a minute, then 30 s); target 2: the same less one
	// probe in the window; target 3: a second block that repeats a probe of the first.
	insert := func(id string, probes []probeblock.Probe) {
		t.Helper()
		start := probes[0].SentUs
		if _, err := db.ExecContext(ctx, `INSERT INTO probe_blocks (target_id, location, start, data) VALUES (?, 'local', ?, ?)`,
			id, start, probeblock.Encode(start, probes)); err != nil {
			t.Fatal(err)
		}
	}
	for i, tg := range targets {
		p := sendsOf(tg.ID, base, 90)
		switch i {
		case 0:
			insert(tg.ID, p[:60])
			insert(tg.ID, p[60:])
		case 1:
			insert(tg.ID, p[:30])
			insert(tg.ID, p[31:])
		case 2:
			insert(tg.ID, p[:60])
			insert(tg.ID, p[59:])
		}
	}
	w := Windows{Base: base.Add(10 * time.Second), Interval: time.Second, K: 70} // each target's sends 10 … 79
	tally, err := CheckSQLite(ctx, db, targets, w)
	if err != nil {
		t.Fatal(err)
	}
	if tally.Targets != 3 || tally.Off != 2 || tally.Missing != 1 || tally.Extra != 1 || tally.Stored != 210 || tally.Example != "127.64.0.2 has 69" {
		t.Errorf("tally %+v; want 3 targets, 2 off (one missing, one extra), 210 stored", tally)
	}
	var probes, lost int
	if err := ForEachSQLiteProbe(ctx, db, func(_ string, ps []probeblock.Probe) {
		for _, p := range ps {
			probes++
			if p.Status != probeblock.Answered {
				lost++
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if probes != 270 || lost != 55 { // 18 each, and the repeated probe 59 was lost
		t.Errorf("%d probes, %d lost; want 270 and 55", probes, lost)
	}
}

func TestCheckSQLiteReadsRawRowsWithoutBlocks(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	// The raw table as builds before compact storage made it (migration 00009).
	if _, err := db.ExecContext(ctx, `CREATE TABLE probe_results (target_id text NOT NULL, location text NOT NULL DEFAULT 'local',
		sent_at integer NOT NULL, rtt_us integer, ok integer NOT NULL, unsent integer NOT NULL DEFAULT 0,
		PRIMARY KEY (target_id, location, sent_at)) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	tg := Target{"0b6f4f8e-1111-4c7e-9a8b-000000000001", "127.64.0.1"}
	for _, p := range sendsOf(tg.ID, base, 30) {
		if _, err := db.ExecContext(ctx, `INSERT INTO probe_results (target_id, sent_at, rtt_us, ok) VALUES (?, ?, ?, ?)`,
			tg.ID, p.SentUs, p.RTTUs, p.Status == probeblock.Answered); err != nil {
			t.Fatal(err)
		}
	}
	tally, err := CheckSQLite(ctx, db, []Target{tg}, Windows{Base: base, Interval: time.Second, K: 30})
	if err != nil {
		t.Fatal(err)
	}
	if !tally.OK() || tally.Stored != 30 {
		t.Errorf("tally %+v; want 30 stored, ok", tally)
	}
}
