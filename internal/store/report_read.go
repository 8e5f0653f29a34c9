package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// sqliteIDChunk bounds the IN (…) list of one SQLite query.
const sqliteIDChunk = 500

// forEachRollup calls f with the rollups in table of targets from locations in buckets
// [lo, hi) (unix µs). Postgres sums them in SQL, per target and location (bucket 0)
// or, with byMinute, per bucket over all targets and locations (target and location
// ""); SQLite hands over every row, so f must merge either way.
func (s *Store) forEachRollup(ctx context.Context, table string, targets, locations []string, lo, hi int64, byMinute bool, f func(target, location string, minute int64, a *agg)) error {
	if s.dialect == SQLite {
		return s.sqliteForEachRollup(ctx, table, targets, locations, lo, hi, f)
	}
	key := "target_id, location"
	if byMinute {
		key = "bucket"
	}
	names := uuidNames(targets)
	query := `SELECT ` + key + `, sum(sent), sum(received), sum(rtt_sum_us)::float8, sum(rtt_sumsq)::float8,
		min(rtt_min_us), max(rtt_max_us), string_agg(hist, ''::bytea), sum(errors)
		FROM ` + table + ` WHERE target_id = ANY($1::uuid[]) AND location = ANY($2::text[]) AND bucket >= $3 AND bucket < $4
		GROUP BY ` + key
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, targets, locations, time.UnixMicro(lo).UTC(), time.UnixMicro(hi).UTC())
		if err != nil {
			return fmt.Errorf("store: read rollups: %w", err)
		}
		defer rows.Close()
		var target [16]byte
		var location string
		var minute time.Time
		keys := []any{&target, &location}
		if byMinute {
			keys = []any{&minute}
		}
		for rows.Next() {
			a, err := scanRollup(rows, keys...)
			if err != nil {
				return fmt.Errorf("store: read rollups: %w", err)
			}
			if byMinute {
				f("", "", minute.UnixMicro(), a)
			} else {
				f(names[target], location, 0, a)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: read rollups: %w", err)
		}
		return nil
	})
}

func (s *Store) sqliteForEachRollup(ctx context.Context, table string, targets, locations []string, lo, hi int64, f func(target, location string, minute int64, a *agg)) error {
	for start := 0; start < len(targets); start += sqliteIDChunk {
		ids := targets[start:min(start+sqliteIDChunk, len(targets))]
		args := append(append(idArgs(ids), idArgs(locations)...), lo, hi)
		err := s.sqliteQuery(ctx, `SELECT target_id, location, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors
			FROM `+table+` WHERE target_id IN (`+placeholders(len(ids))+`) AND location IN (`+placeholders(len(locations))+`)
			AND bucket >= ? AND bucket < ?`, args, func(rows *sql.Rows) error {
			var target, location string
			var minute int64
			a, err := scanRollup(rows, &target, &location, &minute)
			if err != nil {
				return err
			}
			f(target, location, minute, a)
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: read rollups: %w", err)
		}
	}
	return nil
}

// uuidNames maps the binary form of each ID to the ID as given, so rows can be read
// with binary UUIDs (no text conversion in the database, no string per row here).
// An ID that is not a UUID cannot match a uuid column and is left out.
func uuidNames(ids []string) map[[16]byte]string {
	out := make(map[[16]byte]string, len(ids))
	for _, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			out[u] = id
		}
	}
	return out
}

// sqliteQuery runs a query and calls each for every row.
func (s *Store) sqliteQuery(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	rows, err := sqlDB.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func idArgs(ids []string) []any {
	out := make([]any, len(ids), len(ids)+2)
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
