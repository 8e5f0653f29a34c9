package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"pingdeck/internal/ping"
)

// WriteResults stores a batch of probe results and adds them to the rollups (per
// target, location and bucket) in the same transaction. A result is stored under its
// Location, "local" when empty. A result already stored (same target, location and send
// time) is skipped and not counted again, so a batch replayed after an uncertain failure
// never counts twice. Postgres uses COPY (falling back to INSERT … ON CONFLICT DO
// NOTHING RETURNING when part of the batch is stored); SQLite one transaction.
func (s *Store) WriteResults(ctx context.Context, rs []ping.Result) error {
	if len(rs) == 0 {
		return nil
	}
	newLocations := s.locations.unregistered(rs)
	var err error
	if s.dialect == SQLite {
		err = s.writeResultsSQLite(ctx, rs, newLocations)
	} else {
		err = s.writeResultsPostgres(ctx, rs, newLocations)
		if pgCode(err) == "23514" { // check_violation: no partition for some send time yet
			first, last := sendTimeRange(rs)
			if err := s.EnsurePartitions(ctx, first, last); err != nil {
				return err
			}
			err = s.writeResultsPostgres(ctx, rs, newLocations)
		}
	}
	if err == nil {
		s.locations.registered(newLocations)
	}
	return err
}

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func sendTimeRange(rs []ping.Result) (first, last time.Time) {
	first, last = rs[0].SentAt, rs[0].SentAt
	for i := range rs {
		if rs[i].SentAt.Before(first) {
			first = rs[i].SentAt
		}
		if rs[i].SentAt.After(last) {
			last = rs[i].SentAt
		}
	}
	return first, last
}

// withPgx runs f on one pooled connection's pgx.Conn (Postgres only), for COPY and
// array parameters that database/sql cannot express.
func (s *Store) withPgx(ctx context.Context, f func(*pgx.Conn) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error { return f(driverConn.(*stdlib.Conn).Conn()) })
}

// writeResultsPostgres COPYs the batch; when part of it is already stored (a replay),
// it inserts only the new rows instead. Either way the rows actually inserted, and
// only those, go into the rollups before the transaction commits.
func (s *Store) writeResultsPostgres(ctx context.Context, rs []ping.Result, newLocations []string) error {
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		err := pgWriteBatch(ctx, c, rs, newLocations, true)
		if pgCode(err) == "23505" { // unique_violation: part of the batch is already stored
			err = pgWriteBatch(ctx, c, rs, newLocations, false)
		}
		return err
	})
}

// pgWriteBatch writes rs and its rollups in one transaction, registering
// newLocations: by COPY (every row must be new) or by an INSERT that skips stored rows
// and returns the ones it added.
func pgWriteBatch(ctx context.Context, c *pgx.Conn, rs []ping.Result, newLocations []string, useCopy bool) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := pgRegisterLocations(ctx, tx, newLocations); err != nil {
		return err
	}
	var inserted []insertedRow
	if useCopy {
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"probe_results"}, []string{"target_id", "location", "sent_at", "rtt_us", "ok", "unsent"},
			pgx.CopyFromSlice(len(rs), func(i int) ([]any, error) {
				r := &rs[i]
				return []any{r.TargetID, resultLocation(r), r.SentAt, rttMicros(r), r.OK, unsentCode(r)}, nil
			}))
		if err != nil {
			return fmt.Errorf("store: copy results: %w", err)
		}
		inserted = make([]insertedRow, len(rs))
		for i := range rs {
			inserted[i] = insertedRowOf(&rs[i])
		}
	} else if inserted, err = pgInsertNew(ctx, tx, rs); err != nil {
		return err
	}
	if len(inserted) > 0 {
		if err := upsertAllPostgres(ctx, tx, inserted); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	return nil
}

// pgInsertNew inserts the rows of rs not stored yet and returns them.
func pgInsertNew(ctx context.Context, tx pgx.Tx, rs []ping.Result) ([]insertedRow, error) {
	n := len(rs)
	ids, locs, at := make([]string, n), make([]string, n), make([]time.Time, n)
	rtts, oks, unsent := make([]*int32, n), make([]bool, n), make([]int16, n)
	for i := range rs {
		ids[i], locs[i], at[i], oks[i], unsent[i] = rs[i].TargetID, resultLocation(&rs[i]), rs[i].SentAt, rs[i].OK, unsentCode(&rs[i])
		if v := outcomeUs(&rs[i]); v >= 0 {
			us := int32(v)
			rtts[i] = &us
		}
	}
	rows, err := tx.Query(ctx, `INSERT INTO probe_results (target_id, location, sent_at, rtt_us, ok, unsent)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[], $5::bool[], $6::smallint[])
		ON CONFLICT DO NOTHING RETURNING target_id::text, location, sent_at, `+outcomeSQL, ids, locs, at, rtts, oks, unsent)
	if err != nil {
		return nil, fmt.Errorf("store: insert results: %w", err)
	}
	defer rows.Close()
	var out []insertedRow
	for rows.Next() {
		var r insertedRow
		var rtt int32
		if err := rows.Scan(&r.target, &r.location, &r.sentAt, &rtt); err != nil {
			return nil, fmt.Errorf("store: insert results: %w", err)
		}
		r.rttUs = int64(rtt)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: insert results: %w", err)
	}
	return out, nil
}

// sqliteChunk is the rows of one multi-row SQLite statement. The pure-Go driver
// prepares a statement on every execution and binds parameters in time quadratic in
// their number: a few dozen rows a statement is the sweet spot (measured: 64 rows of 9
// parameters cost least CPU per row).
const sqliteChunk = 64

// writeResultsSQLite inserts the batch row by row with INSERT OR IGNORE (a simple
// statement the driver runs fastest), noting which rows were new, and adds those to
// the rollups, in one transaction that also registers newLocations.
func (s *Store) writeResultsSQLite(ctx context.Context, rs []ping.Result, newLocations []string) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	defer tx.Rollback()
	if err := sqliteRegisterLocations(ctx, tx, newLocations); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO probe_results (target_id, location, sent_at, rtt_us, ok, unsent) VALUES (?, ?, ?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	defer stmt.Close()
	inserted := make([]insertedRow, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		res, err := stmt.ExecContext(ctx, r.TargetID, resultLocation(r), r.SentAt.UnixMicro(), rttMicros(r), r.OK, unsentCode(r))
		if err != nil {
			return fmt.Errorf("store: write results: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			inserted = append(inserted, insertedRowOf(r))
		}
	}
	if len(inserted) > 0 {
		if err := upsertAllSQLite(ctx, tx, inserted); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	return nil
}

// valueTuples is "(?, …), (?, …)…": rows tuples of width placeholders.
func valueTuples(rows, width int) string {
	one := "(" + placeholders(width) + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// rttMicros is the stored RTT: NULL for a lost probe.
func rttMicros(r *ping.Result) sql.NullInt64 {
	if !r.OK {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: r.RTT.Microseconds(), Valid: true}
}
