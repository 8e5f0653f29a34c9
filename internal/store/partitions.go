package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// EnsurePartitions creates the Postgres partitions covering from..to: daily ones
// (UTC) of probe_results and monthly ones of the rollup tables. On SQLite it does nothing.
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

// createPartitions creates the missing partitions covering from..to.
func createPartitions(tx *gorm.DB, from, to time.Time) error {
	for day := from.UTC().Truncate(24 * time.Hour); !day.After(to); day = day.Add(24 * time.Hour) {
		next := day.Add(24 * time.Hour)
		stmt := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS probe_results_p%s PARTITION OF probe_results
			FOR VALUES FROM ('%s') TO ('%s')`, day.Format("20060102"), day.Format(time.RFC3339), next.Format(time.RFC3339))
		if err := tx.Exec(stmt).Error; err != nil {
			return fmt.Errorf("store: create partition for %s: %w", day.Format(time.DateOnly), err)
		}
	}
	for month := monthOf(from); !month.After(to); month = month.AddDate(0, 1, 0) {
		next := month.AddDate(0, 1, 0)
		for _, lvl := range rollupTables {
			stmt := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s_p%s PARTITION OF %s
				FOR VALUES FROM ('%s') TO ('%s')`, lvl.name, month.Format("200601"), lvl.name, month.Format(time.RFC3339), next.Format(time.RFC3339))
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("store: create %s partition for %s: %w", lvl.name, month.Format("2006-01"), err)
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
