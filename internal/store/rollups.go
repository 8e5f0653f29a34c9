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
	"pingdeck/internal/probeblock"
)

// agg sums probes: one target's hour as stored in probe_rollups_1h, or any merge of
// such hours and probes.
type agg struct {
	sent, received int64
	errors         int64   // probes that never left (no address, send refused); not in sent
	sumUs, sumSqUs float64 // over answered probes; exact below 2^53
	minUs, maxUs   int64   // meaningful when received > 0
	hist           histogram
}

func newAgg() *agg { return &agg{hist: histogram{}} }

// addProbe counts one probe: rttUs is its RTT, lostUs or notSentUs.
func (a *agg) addProbe(rttUs int64) {
	if rttUs == notSentUs {
		a.errors++
		return
	}
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

// denseHistogram is scratch space for addProbes: counts per bucket, zero between uses.
type denseHistogram [histBuckets]int64

// addProbes counts probes as addProbe does, their RTTs first counted in scratch and
// then added to the histogram bucket by bucket (a map update per bucket, not per probe).
func (a *agg) addProbes(ps []probeblock.Probe, scratch *denseHistogram) {
	lo, hi := len(scratch), -1
	for _, p := range ps {
		switch p.Status {
		case probeblock.Answered:
		case probeblock.Lost:
			a.sent++
			continue
		default:
			a.errors++
			continue
		}
		rtt := p.RTTUs
		a.sent++
		if a.received == 0 || rtt < a.minUs {
			a.minUs = rtt
		}
		if a.received == 0 || rtt > a.maxUs {
			a.maxUs = rtt
		}
		a.received++
		a.sumUs += float64(rtt)
		a.sumSqUs += float64(rtt) * float64(rtt)
		b := histBucket(rtt)
		scratch[b]++
		lo, hi = min(lo, b), max(hi, b)
	}
	for b := lo; b <= hi; b++ {
		if n := scratch[b]; n > 0 {
			a.hist[b] += n
			scratch[b] = 0
		}
	}
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
	a.errors += o.errors
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
	target   string
	location string
	minute   int64 // unix µs of the bucket's start (a minute, or an hour)
}

// compareRollupKeys orders keys as the tables' primary keys do.
func compareRollupKeys(a, b rollupKey) int {
	return cmp.Or(cmp.Compare(a.target, b.target), cmp.Compare(a.location, b.location), cmp.Compare(a.minute, b.minute))
}

// insertedRow is one probe newly stored in a block.
type insertedRow struct {
	target   string
	location string
	sentAt   time.Time
	rttUs    int64 // lostUs or notSentUs when not answered
}

func insertedRowOf(r *ping.Result) insertedRow {
	return insertedRow{target: r.TargetID, location: resultLocation(r), sentAt: r.SentAt, rttUs: outcomeUs(r)}
}

// rollupTables are the rollup levels: each sums the probes of one target from one
// location over a bucket of that length (UTC-aligned).
var rollupTables = []struct {
	name   string
	bucket time.Duration
}{{"probe_rollups_1h", time.Hour}}

// rollupBatch is one level's sums of a batch, keys in order (a fixed lock order, so
// concurrent writers cannot deadlock on the upsert).
type rollupBatch struct {
	table string
	keys  []rollupKey
	sums  map[rollupKey]*agg
}

// rollupsOf sums inserted rows per target, location and bucket, for every rollup level.
func rollupsOf(rows []insertedRow) []rollupBatch {
	out := make([]rollupBatch, len(rollupTables))
	for i, lvl := range rollupTables {
		m := make(map[rollupKey]*agg)
		for j := range rows {
			k := rollupKey{rows[j].target, rows[j].location, rows[j].sentAt.Truncate(lvl.bucket).UnixMicro()}
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
		slices.SortFunc(keys, compareRollupKeys)
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

// Rollup rows are kept compact: a batch first reads (and, on Postgres, locks) the
// stored rows it touches, merges them in Go and writes each back whole, so a row's
// histogram holds one (bucket, count) pair per bucket however many batches it saw.
// Only a row that did not exist when read, and that a concurrent writer inserted
// meanwhile, is merged additively by the database (sums added, histograms appended,
// which decode to the same sum).

// rollupColumns are a rollup row's columns, in the order every statement uses.
const rollupColumns = "target_id, location, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors"

// rollupAddSet merges an inserted row into a stored one (%[1]s qualifies the stored
// row's columns, "r." on Postgres; least/greatest and min/max ignore NULL differently, so each
// dialect passes its own).
const rollupAddSet = `sent = %[1]ssent + excluded.sent,
		received = %[1]sreceived + excluded.received,
		rtt_sum_us = %[1]srtt_sum_us + excluded.rtt_sum_us,
		rtt_sumsq = %[1]srtt_sumsq + excluded.rtt_sumsq,
		rtt_min_us = %[2]s,
		rtt_max_us = %[3]s,
		hist = %[4]s,
		errors = %[1]serrors + excluded.errors`

// rollupReplaceSet overwrites a stored row with the merged one.
const rollupReplaceSet = `sent = excluded.sent, received = excluded.received, rtt_sum_us = excluded.rtt_sum_us,
		rtt_sumsq = excluded.rtt_sumsq, rtt_min_us = excluded.rtt_min_us, rtt_max_us = excluded.rtt_max_us, hist = excluded.hist,
		errors = excluded.errors`

var (
	pgRollupAdd = fmt.Sprintf(rollupAddSet, "r.",
		"least(r.rtt_min_us, excluded.rtt_min_us)", "greatest(r.rtt_max_us, excluded.rtt_max_us)", "r.hist || excluded.hist")
	sqliteRollupAdd = fmt.Sprintf(rollupAddSet, "",
		"coalesce(min(rtt_min_us, excluded.rtt_min_us), rtt_min_us, excluded.rtt_min_us)",
		"coalesce(max(rtt_max_us, excluded.rtt_max_us), rtt_max_us, excluded.rtt_max_us)",
		"CAST(hist || excluded.hist AS BLOB)")
)

// pgUpsertRollups writes rows given as arrays; %[1]s is the table, %[2]s the SET.
const pgUpsertRollups = `INSERT INTO %[1]s AS r (` + rollupColumns + `)
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[], $5::int[], $6::bigint[], $7::bigint[], $8::int[], $9::int[], $10::bytea[], $11::int[])
	ON CONFLICT (target_id, location, bucket) DO UPDATE SET %[2]s`

// pgLockRollups reads and locks the stored rows of the given keys.
const pgLockRollups = `SELECT target_id::text, location, bucket, sent, received, rtt_sum_us::float8, rtt_sumsq::float8, rtt_min_us, rtt_max_us, hist, errors
	FROM %s WHERE (target_id, location, bucket) IN (SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]))
	ORDER BY target_id, location, bucket FOR UPDATE`

// upsertRollupsPostgres merges one level's sums into its table.
func upsertRollupsPostgres(ctx context.Context, tx pgx.Tx, b rollupBatch) error {
	ids, locs, buckets := make([]string, len(b.keys)), make([]string, len(b.keys)), make([]time.Time, len(b.keys))
	for i, k := range b.keys {
		ids[i], locs[i], buckets[i] = k.target, k.location, time.UnixMicro(k.minute).UTC()
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(pgLockRollups, b.table), ids, locs, buckets)
	if err != nil {
		return fmt.Errorf("store: read rollups for update: %w", err)
	}
	stored := make(map[rollupKey]bool)
	err = b.mergeStored(rows, stored, func(r rollupRows) (rollupKey, *agg, error) {
		var target, location string
		var bucket time.Time
		a, err := scanRollup(r, &target, &location, &bucket)
		return rollupKey{target, location, bucket.UnixMicro()}, a, err
	})
	rows.Close()
	if err != nil {
		return err
	}
	replace, add := b.split(stored)
	if err := pgWriteRollups(ctx, tx, b.table, rollupReplaceSet, replace, b.sums); err != nil {
		return err
	}
	return pgWriteRollups(ctx, tx, b.table, pgRollupAdd, add, b.sums)
}

// rollupRows is the part of pgx.Rows and *sql.Rows that reading needs.
type rollupRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// mergeStored adds the stored rows read for b into its sums, marking their keys in
// stored; scan reads one row (the dialects give the bucket differently).
func (b rollupBatch) mergeStored(rows rollupRows, stored map[rollupKey]bool, scan func(rollupRows) (rollupKey, *agg, error)) error {
	for rows.Next() {
		k, a, err := scan(rows)
		if err != nil {
			return fmt.Errorf("store: read rollups for update: %w", err)
		}
		if sum := b.sums[k]; sum != nil {
			sum.merge(a)
			stored[k] = true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read rollups for update: %w", err)
	}
	return nil
}

// split parts the batch's keys into those stored (to overwrite) and new ones.
func (b rollupBatch) split(stored map[rollupKey]bool) (replace, add []rollupKey) {
	for _, k := range b.keys {
		if stored[k] {
			replace = append(replace, k)
		} else {
			add = append(add, k)
		}
	}
	return replace, add
}

// pgWriteRollups upserts the sums of keys in one statement, merging conflicts by set.
func pgWriteRollups(ctx context.Context, tx pgx.Tx, table, set string, keys []rollupKey, m map[rollupKey]*agg) error {
	n := len(keys)
	if n == 0 {
		return nil
	}
	ids, locs, buckets := make([]string, n), make([]string, n), make([]time.Time, n)
	sent, received := make([]int32, n), make([]int32, n)
	sums, sumsq := make([]int64, n), make([]int64, n)
	mins, maxs := make([]*int32, n), make([]*int32, n)
	hists, errs := make([][]byte, n), make([]int32, n)
	for i, k := range keys {
		a := m[k]
		ids[i], locs[i], buckets[i] = k.target, k.location, time.UnixMicro(k.minute).UTC()
		sent[i], received[i], errs[i] = int32(a.sent), int32(a.received), int32(a.errors)
		sums[i], sumsq[i] = int64(a.sumUs), int64(a.sumSqUs)
		if a.received > 0 {
			lo, hi := int32(a.minUs), int32(a.maxUs)
			mins[i], maxs[i] = &lo, &hi
		}
		hists[i] = a.hist.encode()
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(pgUpsertRollups, table, set), ids, locs, buckets, sent, received, sums, sumsq, mins, maxs, hists, errs); err != nil {
		return fmt.Errorf("store: upsert rollups: %w", err)
	}
	return nil
}

// sqliteUpsertRollups writes rows given as VALUES tuples; %[1]s is the table,
// %[2]s the tuples, %[3]s the SET.
const sqliteUpsertRollups = `INSERT INTO %[1]s (` + rollupColumns + `) VALUES %[2]s
	ON CONFLICT (target_id, location, bucket) DO UPDATE SET %[3]s`

// sqliteReadRollups reads the stored rows of the given keys (VALUES tuples at %[2]s).
const sqliteReadRollups = `SELECT ` + rollupColumns + ` FROM %[1]s WHERE (target_id, location, bucket) IN (VALUES %[2]s)`

// upsertRollupsSQLite merges one level's sums into its table, sqliteChunk rows a
// statement. The write transaction is exclusive, so what it reads stays true.
func upsertRollupsSQLite(ctx context.Context, tx *sql.Tx, b rollupBatch) error {
	stored := make(map[rollupKey]bool)
	for start := 0; start < len(b.keys); start += sqliteIDChunk / 3 {
		part := b.keys[start:min(start+sqliteIDChunk/3, len(b.keys))]
		args := make([]any, 0, 3*len(part))
		for _, k := range part {
			args = append(args, k.target, k.location, k.minute)
		}
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(sqliteReadRollups, b.table, valueTuples(len(part), 3)), args...)
		if err != nil {
			return fmt.Errorf("store: read rollups for update: %w", err)
		}
		err = b.mergeStored(rows, stored, func(r rollupRows) (rollupKey, *agg, error) {
			var k rollupKey
			a, err := scanRollup(r, &k.target, &k.location, &k.minute)
			return k, a, err
		})
		rows.Close()
		if err != nil {
			return err
		}
	}
	replace, add := b.split(stored)
	if err := sqliteWriteRollups(ctx, tx, b.table, rollupReplaceSet, replace, b.sums); err != nil {
		return err
	}
	return sqliteWriteRollups(ctx, tx, b.table, sqliteRollupAdd, add, b.sums)
}

// sqliteWriteRollups upserts the sums of keys, merging conflicts by set.
func sqliteWriteRollups(ctx context.Context, tx *sql.Tx, table, set string, keys []rollupKey, m map[rollupKey]*agg) error {
	for start := 0; start < len(keys); start += sqliteChunk {
		part := keys[start:min(start+sqliteChunk, len(keys))]
		args := make([]any, 0, 11*len(part))
		for _, k := range part {
			a := m[k]
			var lo, hi sql.NullInt64
			if a.received > 0 {
				lo, hi = sql.NullInt64{Int64: a.minUs, Valid: true}, sql.NullInt64{Int64: a.maxUs, Valid: true}
			}
			args = append(args, k.target, k.location, k.minute, a.sent, a.received, int64(a.sumUs), int64(a.sumSqUs), lo, hi, a.hist.encode(), a.errors)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(sqliteUpsertRollups, table, valueTuples(len(part), 11), set), args...); err != nil {
			return fmt.Errorf("store: upsert rollups: %w", err)
		}
	}
	return nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanRollup reads sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors.
func scanRollup(r rowScanner, extra ...any) (*agg, error) {
	a := newAgg()
	var sum, sumsq sql.NullFloat64
	var lo, hi sql.NullInt64
	var hist []byte
	dest := append(extra, &a.sent, &a.received, &sum, &sumsq, &lo, &hi, &hist, &a.errors)
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

// AddRollups adds results to the rollups (each under its location, as WriteResults
// would) without storing them as raw rows:
// for importing history whose raw rows are gone or kept elsewhere, and for seeding
// benchmarks. Unlike WriteResults it cannot tell a replay, so each result must be
// given once.
func (s *Store) AddRollups(ctx context.Context, rs []ping.Result) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([]insertedRow, len(rs))
	for i := range rs {
		rows[i] = insertedRowOf(&rs[i])
	}
	newLocations := s.locations.unregistered(rs)
	var err error
	if s.dialect == SQLite {
		err = s.addRollupsSQLite(ctx, rows, newLocations)
	} else {
		err = s.addRollupsPostgres(ctx, rows, newLocations)
		if pgCode(err) == "23514" { // no partition yet
			first, last := sendTimeRange(rs)
			if err := s.EnsurePartitions(ctx, first, last); err != nil {
				return err
			}
			err = s.addRollupsPostgres(ctx, rows, newLocations)
		}
	}
	if err == nil {
		s.locations.registered(newLocations)
	}
	return err
}

func (s *Store) addRollupsSQLite(ctx context.Context, rows []insertedRow, newLocations []string) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: add rollups: %w", err)
	}
	defer tx.Rollback()
	if err := sqliteRegisterLocations(ctx, tx, newLocations); err != nil {
		return err
	}
	if err := upsertAllSQLite(ctx, tx, rows); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) addRollupsPostgres(ctx context.Context, rows []insertedRow, newLocations []string) error {
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return fmt.Errorf("store: add rollups: %w", err)
		}
		defer tx.Rollback(ctx)
		if err := pgRegisterLocations(ctx, tx, newLocations); err != nil {
			return err
		}
		if err := upsertAllPostgres(ctx, tx, rows); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}
