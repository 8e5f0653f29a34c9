package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// EnsurePartitions creates the Postgres partitions covering from..to: daily ones
// (UTC) of probe_blocks and monthly ones of the rollup tables. On SQLite it does nothing.
// Callers may race (writers in one process, or several replicas): an advisory lock
// makes them take turns, since CREATE TABLE IF NOT EXISTS alone is not safe under
// concurrency.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	if s.dialect != Postgres {
		return nil
	}
	if to.Before(from) {
		from, to = to, from
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('pingdeck.partitions'))").Error; err != nil {
			return fmt.Errorf("store: lock partitions: %w", err)
		}
		return createPartitions(tx, from, to)
	})
}

// partitioned are the partitioned tables: daily ones (probe_results until schema
// version 16, then probe_blocks) and monthly ones.
var partitioned = []struct {
	table string
	daily bool
}{{"probe_blocks", true}, {"probe_results", true}, {"probe_rollups_1m", false}, {"probe_rollups_1h", false}}

// createPartitions creates the missing partitions covering from..to of the
// partitioned tables the schema has.
func createPartitions(tx *gorm.DB, from, to time.Time) error {
	for _, p := range partitioned {
		var exists bool
		if err := tx.Raw("SELECT to_regclass(?) IS NOT NULL", p.table).Scan(&exists).Error; err != nil {
			return fmt.Errorf("store: look for %s: %w", p.table, err)
		}
		if !exists {
			continue
		}
		first, step, name := monthOf(from), func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }, "200601"
		if p.daily {
			first, step, name = from.UTC().Truncate(24*time.Hour), func(t time.Time) time.Time { return t.Add(24 * time.Hour) }, "20060102"
		}
		for at := first; !at.After(to); at = step(at) {
			stmt := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s_p%[2]s PARTITION OF %[1]s FOR VALUES FROM ('%[3]s') TO ('%[4]s')`,
				p.table, at.Format(name), at.Format(time.RFC3339), step(at).Format(time.RFC3339))
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("store: create %s partition for %s: %w", p.table, at.Format(time.DateOnly), err)
			}
		}
	}
	return nil
}

// monthOf is the first instant of t's month, UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
