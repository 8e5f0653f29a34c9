package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"pingdeck/internal/probeblock"
)

// blocksVersion is the schema version that stores probes in blocks (issue 23).
const blocksVersion = 16

// blocksMigration moves the raw results (one row a probe) into blocks (one row per
// target, location and five minutes) and drops the minute rollups, which the blocks
// replace; the hourly rollups stay as they are. Down moves the blocks back into rows
// and rebuilds the minute rollups from them.
func (s *Store) blocksMigration() *goose.Migration {
	return goose.NewGoMigration(blocksVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return s.blocksUp(ctx, tx) }},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return s.blocksDown(ctx, tx) }})
}

// The block table: Postgres partitions it by day like probe_results was; SQLite keeps
// its rows in a rowid table (blocks are too large for a WITHOUT ROWID one).
const (
	pgCreateBlocks = `CREATE TABLE probe_blocks (
		target_id uuid        NOT NULL,
		location  text        NOT NULL,
		start     timestamptz NOT NULL,
		data      bytea       NOT NULL,
		PRIMARY KEY (target_id, location, start)
	) PARTITION BY RANGE (start)`
	sqliteCreateBlocks = `CREATE TABLE probe_blocks (
		target_id text    NOT NULL,
		location  text    NOT NULL,
		start     integer NOT NULL,
		data      blob    NOT NULL,
		PRIMARY KEY (target_id, location, start)
	)`
	sqliteBlocksByStart = `CREATE INDEX probe_blocks_start ON probe_blocks (start)`
)

func (s *Store) blocksUp(ctx context.Context, tx *sql.Tx) error {
	stmts := []string{sqliteCreateBlocks, sqliteBlocksByStart}
	if s.dialect == Postgres {
		stmts = []string{pgCreateBlocks}
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create probe_blocks: %w", err)
		}
	}
	if s.dialect == Postgres {
		if err := pgPartitionsForRows(ctx, tx); err != nil {
			return err
		}
	}
	if err := s.rowsToBlocks(ctx, tx); err != nil {
		return err
	}
	for _, q := range []string{"DROP TABLE probe_results", "DROP TABLE probe_rollups_1m"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// pgPartitionsForRows creates the daily block partitions the stored rows need.
func pgPartitionsForRows(ctx context.Context, tx *sql.Tx) error {
	var first, last sql.NullTime
	if err := tx.QueryRowContext(ctx, "SELECT min(sent_at), max(sent_at) FROM probe_results").Scan(&first, &last); err != nil {
		return fmt.Errorf("read the raw results' range: %w", err)
	}
	if !first.Valid {
		return nil
	}
	for day := first.Time.UTC().Truncate(24 * time.Hour); !day.After(last.Time); day = day.Add(24 * time.Hour) {
		q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS probe_blocks_p%s PARTITION OF probe_blocks FOR VALUES FROM ('%s') TO ('%s')`,
			day.Format("20060102"), day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create block partition: %w", err)
		}
	}
	return nil
}

// rowsToBlocks encodes the rows of each target and location into blocks.
func (s *Store) rowsToBlocks(ctx context.Context, tx *sql.Tx) error {
	var pairs [][2]string
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT "+s.idText("target_id")+", location FROM probe_results")
	if err != nil {
		return fmt.Errorf("list raw results: %w", err)
	}
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			rows.Close()
			return fmt.Errorf("list raw results: %w", err)
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list raw results: %w", err)
	}
	insert := "INSERT INTO probe_blocks (target_id, location, start, data) VALUES (?, ?, ?, ?)"
	if s.dialect == Postgres {
		insert = "INSERT INTO probe_blocks (target_id, location, start, data) VALUES ($1, $2, $3, $4)"
	}
	for _, pair := range pairs {
		blocks, err := s.readRowsOf(ctx, tx, pair[0], pair[1])
		if err != nil {
			return err
		}
		for _, b := range blocks {
			start := any(b.key.start)
			if s.dialect == Postgres {
				start = time.UnixMicro(b.key.start).UTC()
			}
			if _, err := tx.ExecContext(ctx, insert, b.key.target, b.key.location, start, b.data); err != nil {
				return fmt.Errorf("write block: %w", err)
			}
		}
	}
	return nil
}

// readRowsOf reads one target's rows from one location as encoded blocks.
func (s *Store) readRowsOf(ctx context.Context, tx *sql.Tx, target, location string) ([]storedBlock, error) {
	q := "SELECT sent_at, rtt_us, unsent FROM probe_results WHERE target_id = ? AND location = ? ORDER BY sent_at"
	if s.dialect == Postgres {
		q = "SELECT (extract(epoch FROM sent_at) * 1000000)::bigint, rtt_us, unsent FROM probe_results WHERE target_id = $1 AND location = $2 ORDER BY sent_at"
	}
	rows, err := tx.QueryContext(ctx, q, target, location)
	if err != nil {
		return nil, fmt.Errorf("read raw results: %w", err)
	}
	defer rows.Close()
	var out []storedBlock
	var probes []probeblock.Probe
	flush := func() {
		if len(probes) > 0 {
			k := blockKey{target, location, blockStartOf(probes[0].SentUs)}
			out = append(out, storedBlock{key: k, data: probeblock.Encode(k.start, probes)})
			probes = probes[:0]
		}
	}
	for rows.Next() {
		var at int64
		var rtt sql.NullInt64
		var unsent int16
		if err := rows.Scan(&at, &rtt, &unsent); err != nil {
			return nil, fmt.Errorf("read raw results: %w", err)
		}
		if len(probes) > 0 && blockStartOf(at) != blockStartOf(probes[0].SentUs) {
			flush()
		}
		p := probeblock.Probe{SentUs: at}
		switch {
		case unsent != unsentNone:
			p.Status = probeblock.Unsent + probeblock.Status(unsent-unsentNoSuchHost)
		case !rtt.Valid:
			p.Status = probeblock.Lost
		default:
			p.RTTUs = rtt.Int64
		}
		probes = append(probes, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read raw results: %w", err)
	}
	flush()
	return out, nil
}

// idText reads a target ID column as text in this dialect.
func (s *Store) idText(col string) string {
	if s.dialect == Postgres {
		return col + "::text"
	}
	return col
}

// The tables of version 15, for going down.
var (
	pgRowsTables = []string{`CREATE TABLE probe_results (
		target_id uuid NOT NULL, location text NOT NULL DEFAULT 'local', sent_at timestamptz NOT NULL,
		rtt_us integer, ok boolean NOT NULL, unsent smallint NOT NULL DEFAULT 0,
		PRIMARY KEY (target_id, location, sent_at)) PARTITION BY RANGE (sent_at)`,
		`CREATE TABLE probe_rollups_1m (
		target_id uuid NOT NULL, location text NOT NULL DEFAULT 'local', bucket timestamptz NOT NULL,
		sent integer NOT NULL, received integer NOT NULL, rtt_sum_us bigint NOT NULL, rtt_sumsq bigint NOT NULL,
		rtt_min_us integer, rtt_max_us integer, hist bytea NOT NULL, errors integer NOT NULL DEFAULT 0,
		PRIMARY KEY (target_id, location, bucket)) PARTITION BY RANGE (bucket)`}
	sqliteRowsTables = []string{`CREATE TABLE probe_results (
		target_id text NOT NULL, location text NOT NULL DEFAULT 'local', sent_at integer NOT NULL,
		rtt_us integer, ok integer NOT NULL, unsent integer NOT NULL DEFAULT 0,
		PRIMARY KEY (target_id, location, sent_at)) WITHOUT ROWID`,
		`CREATE TABLE probe_rollups_1m (
		target_id text NOT NULL, location text NOT NULL DEFAULT 'local', bucket integer NOT NULL,
		sent integer NOT NULL, received integer NOT NULL, rtt_sum_us integer NOT NULL, rtt_sumsq integer NOT NULL,
		rtt_min_us integer, rtt_max_us integer, hist blob NOT NULL, errors integer NOT NULL DEFAULT 0,
		PRIMARY KEY (target_id, location, bucket)) WITHOUT ROWID`,
		`CREATE INDEX probe_rollups_1m_bucket ON probe_rollups_1m (bucket)`}
)

func (s *Store) blocksDown(ctx context.Context, tx *sql.Tx) error {
	stmts := sqliteRowsTables
	if s.dialect == Postgres {
		stmts = pgRowsTables
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("recreate the raw results: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+s.idText("target_id")+", location, "+s.startMicros()+", data FROM probe_blocks")
	if err != nil {
		return fmt.Errorf("read blocks: %w", err)
	}
	var probes []insertedRow
	var unsent []int16
	for rows.Next() {
		var k blockKey
		var data []byte
		if err := rows.Scan(&k.target, &k.location, &k.start, &data); err != nil {
			rows.Close()
			return fmt.Errorf("read blocks: %w", err)
		}
		ps, err := probeblock.Decode(nil, k.start, data)
		if err != nil {
			rows.Close()
			return fmt.Errorf("read blocks: %w", err)
		}
		for _, p := range ps {
			probes = append(probes, insertedRow{target: k.target, location: k.location, sentAt: time.UnixMicro(p.SentUs).UTC(), rttUs: outcomeOf(p)})
			unsent = append(unsent, unsentOf(p))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read blocks: %w", err)
	}
	if s.dialect == Postgres && len(probes) > 0 {
		if err := pgRowsPartitions(ctx, tx, probes); err != nil {
			return err
		}
	}
	ph := func(n int) string { return placeholders(n) }
	if s.dialect == Postgres {
		ph = func(n int) string {
			out := ""
			for i := 1; i <= n; i++ {
				out += fmt.Sprintf("$%d,", i)
			}
			return out[:len(out)-1]
		}
	}
	at := func(us int64) any {
		if s.dialect == Postgres {
			return time.UnixMicro(us).UTC()
		}
		return us
	}
	for i, r := range probes {
		var rtt sql.NullInt64
		if r.rttUs >= 0 {
			rtt = sql.NullInt64{Int64: r.rttUs, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO probe_results (target_id, location, sent_at, rtt_us, ok, unsent) VALUES ("+ph(6)+")",
			r.target, r.location, at(r.sentAt.UnixMicro()), rtt, rtt.Valid, unsent[i]); err != nil {
			return fmt.Errorf("write raw results: %w", err)
		}
	}
	minutes := map[rollupKey]*agg{}
	for _, r := range probes {
		k := rollupKey{r.target, r.location, r.sentAt.Truncate(time.Minute).UnixMicro()}
		if minutes[k] == nil {
			minutes[k] = newAgg()
		}
		minutes[k].addProbe(r.rttUs)
	}
	for k, a := range minutes {
		var lo, hi sql.NullInt64
		if a.received > 0 {
			lo, hi = sql.NullInt64{Int64: a.minUs, Valid: true}, sql.NullInt64{Int64: a.maxUs, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO probe_rollups_1m ("+rollupColumns+") VALUES ("+ph(11)+")",
			k.target, k.location, at(k.minute), a.sent, a.received, int64(a.sumUs), int64(a.sumSqUs), lo, hi, a.hist.encode(), a.errors); err != nil {
			return fmt.Errorf("write minute rollups: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE probe_blocks"); err != nil {
		return fmt.Errorf("drop probe_blocks: %w", err)
	}
	return nil
}

// startMicros reads probe_blocks.start as unix µs in this dialect.
func (s *Store) startMicros() string {
	if s.dialect == Postgres {
		return "(extract(epoch FROM start) * 1000000)::bigint"
	}
	return "start"
}

// pgRowsPartitions creates the daily raw-result and monthly minute-rollup partitions
// that rows need (going down).
func pgRowsPartitions(ctx context.Context, tx *sql.Tx, rows []insertedRow) error {
	days, months := map[time.Time]bool{}, map[time.Time]bool{}
	for _, r := range rows {
		days[r.sentAt.UTC().Truncate(24*time.Hour)] = true
		months[monthOf(r.sentAt)] = true
	}
	for day := range days {
		q := fmt.Sprintf(`CREATE TABLE probe_results_p%s PARTITION OF probe_results FOR VALUES FROM ('%s') TO ('%s')`,
			day.Format("20060102"), day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create raw partition: %w", err)
		}
	}
	for m := range months {
		q := fmt.Sprintf(`CREATE TABLE probe_rollups_1m_p%s PARTITION OF probe_rollups_1m FOR VALUES FROM ('%s') TO ('%s')`,
			m.Format("200601"), m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create rollup partition: %w", err)
		}
	}
	return nil
}
