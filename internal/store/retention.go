package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// retentionBatch is how many rows SQLite deletes per statement, so retention never
// holds the write lock long enough to stall the result writer.
const retentionBatch = 5000

// DropResultsBefore removes the blocks of probes that ended by cutoff and reports how
// many partitions (Postgres, whole days only) or blocks (SQLite) went. Postgres drops
// partitions whose whole day is older than cutoff, never deleting row by row.
func (s *Store) DropResultsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	if s.dialect == SQLite {
		return s.deleteResultsBefore(ctx, cutoff)
	}
	var names []string
	err := s.db.WithContext(ctx).Raw(`SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = 'probe_blocks'`).Scan(&names).Error
	if err != nil {
		return 0, translate("list result partitions", err)
	}
	var dropped int64
	for _, name := range names {
		day, err := time.Parse("20060102", strings.TrimPrefix(name, "probe_blocks_p"))
		if err != nil || day.Add(24*time.Hour).After(cutoff) {
			continue // not ours, or still holds rows to keep
		}
		if err := s.db.WithContext(ctx).Exec("DROP TABLE IF EXISTS " + name).Error; err != nil {
			return dropped, translate("drop partition "+name, err)
		}
		dropped++
	}
	return dropped, nil
}

func (s *Store) deleteResultsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		res := s.db.WithContext(ctx).Exec(`DELETE FROM probe_blocks WHERE rowid IN
			(SELECT rowid FROM probe_blocks WHERE start <= ? LIMIT ?)`, cutoff.UnixMicro()-blockSpanUs, retentionBatch)
		if res.Error != nil {
			return total, fmt.Errorf("store: delete old results: %w", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < retentionBatch {
			return total, nil
		}
	}
}

// DropRollupsBefore removes rollups (every level) older than cutoff and reports how
// many partitions (Postgres: whole months that ended by cutoff) or rows (SQLite) went.
func (s *Store) DropRollupsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for _, lvl := range rollupTables {
		n, err := s.dropRollupsBefore(ctx, lvl.name, lvl.bucket, cutoff)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Store) dropRollupsBefore(ctx context.Context, table string, bucket time.Duration, cutoff time.Time) (int64, error) {
	if s.dialect == SQLite {
		var total int64
		for {
			// Only buckets that ended by cutoff.
			res := s.db.WithContext(ctx).Exec(`DELETE FROM `+table+` WHERE (target_id, location, bucket) IN
				(SELECT target_id, location, bucket FROM `+table+` WHERE bucket <= ? LIMIT ?)`, cutoff.Add(-bucket).UnixMicro(), retentionBatch)
			if res.Error != nil {
				return total, fmt.Errorf("store: delete old rollups: %w", res.Error)
			}
			total += res.RowsAffected
			if res.RowsAffected < retentionBatch {
				return total, nil
			}
		}
	}
	var names []string
	err := s.db.WithContext(ctx).Raw(`SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = ?`, table).Scan(&names).Error
	if err != nil {
		return 0, translate("list rollup partitions", err)
	}
	var dropped int64
	for _, name := range names {
		month, err := time.Parse("200601", strings.TrimPrefix(name, table+"_p"))
		if err != nil || month.AddDate(0, 1, 0).After(cutoff) {
			continue // not ours, or still holds rollups to keep
		}
		if err := s.db.WithContext(ctx).Exec("DROP TABLE IF EXISTS " + name).Error; err != nil {
			return dropped, translate("drop rollup partition "+name, err)
		}
		dropped++
	}
	return dropped, nil
}
