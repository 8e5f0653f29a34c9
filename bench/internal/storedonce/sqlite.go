package storedonce

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"pingdeck/internal/probeblock"
)

// The checks on the embedded default, SQLite: the store keeps compact blocks in
// probe_blocks (target_id text, location, start integer µs, data blob); builds before
// compact storage keep one row a probe in probe_results (target_id text, sent_at integer
// µs, ok). Both are read with database/sql (the caller opens the file with the
// github.com/glebarez/go-sqlite driver, as the server does).

// CheckSQLite is Check on the SQLite database db.
func CheckSQLite(ctx context.Context, db *sql.DB, targets []Target, w Windows) (Tally, error) {
	ids := make([]string, len(targets))
	froms, tos := make([]time.Time, len(targets)), make([]time.Time, len(targets))
	for i, t := range targets {
		ids[i] = t.ID
		froms[i], tos[i] = w.Of(t.ID)
	}
	counts, err := countProbes(ids, froms, tos, func(f func(string, []probeblock.Probe)) error {
		return ForEachSQLiteProbe(ctx, db, f)
	})
	if err != nil {
		return Tally{}, err
	}
	return Count(targets, counts, w.K), nil
}

// SQLiteHasBlocks says whether db has compact storage's probe_blocks table.
func SQLiteHasBlocks(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'probe_blocks'`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("storedonce: schema: %w", err)
	}
	return n > 0, nil
}

// ForEachSQLiteProbe calls f with every probe stored in db: each block's probes
// decoded, or (before compact storage) each raw row as a probe of its own.
func ForEachSQLiteProbe(ctx context.Context, db *sql.DB, f func(target string, probes []probeblock.Probe)) error {
	blocks, err := SQLiteHasBlocks(ctx, db)
	if err != nil {
		return err
	}
	if !blocks {
		return forEachSQLiteRow(ctx, db, f)
	}
	rows, err := db.QueryContext(ctx, `SELECT target_id, start, data FROM probe_blocks`)
	if err != nil {
		return fmt.Errorf("storedonce: read blocks: %w", err)
	}
	defer rows.Close()
	return decodeBlocks(rows, f)
}

// forEachSQLiteRow calls f with each raw row of probe_results as one probe.
func forEachSQLiteRow(ctx context.Context, db *sql.DB, f func(target string, probes []probeblock.Probe)) error {
	rows, err := db.QueryContext(ctx, `SELECT target_id, sent_at, ok FROM probe_results`)
	if err != nil {
		return fmt.Errorf("storedonce: read rows: %w", err)
	}
	defer rows.Close()
	one := make([]probeblock.Probe, 1)
	for rows.Next() {
		var id string
		var sent int64
		var ok bool
		if err := rows.Scan(&id, &sent, &ok); err != nil {
			return fmt.Errorf("storedonce: read rows: %w", err)
		}
		one[0] = probeblock.Probe{SentUs: sent, Status: probeblock.Lost}
		if ok {
			one[0].Status = probeblock.Answered
		}
		f(id, one)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("storedonce: read rows: %w", err)
	}
	return nil
}
