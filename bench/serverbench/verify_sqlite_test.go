//go:build linux

package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"pingdeck/bench/internal/storedonce"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// TestVerifySQLiteOnTheStoresOwnWrites has the real store write 90 s of two targets'
// results across an hour's edge into a SQLite file, and checks it as the benchmark does.
func TestVerifySQLiteOnTheStoresOwnWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bench.db")
	s, err := store.Open(ctx, "sqlite:"+path, store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	targets := []storedonce.Target{
		{ID: "0b6f4f8e-1111-4c7e-9a8b-000000000001", Address: "127.64.0.1"},
		{ID: "0b6f4f8e-1111-4c7e-9a8b-000000000002", Address: "127.64.0.2"},
	}
	base := time.Date(2026, 3, 4, 10, 59, 0, 0, time.UTC)
	var rs []ping.Result
	for _, tg := range targets {
		first := base.Add(ping.Phase(tg.ID, time.Second))
		for i := range 90 {
			r := ping.Result{TargetID: tg.ID, GroupID: "0b6f4f8e-2222-4c7e-9a8b-000000000001", SentAt: first.Add(time.Duration(i) * time.Second),
				OK: i%7 != 3, RTT: time.Duration(40+i) * time.Microsecond}
			if !r.OK {
				r.RTT, r.Err = 0, ping.ErrTimeout
			}
			rs = append(rs, r)
		}
	}
	if err := s.WriteResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	w := storedonce.Windows{Base: base.Add(5 * time.Second), Interval: time.Second, K: 80}
	stored, rollups, err := verifySQLite(ctx, path, targets, w, 180)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.ok() || stored.Rows != 180 || stored.Stored != 160 {
		t.Errorf("stored once: %+v; want ok, 180 probes, 160 in the windows", stored)
	}
	if !rollups.ok() || !rollups.HoursOnly || rollups.Buckets != 4 { // two targets × two hours
		t.Errorf("rollups: %+v; want 4 hour buckets, all equal to their probes", rollups)
	}
	if more, _, err := verifySQLite(ctx, path, targets, w, 181); err != nil || more.ok() {
		t.Errorf("181 published, 180 stored: ok %v (%v)", more.ok(), err)
	}

	// A rollup that lost a probe, and one hour's rollup gone: both are found.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hour := base.Add(time.Minute).UnixMicro()
	for _, q := range []struct {
		sql    string
		target string
	}{
		{`UPDATE probe_rollups_1h SET sent = sent - 1 WHERE target_id = ? AND bucket = ?`, targets[0].ID},
		{`DELETE FROM probe_rollups_1h WHERE target_id = ? AND bucket < ?`, targets[1].ID},
	} {
		if res, err := db.ExecContext(ctx, q.sql, q.target, hour); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s: %d rows", q.sql, n)
		}
	}
	_, rollups, err = verifySQLite(ctx, path, targets, w, 180)
	if err != nil {
		t.Fatal(err)
	}
	if rollups.ok() || rollups.HourOff != 2 || rollups.Missing != 1+60 || rollups.Buckets != 3 {
		t.Errorf("after tampering: %+v; want 2 of 3 hours off, 61 missing", rollups)
	}
}
