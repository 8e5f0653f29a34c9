package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"pingdeck/internal/ping"
)

// agg sums probes: one target's minute as stored in probe_rollups_1m, or any merge of
// such minutes and raw rows.
type agg struct {
	sent, received int64
	sumUs, sumSqUs float64 // over answered probes; exact below 2^53
	minUs, maxUs   int64   // meaningful when received > 0
	hist           histogram
}

func newAgg() *agg { return &agg{hist: histogram{}} }

// addProbe counts one probe; rttUs < 0 means it was lost.
func (a *agg) addProbe(rttUs int64) {
	a.sent++
	if rttUs < 0 {
		return
	}
	if a.received == 0 || rttUs < a.minUs {
		a.minUs = rttUs
	}
	if a.received == 0 || rttUs > a.maxUs {
		a.maxUs = rttUs
	}
	a.received++
	a.sumUs += float64(rttUs)
	a.sumSqUs += float64(rttUs) * float64(rttUs)
	a.hist.add(rttUs)
}

func (a *agg) merge(o *agg) {
	if o.received > 0 {
		if a.received == 0 || o.minUs < a.minUs {
			a.minUs = o.minUs
		}
		if a.received == 0 || o.maxUs > a.maxUs {
			a.maxUs = o.maxUs
		}
	}
	a.sent += o.sent
	a.received += o.received
	a.sumUs += o.sumUs
	a.sumSqUs += o.sumSqUs
	a.hist.merge(o.hist)
}

// setRTTBounds fills min/max from nullable columns.
func (a *agg) setRTTBounds(lo, hi sql.NullInt64) {
	a.minUs, a.maxUs = lo.Int64, hi.Int64
}

// rollupKey names one stored rollup row.
type rollupKey struct {
	target string
	minute int64 // unix µs of the bucket's start (a minute, or an hour)
}

// minuteOf is the unix µs of the start of t's minute.
func minuteOf(t time.Time) int64 { return t.Truncate(time.Minute).UnixMicro() }

// insertedRow is one probe result that made it into probe_results.
type insertedRow struct {
	target string
	sentAt time.Time
	rttUs  int64 // -1 when lost
}

// rollupTables are the rollup levels: each sums the probes of one target over a
// bucket of that length (UTC-aligned).
var rollupTables = []struct {
	name   string
	bucket time.Duration
}{{"probe_rollups_1m", time.Minute}, {"probe_rollups_1h", time.Hour}}

// rollupBatch is one level's sums of a batch, keys in order (a fixed lock order, so
// concurrent writers cannot deadlock on the upsert).
type rollupBatch struct {
	table string
	keys  []rollupKey
	sums  map[rollupKey]*agg
}

// rollupsOf sums inserted rows per target and bucket, for every rollup level.
func rollupsOf(rows []insertedRow) []rollupBatch {
	out := make([]rollupBatch, len(rollupTables))
	for i, lvl := range rollupTables {
		m := make(map[rollupKey]*agg)
		for j := range rows {
			k := rollupKey{rows[j].target, rows[j].sentAt.Truncate(lvl.bucket).UnixMicro()}
			a := m[k]
			if a == nil {
				a = newAgg()
				m[k] = a
			}
			a.addProbe(rows[j].rttUs)
		}
		keys := make([]rollupKey, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b rollupKey) int {
			return cmp.Or(cmp.Compare(a.target, b.target), cmp.Compare(a.minute, b.minute))
		})
		out[i] = rollupBatch{table: lvl.name, keys: keys, sums: m}
	}
	return out
}

// upsertAllPostgres adds rows to every rollup level.
func upsertAllPostgres(ctx context.Context, tx pgx.Tx, rows []insertedRow) error {
	for _, b := range rollupsOf(rows) {
		if err := upsertRollupsPostgres(ctx, tx, b); err != nil {
			return err
		}
	}
	return nil
}

// upsertAllSQLite adds rows to every rollup level.
func upsertAllSQLite(ctx context.Context, tx *sql.Tx, rows []insertedRow) error {
	for _, b := range rollupsOf(rows) {
		if err := upsertRollupsSQLite(ctx, tx, b); err != nil {
			return err
		}
	}
	return nil
}

const pgUpsertRollups = `INSERT INTO %s AS r
	(target_id, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist)
	SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::bigint[], $6::bigint[], $7::int[], $8::int[], $9::bytea[])
	ON CONFLICT (target_id, bucket) DO UPDATE SET
		sent = r.sent + excluded.sent,
		received = r.received + excluded.received,
		rtt_sum_us = r.rtt_sum_us + excluded.rtt_sum_us,
		rtt_sumsq = r.rtt_sumsq + excluded.rtt_sumsq,
		rtt_min_us = least(r.rtt_min_us, excluded.rtt_min_us),
		rtt_max_us = greatest(r.rtt_max_us, excluded.rtt_max_us),
		hist = r.hist || excluded.hist`

// upsertRollupsPostgres adds one level's sums to its table in one statement.
func upsertRollupsPostgres(ctx context.Context, tx pgx.Tx, b rollupBatch) error {
	keys, m := b.keys, b.sums
	n := len(keys)
	ids, buckets := make([]string, n), make([]time.Time, n)
	sent, received := make([]int32, n), make([]int32, n)
	sums, sumsq := make([]int64, n), make([]int64, n)
	mins, maxs := make([]*int32, n), make([]*int32, n)
	hists := make([][]byte, n)
	for i, k := range keys {
		a := m[k]
		ids[i], buckets[i] = k.target, time.UnixMicro(k.minute).UTC()
		sent[i], received[i] = int32(a.sent), int32(a.received)
		sums[i], sumsq[i] = int64(a.sumUs), int64(a.sumSqUs)
		if a.received > 0 {
			lo, hi := int32(a.minUs), int32(a.maxUs)
			mins[i], maxs[i] = &lo, &hi
		}
		hists[i] = a.hist.encode()
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(pgUpsertRollups, b.table), ids, buckets, sent, received, sums, sumsq, mins, maxs, hists); err != nil {
		return fmt.Errorf("store: upsert rollups: %w", err)
	}
	return nil
}

// sqliteUpsertRollups adds rows' sums to probe_rollups_1m, like pgUpsertRollups;
// the VALUES tuples follow it.
const sqliteUpsertRollups = `INSERT INTO %s
	(target_id, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist) VALUES %s
	ON CONFLICT (target_id, bucket) DO UPDATE SET
		sent = sent + excluded.sent,
		received = received + excluded.received,
		rtt_sum_us = rtt_sum_us + excluded.rtt_sum_us,
		rtt_sumsq = rtt_sumsq + excluded.rtt_sumsq,
		rtt_min_us = coalesce(min(rtt_min_us, excluded.rtt_min_us), rtt_min_us, excluded.rtt_min_us),
		rtt_max_us = coalesce(max(rtt_max_us, excluded.rtt_max_us), rtt_max_us, excluded.rtt_max_us),
		hist = CAST(hist || excluded.hist AS BLOB)`

// upsertRollupsSQLite adds one level's sums to its table, sqliteChunk rows a statement.
func upsertRollupsSQLite(ctx context.Context, tx *sql.Tx, b rollupBatch) error {
	keys, m := b.keys, b.sums
	for start := 0; start < len(keys); start += sqliteChunk {
		part := keys[start:min(start+sqliteChunk, len(keys))]
		args := make([]any, 0, 9*len(part))
		for _, k := range part {
			a := m[k]
			var lo, hi sql.NullInt64
			if a.received > 0 {
				lo, hi = sql.NullInt64{Int64: a.minUs, Valid: true}, sql.NullInt64{Int64: a.maxUs, Valid: true}
			}
			args = append(args, k.target, k.minute, a.sent, a.received, int64(a.sumUs), int64(a.sumSqUs), lo, hi, a.hist.encode())
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(sqliteUpsertRollups, b.table, valueTuples(len(part), 9)), args...); err != nil {
			return fmt.Errorf("store: upsert rollups: %w", err)
		}
	}
	return nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanRollup reads sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist.
func scanRollup(r rowScanner, extra ...any) (*agg, error) {
	a := newAgg()
	var sum, sumsq sql.NullFloat64
	var lo, hi sql.NullInt64
	var hist []byte
	dest := append(extra, &a.sent, &a.received, &sum, &sumsq, &lo, &hi, &hist)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	a.sumUs, a.sumSqUs = sum.Float64, sumsq.Float64
	a.setRTTBounds(lo, hi)
	a.hist.decodeInto(hist)
	return a, nil
}

// stddevUs is the population standard deviation of the answered probes' RTTs.
func (a *agg) stddevUs() float64 {
	if a.received == 0 {
		return 0
	}
	n := float64(a.received)
	mean := a.sumUs / n
	return math.Sqrt(max(a.sumSqUs/n-mean*mean, 0))
}

// AddRollups adds results to the 1-minute rollups without storing them as raw rows:
// for importing history whose raw rows are gone or kept elsewhere, and for seeding
// benchmarks. Unlike WriteResults it cannot tell a replay, so each result must be
// given once.
func (s *Store) AddRollups(ctx context.Context, rs []ping.Result) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([]insertedRow, len(rs))
	for i := range rs {
		rows[i] = insertedRow{target: rs[i].TargetID, sentAt: rs[i].SentAt, rttUs: rttOrLost(&rs[i])}
	}
	if s.dialect == SQLite {
		sqlDB, err := s.db.DB()
		if err != nil {
			return err
		}
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: add rollups: %w", err)
		}
		defer tx.Rollback()
		if err := upsertAllSQLite(ctx, tx, rows); err != nil {
			return err
		}
		return tx.Commit()
	}
	write := func() error {
		return s.withPgx(ctx, func(c *pgx.Conn) error {
			tx, err := c.Begin(ctx)
			if err != nil {
				return fmt.Errorf("store: add rollups: %w", err)
			}
			defer tx.Rollback(ctx)
			if err := upsertAllPostgres(ctx, tx, rows); err != nil {
				return err
			}
			return tx.Commit(ctx)
		})
	}
	err := write()
	if pgCode(err) == "23514" { // no partition yet
		first, last := sendTimeRange(rs)
		if err := s.EnsurePartitions(ctx, first, last); err != nil {
			return err
		}
		err = write()
	}
	return err
}
