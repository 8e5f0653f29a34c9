package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// busSource is a row of bus_sources.
type busSource struct {
	Source     string `gorm:"primaryKey"`
	NextResult int64
	SeenUnix   int64
}

func (busSource) TableName() string { return "bus_sources" }

// SourceProgress reads, per bus source, how many of its results the batches stored so
// far account for (their "before" plus their count, the largest).
func (s *Store) SourceProgress(ctx context.Context) (map[string]uint64, error) {
	var rows []busSource
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, translate("read bus sources", err)
	}
	out := make(map[string]uint64, len(rows))
	for _, r := range rows {
		out[r.Source] = uint64(r.NextResult)
	}
	return out, nil
}

// SaveSourceProgress records progress (never lowering what is stored) as of now.
func (s *Store) SaveSourceProgress(ctx context.Context, progress map[string]uint64, now time.Time) error {
	if len(progress) == 0 {
		return nil
	}
	rows := make([]busSource, 0, len(progress))
	for src, next := range progress {
		rows = append(rows, busSource{Source: src, NextResult: int64(next), SeenUnix: now.Unix()})
	}
	greatest := "max" // SQLite's two-argument max
	if s.dialect == Postgres {
		greatest = "greatest"
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "source"}},
		DoUpdates: clause.Set{
			{Column: clause.Column{Name: "next_result"}, Value: clause.Expr{SQL: greatest + "(bus_sources.next_result, excluded.next_result)"}},
			{Column: clause.Column{Name: "seen_unix"}, Value: clause.Expr{SQL: "excluded.seen_unix"}},
		},
	}).Create(&rows).Error
	return translate("save bus sources", err)
}

// ForgetSourcesBefore deletes sources not seen since cutoff: no batch of theirs can
// still be on the bus.
func (s *Store) ForgetSourcesBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("seen_unix < ?", cutoff.Unix()).Delete(&busSource{})
	return res.RowsAffected, translate("forget bus sources", res.Error)
}
