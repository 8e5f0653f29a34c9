//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/glebarez/go-sqlite" // the driver the server's SQLite store uses

	"pingdeck/bench/internal/storedonce"
	"pingdeck/internal/probeblock"
)

// verifySQLite runs the checks of verify on the server's SQLite file at path, once the
// server has stopped: each target's probes in its window, all probes against all
// published, and every hourly rollup against the probes of its hour.
func verifySQLite(ctx context.Context, path string, targets []storedonce.Target, w storedonce.Windows, published float64) (storedOnce, rollupCheck, error) {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return storedOnce{}, rollupCheck{}, fmt.Errorf("verify: open %s: %w", path, err)
	}
	defer db.Close()
	tally, err := storedonce.CheckSQLite(ctx, db, targets, w)
	if err != nil {
		return storedOnce{}, rollupCheck{}, err
	}
	s := storedOnce{Checked: true, Tally: tally, Published: published}
	probes, n, err := probeHours(func(f func(string, []probeblock.Probe)) error {
		return storedonce.ForEachSQLiteProbe(ctx, db, f)
	})
	if err != nil {
		return s, rollupCheck{}, err
	}
	s.Rows = n
	rollups, err := sqliteHourRollups(ctx, db)
	if err != nil || rollups == nil {
		return s, rollupCheck{}, err
	}
	return s, compareHours(probes, rollups), nil
}

// sqliteHourRollups reads probe_rollups_1h (bucket in unix µs): each hour's probes
// (sent + errors, or sent in a schema without errors) and answers; nil without the
// table.
func sqliteHourRollups(ctx context.Context, db *sql.DB) (map[hourKey]hourSums, error) {
	var table, errorsCol int
	if err := db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'probe_rollups_1h'),
		(SELECT count(*) FROM pragma_table_info('probe_rollups_1h') WHERE name = 'errors')`).Scan(&table, &errorsCol); err != nil {
		return nil, fmt.Errorf("verify: schema: %w", err)
	}
	if table == 0 {
		return nil, nil
	}
	counted := "sent"
	if errorsCol > 0 {
		counted = "sent + errors"
	}
	rows, err := db.QueryContext(ctx, `SELECT target_id, bucket, `+counted+`, received FROM probe_rollups_1h`)
	if err != nil {
		return nil, fmt.Errorf("verify: hour rollups: %w", err)
	}
	defer rows.Close()
	out := map[hourKey]hourSums{}
	for rows.Next() {
		var k hourKey
		var v hourSums
		if err := rows.Scan(&k.target, &k.hour, &v.n, &v.answered); err != nil {
			return nil, fmt.Errorf("verify: hour rollups: %w", err)
		}
		out[k] = out[k].plus(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify: hour rollups: %w", err)
	}
	return out, nil
}
