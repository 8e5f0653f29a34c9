package store

import (
	"context"
	"fmt"
	"time"
)

// EnsurePartitions creates the Postgres partitions covering from..to: daily ones
// (UTC) of probe_results and monthly ones of the rollup tables. On SQLite it does nothing.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	if s.dialect != Postgres {
		return nil
	}
	if to.Before(from) {
		from, to = to, from
	}
	for day := from.UTC().Truncate(24 * time.Hour); !day.After(to); day = day.Add(24 * time.Hour) {
		next := day.Add(24 * time.Hour)
		stmt := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS probe_results_p%s PARTITION OF probe_results
			FOR VALUES FROM ('%s') TO ('%s')`, day.Format("20060102"), day.Format(time.RFC3339), next.Format(time.RFC3339))
		if err := s.db.WithContext(ctx).Exec(stmt).Error; err != nil {
			return fmt.Errorf("store: create partition for %s: %w", day.Format(time.DateOnly), err)
		}
	}
	for month := monthOf(from); !month.After(to); month = month.AddDate(0, 1, 0) {
		next := month.AddDate(0, 1, 0)
		for _, lvl := range rollupTables {
			stmt := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s_p%s PARTITION OF %s
				FOR VALUES FROM ('%s') TO ('%s')`, lvl.name, month.Format("200601"), lvl.name, month.Format(time.RFC3339), next.Format(time.RFC3339))
			if err := s.db.WithContext(ctx).Exec(stmt).Error; err != nil {
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
