package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"pingdeck/internal/probeblock"
)

// storedBlock is a block row as read.
type storedBlock struct {
	key  blockKey
	data []byte
}

// commitBlocks merges blocks (sorted, one probe per send time) into the stored ones and
// adds the probes not stored before to the hourly rollups, in one transaction: a block
// replayed, or written again with late probes, counts each probe once.
func (s *Store) commitBlocks(ctx context.Context, keys []blockKey, blocks map[blockKey][]probeblock.Probe) error {
	if len(keys) == 0 {
		return nil
	}
	newLocations := s.locations.unregisteredNames(blockLocations(keys))
	var err error
	if s.dialect == SQLite {
		err = s.commitBlocksSQLite(ctx, keys, blocks, newLocations)
	} else {
		err = s.commitBlocksPostgres(ctx, keys, blocks, newLocations)
		if pgCode(err) == "23514" { // check_violation: no partition for some block yet
			if err := s.EnsurePartitions(ctx, time.UnixMicro(keys[0].start), time.UnixMicro(lastStart(keys))); err != nil {
				return err
			}
			err = s.commitBlocksPostgres(ctx, keys, blocks, newLocations)
		}
	}
	if err == nil {
		s.locations.registered(newLocations)
	}
	return err
}

func blockLocations(keys []blockKey) []string {
	var out []string
	for _, k := range keys {
		if !slices.Contains(out, k.location) {
			out = append(out, k.location)
		}
	}
	return out
}

func lastStart(keys []blockKey) int64 {
	var last int64
	for _, k := range keys {
		last = max(last, k.start)
	}
	return last
}

// mergeBlocks merges each block with its stored version (stored: by key) and returns
// the rows to write and the probes that were not stored, as rollup rows.
func mergeBlocks(keys []blockKey, blocks map[blockKey][]probeblock.Probe, stored map[blockKey][]byte) ([]storedBlock, []insertedRow, error) {
	rows := make([]storedBlock, 0, len(keys))
	var fresh []insertedRow
	var old []probeblock.Probe
	for _, k := range keys {
		ps := blocks[k]
		if data, ok := stored[k]; ok {
			var err error
			if old, err = probeblock.Decode(old[:0], k.start, data); err != nil {
				return nil, nil, fmt.Errorf("store: block %s/%s at %s: %w", k.target, k.location, time.UnixMicro(k.start).UTC(), err)
			}
			merged := probeblock.Merge(old, ps)
			if len(merged) == len(old) {
				continue // nothing new
			}
			ps = newProbes(ps, old)
			rows = append(rows, storedBlock{key: k, data: probeblock.Encode(k.start, merged)})
		} else {
			rows = append(rows, storedBlock{key: k, data: probeblock.Encode(k.start, ps)})
		}
		for _, p := range ps {
			fresh = append(fresh, insertedRow{target: k.target, location: k.location, sentAt: time.UnixMicro(p.SentUs), rttUs: outcomeOf(p)})
		}
	}
	return rows, fresh, nil
}

// newProbes is the probes of ps (sorted) not sent at the time of any of old (sorted).
func newProbes(ps, old []probeblock.Probe) []probeblock.Probe {
	var out []probeblock.Probe
	j := 0
	for _, p := range ps {
		for j < len(old) && old[j].SentUs < p.SentUs {
			j++
		}
		if j < len(old) && old[j].SentUs == p.SentUs {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (s *Store) commitBlocksSQLite(ctx context.Context, keys []blockKey, blocks map[blockKey][]probeblock.Probe, newLocations []string) error {
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
	stored := map[blockKey][]byte{}
	const width = 3
	for start := 0; start < len(keys); start += sqliteIDChunk / width {
		part := keys[start:min(start+sqliteIDChunk/width, len(keys))]
		args := make([]any, 0, width*len(part))
		for _, k := range part {
			args = append(args, k.target, k.location, k.start)
		}
		rows, err := tx.QueryContext(ctx, `SELECT target_id, location, start, data FROM probe_blocks
			WHERE (target_id, location, start) IN (VALUES `+valueTuples(len(part), width)+`)`, args...)
		if err != nil {
			return fmt.Errorf("store: read blocks for update: %w", err)
		}
		for rows.Next() {
			var k blockKey
			var data []byte
			if err := rows.Scan(&k.target, &k.location, &k.start, &data); err != nil {
				rows.Close()
				return fmt.Errorf("store: read blocks for update: %w", err)
			}
			stored[k] = data
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: read blocks for update: %w", err)
		}
	}
	write, fresh, err := mergeBlocks(keys, blocks, stored)
	if err != nil {
		return err
	}
	for start := 0; start < len(write); start += sqliteChunk {
		part := write[start:min(start+sqliteChunk, len(write))]
		args := make([]any, 0, 4*len(part))
		for _, b := range part {
			args = append(args, b.key.target, b.key.location, b.key.start, b.data)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO probe_blocks (target_id, location, start, data) VALUES `+valueTuples(len(part), 4)+`
			ON CONFLICT (target_id, location, start) DO UPDATE SET data = excluded.data`, args...); err != nil {
			return fmt.Errorf("store: write blocks: %w", err)
		}
	}
	if len(fresh) > 0 {
		if err := upsertAllSQLite(ctx, tx, fresh); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	return nil
}

// commitBlocksPostgres locks the stored blocks it merges into; a block another writer
// inserts meanwhile makes the insert skip it, and the merge runs again for those.
func (s *Store) commitBlocksPostgres(ctx context.Context, keys []blockKey, blocks map[blockKey][]probeblock.Probe, newLocations []string) error {
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return fmt.Errorf("store: write results: %w", err)
		}
		defer tx.Rollback(ctx)
		if err := pgRegisterLocations(ctx, tx, newLocations); err != nil {
			return err
		}
		var fresh []insertedRow
		todo := keys
		for attempt := 0; len(todo) > 0; attempt++ {
			if attempt == 3 {
				return fmt.Errorf("store: write blocks: %d blocks still contended", len(todo))
			}
			stored, err := pgLockBlocks(ctx, tx, todo)
			if err != nil {
				return err
			}
			write, added, err := mergeBlocks(todo, blocks, stored)
			if err != nil {
				return err
			}
			var update, insert []storedBlock
			for _, b := range write {
				if _, ok := stored[b.key]; ok {
					update = append(update, b)
				} else {
					insert = append(insert, b)
				}
			}
			if err := pgWriteBlocks(ctx, tx, update); err != nil {
				return err
			}
			skipped, err := pgInsertBlocks(ctx, tx, insert)
			if err != nil {
				return err
			}
			for _, r := range added {
				k := blockKey{r.target, r.location, blockStartOf(r.sentAt.UnixMicro())}
				if !skipped[k] {
					fresh = append(fresh, r)
				}
			}
			todo = todo[:0:0]
			for k := range skipped {
				todo = append(todo, k)
			}
			slices.SortFunc(todo, compareBlockKeys)
		}
		if len(fresh) > 0 {
			if err := upsertAllPostgres(ctx, tx, fresh); err != nil {
				return err
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("store: write results: %w", err)
		}
		return nil
	})
}

func blockArrays(keys []blockKey) (ids, locs []string, starts []time.Time) {
	ids, locs, starts = make([]string, len(keys)), make([]string, len(keys)), make([]time.Time, len(keys))
	for i, k := range keys {
		ids[i], locs[i], starts[i] = k.target, k.location, time.UnixMicro(k.start).UTC()
	}
	return ids, locs, starts
}

// pgLockBlocks reads and locks the stored blocks of keys.
func pgLockBlocks(ctx context.Context, tx pgx.Tx, keys []blockKey) (map[blockKey][]byte, error) {
	ids, locs, starts := blockArrays(keys)
	rows, err := tx.Query(ctx, `SELECT target_id::text, location, start, data FROM probe_blocks
		WHERE (target_id, location, start) IN (SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]))
		ORDER BY target_id, location, start FOR UPDATE`, ids, locs, starts)
	if err != nil {
		return nil, fmt.Errorf("store: read blocks for update: %w", err)
	}
	defer rows.Close()
	out := map[blockKey][]byte{}
	for rows.Next() {
		var k blockKey
		var at time.Time
		var data []byte
		if err := rows.Scan(&k.target, &k.location, &at, &data); err != nil {
			return nil, fmt.Errorf("store: read blocks for update: %w", err)
		}
		k.start = at.UnixMicro()
		out[k] = data
	}
	return out, rows.Err()
}

// pgWriteBlocks overwrites stored blocks with their merged versions.
func pgWriteBlocks(ctx context.Context, tx pgx.Tx, bs []storedBlock) error {
	if len(bs) == 0 {
		return nil
	}
	keys, data := splitBlocks(bs)
	ids, locs, starts := blockArrays(keys)
	_, err := tx.Exec(ctx, `UPDATE probe_blocks b SET data = u.data
		FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bytea[]) AS u(target_id, location, start, data)
		WHERE b.target_id = u.target_id AND b.location = u.location AND b.start = u.start`, ids, locs, starts, data)
	if err != nil {
		return fmt.Errorf("store: write blocks: %w", err)
	}
	return nil
}

// pgInsertBlocks inserts new blocks and returns the keys another writer inserted first.
func pgInsertBlocks(ctx context.Context, tx pgx.Tx, bs []storedBlock) (map[blockKey]bool, error) {
	skipped := map[blockKey]bool{}
	if len(bs) == 0 {
		return skipped, nil
	}
	keys, data := splitBlocks(bs)
	ids, locs, starts := blockArrays(keys)
	rows, err := tx.Query(ctx, `INSERT INTO probe_blocks (target_id, location, start, data)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bytea[])
		ON CONFLICT DO NOTHING RETURNING target_id::text, location, start`, ids, locs, starts, data)
	if err != nil {
		return nil, fmt.Errorf("store: write blocks: %w", err)
	}
	defer rows.Close()
	inserted := map[blockKey]bool{}
	for rows.Next() {
		var k blockKey
		var at time.Time
		if err := rows.Scan(&k.target, &k.location, &at); err != nil {
			return nil, fmt.Errorf("store: write blocks: %w", err)
		}
		k.start = at.UnixMicro()
		inserted[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: write blocks: %w", err)
	}
	for _, k := range keys {
		if !inserted[k] {
			skipped[k] = true
		}
	}
	return skipped, nil
}

func splitBlocks(bs []storedBlock) ([]blockKey, [][]byte) {
	keys, data := make([]blockKey, len(bs)), make([][]byte, len(bs))
	for i, b := range bs {
		keys[i], data[i] = b.key, b.data
	}
	return keys, data
}

// forEachStoredBlock calls f with every stored block of targets from locations that
// overlaps one of spans (unix µs, sorted, disjoint).
func (s *Store) forEachStoredBlock(ctx context.Context, targets, locations []string, spans []span, f func(k blockKey, data []byte) error) error {
	if len(targets) == 0 || len(locations) == 0 || len(spans) == 0 {
		return nil
	}
	names := locationNames{}
	for _, l := range locations {
		names[l] = l
	}
	if s.dialect == SQLite {
		var cond []string
		var spanArgs []any
		for _, sp := range spans {
			cond = append(cond, "(start > ? AND start < ?)")
			spanArgs = append(spanArgs, sp.lo-blockSpanUs, sp.hi)
		}
		for start := 0; start < len(targets); start += sqliteIDChunk {
			ids := targets[start:min(start+sqliteIDChunk, len(targets))]
			args := append(append(idArgs(ids), idArgs(locations)...), spanArgs...)
			var location sql.RawBytes
			err := s.sqliteQuery(ctx, `SELECT target_id, location, start, data FROM probe_blocks
				WHERE target_id IN (`+placeholders(len(ids))+`) AND location IN (`+placeholders(len(locations))+`)
				AND (`+strings.Join(cond, " OR ")+`)`, args, func(rows *sql.Rows) error {
				var k blockKey
				var data []byte
				if err := rows.Scan(&k.target, &location, &k.start, &data); err != nil {
					return err
				}
				k.location = names.of(location)
				return f(k, data)
			})
			if err != nil {
				return fmt.Errorf("store: read results: %w", err)
			}
		}
		return nil
	}
	cond := make([]string, len(spans))
	args := []any{targets, locations}
	for i, sp := range spans {
		cond[i] = fmt.Sprintf("(start > $%d AND start < $%d)", 2*i+3, 2*i+4)
		args = append(args, time.UnixMicro(sp.lo-blockSpanUs).UTC(), time.UnixMicro(sp.hi).UTC())
	}
	targetNames := uuidNames(targets)
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT target_id, location, start, data FROM probe_blocks
			WHERE target_id = ANY($1::uuid[]) AND location = ANY($2::text[]) AND (`+strings.Join(cond, " OR ")+`)`, args...)
		if err != nil {
			return fmt.Errorf("store: read results: %w", err)
		}
		defer rows.Close()
		var target uuid.UUID
		var location []byte
		var at time.Time
		var data []byte
		for rows.Next() {
			if err := rows.Scan(&target, &location, &at, &data); err != nil {
				return fmt.Errorf("store: read results: %w", err)
			}
			k := blockKey{target: targetNames[target], location: names.of(location), start: at.UnixMicro()}
			if err := f(k, data); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: read results: %w", err)
		}
		return nil
	})
}

// forEachProbe calls f with every probe of targets from locations sent in one of spans
// (unix µs, sorted, disjoint): the stored blocks merged with the held ones (held, a
// snapshot of the open blocks taken before the read), one probe per send time. Calls
// for one block come together, oldest first; blocks come in no order.
func (s *Store) forEachProbe(ctx context.Context, targets, locations []string, spans []span, held map[blockKey][]probeblock.Probe, f func(k blockKey, p probeblock.Probe)) error {
	return s.forEachBlockProbes(ctx, targets, locations, spans, held, func(k blockKey, ps []probeblock.Probe) {
		for _, p := range ps {
			f(k, p)
		}
	})
}

// forEachBlockProbes is forEachProbe a block at a time: f gets the block's probes in
// spans, oldest first (the slice is reused after f returns).
func (s *Store) forEachBlockProbes(ctx context.Context, targets, locations []string, spans []span, held map[blockKey][]probeblock.Probe, f func(k blockKey, ps []probeblock.Probe)) error {
	var in []probeblock.Probe
	emit := func(k blockKey, ps []probeblock.Probe) {
		in = in[:0]
		for _, p := range ps {
			for _, sp := range spans {
				if sp.has(p.SentUs) {
					in = append(in, p)
					break
				}
			}
		}
		if len(in) > 0 {
			f(k, in)
		}
	}
	seen := map[blockKey]bool{}
	var buf []probeblock.Probe
	err := s.forEachStoredBlock(ctx, targets, locations, spans, func(k blockKey, data []byte) error {
		var err error
		if buf, err = probeblock.Decode(buf[:0], k.start, data); err != nil {
			return fmt.Errorf("store: block %s/%s at %s: %w", k.target, k.location, time.UnixMicro(k.start).UTC(), err)
		}
		ps := buf
		if h, ok := held[k]; ok {
			ps = probeblock.Merge(buf, h)
			seen[k] = true
		}
		emit(k, ps)
		return nil
	})
	if err != nil {
		return err
	}
	asked := make(map[string]bool, len(targets))
	for _, t := range targets {
		asked[t] = true
	}
	for k, ps := range held {
		if !seen[k] && asked[k.target] {
			emit(k, ps)
		}
	}
	return nil
}
