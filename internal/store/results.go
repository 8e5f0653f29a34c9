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
	"gorm.io/gorm"

	"pingdeck/internal/ping"
)

// WriteResults stores a batch of probe results. A result already stored (same target
// and send time) is skipped, so a batch replayed after an uncertain failure never
// counts twice. Postgres uses COPY; SQLite one transaction.
func (s *Store) WriteResults(ctx context.Context, rs []ping.Result) error {
	if len(rs) == 0 {
		return nil
	}
	if s.dialect == SQLite {
		return s.writeResultsSQLite(ctx, rs)
	}
	err := s.copyResults(ctx, rs)
	if pgCode(err) == "23514" { // check_violation: no partition for some send time yet
		first, last := sendTimeRange(rs)
		if err := s.EnsurePartitions(ctx, first, last); err != nil {
			return err
		}
		err = s.copyResults(ctx, rs)
	}
	if pgCode(err) == "23505" { // unique_violation: part of the batch is already stored
		return s.insertResultsIgnoringDuplicates(ctx, rs)
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

func (s *Store) copyResults(ctx context.Context, rs []ping.Result) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: copy results: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pc := driverConn.(*stdlib.Conn).Conn()
		_, err := pc.CopyFrom(ctx, pgx.Identifier{"probe_results"}, []string{"target_id", "sent_at", "rtt_us", "ok"},
			pgx.CopyFromSlice(len(rs), func(i int) ([]any, error) {
				r := &rs[i]
				return []any{r.TargetID, r.SentAt, rttMicros(r), r.OK}, nil
			}))
		if err != nil {
			return fmt.Errorf("store: copy results: %w", err)
		}
		return nil
	})
}

// insertResultsIgnoringDuplicates is the slow path for a batch that overlaps stored rows.
func (s *Store) insertResultsIgnoringDuplicates(ctx context.Context, rs []ping.Result) error {
	const chunk = 1000 // 4 parameters a row stays under Postgres' 65535 limit
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for start := 0; start < len(rs); start += chunk {
			part := rs[start:min(start+chunk, len(rs))]
			var b strings.Builder
			args := make([]any, 0, 4*len(part))
			b.WriteString("INSERT INTO probe_results (target_id, sent_at, rtt_us, ok) VALUES ")
			for i := range part {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?)")
				args = append(args, part[i].TargetID, part[i].SentAt.UTC(), rttMicros(&part[i]), part[i].OK)
			}
			b.WriteString(" ON CONFLICT DO NOTHING")
			if err := tx.Exec(b.String(), args...).Error; err != nil {
				return fmt.Errorf("store: insert results: %w", err)
			}
		}
		return nil
	})
}

func (s *Store) writeResultsSQLite(ctx context.Context, rs []ping.Result) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO probe_results (target_id, sent_at, rtt_us, ok) VALUES (?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	defer stmt.Close()
	for i := range rs {
		r := &rs[i]
		if _, err := stmt.ExecContext(ctx, r.TargetID, r.SentAt.UnixMicro(), rttMicros(r), r.OK); err != nil {
			return fmt.Errorf("store: write results: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: write results: %w", err)
	}
	return nil
}

// rttMicros is the stored RTT: NULL for a lost probe.
func rttMicros(r *ping.Result) sql.NullInt64 {
	if !r.OK {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: r.RTT.Microseconds(), Valid: true}
}

// EnsurePartitions creates the daily probe_results partitions (UTC) covering from..to
// on Postgres; on SQLite it does nothing.
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
	return nil
}
