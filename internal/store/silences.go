package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"pingdeck/internal/groups"
)

// Silence is a maintenance window: from From to To the group's alert rules do not
// count the target (TargetID empty: any of the group's, and then the rules neither
// fire nor notify).
// Its times are stored as target events' are (unix µs on SQLite).
type Silence struct {
	ID, GroupID, TargetID string
	From, To              time.Time
	Comment               string
	CreatedBy             string // the creator's user ID; empty once the account is deleted
	CreatedByName         string // read only: the creator's username
	CreatedAt             time.Time
}

// MaxOpenSilences bounds a group's silences that have not ended.
const MaxOpenSilences = 200

// CreateSilence stores a silence unless its group has MaxOpenSilences that have not
// ended at now (a conflict). A group or target deleted meanwhile is not-found.
func (s *Store) CreateSilence(ctx context.Context, sl *Silence, now time.Time) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		lock := "SELECT id FROM groups WHERE id = ?"
		if s.dialect == Postgres {
			lock += " FOR NO KEY UPDATE" // serialises creates per group; SQLite's are serial already
		}
		var ids []string
		if err := tx.Raw(lock, sl.GroupID).Scan(&ids).Error; err != nil {
			return translate("lock the group", err)
		}
		if len(ids) == 0 {
			return fmt.Errorf("store: create silence: %w", groups.NotFound("group"))
		}
		var n int64
		if err := tx.Raw("SELECT count(*) FROM silences WHERE group_id = ? AND to_at > ?", sl.GroupID, s.eventTime(now)).Scan(&n).Error; err != nil {
			return translate("count silences", err)
		}
		if n >= MaxOpenSilences {
			return groups.Conflict("", "the group has %d maintenance windows that have not ended, the most it may have; delete one first", n)
		}
		err := tx.Exec("INSERT INTO silences (id, group_id, target_id, from_at, to_at, comment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			sl.ID, sl.GroupID, nonEmpty(sl.TargetID), s.eventTime(sl.From), s.eventTime(sl.To), sl.Comment,
			nonEmpty(sl.CreatedBy), s.eventTime(sl.CreatedAt)).Error
		return translate("create silence", err)
	})
}

// Silences lists a group's silences ending after since, by start; at most limit.
func (s *Store) Silences(ctx context.Context, groupID string, since time.Time, limit int) ([]Silence, error) {
	return s.readSilences(ctx, "s.group_id = ? AND s.to_at > ?", []any{groupID, s.eventTime(since)}, limit)
}

// SilencesBetween lists every group's silences that overlap [from, until), by start;
// at most limit.
func (s *Store) SilencesBetween(ctx context.Context, from, until time.Time, limit int) ([]Silence, error) {
	return s.readSilences(ctx, "s.to_at > ? AND s.from_at < ?", []any{s.eventTime(from), s.eventTime(until)}, limit)
}

func (s *Store) readSilences(ctx context.Context, where string, args []any, limit int) ([]Silence, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT s.id, s.group_id, s.target_id, s.from_at, s.to_at, s.comment, s.created_by, u.username, s.created_at
		FROM silences s LEFT JOIN users u ON u.id = s.created_by WHERE `+where+` ORDER BY s.from_at, s.id LIMIT ?`, append(args, limit)...).Rows()
	if err != nil {
		return nil, translate("read silences", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		var sl Silence
		var target, by, byName sql.NullString
		if s.dialect == SQLite {
			var from, to, created int64
			if err := rows.Scan(&sl.ID, &sl.GroupID, &target, &from, &to, &sl.Comment, &by, &byName, &created); err != nil {
				return nil, translate("read silences", err)
			}
			sl.From, sl.To, sl.CreatedAt = time.UnixMicro(from).UTC(), time.UnixMicro(to).UTC(), time.UnixMicro(created).UTC()
		} else {
			if err := rows.Scan(&sl.ID, &sl.GroupID, &target, &sl.From, &sl.To, &sl.Comment, &by, &byName, &sl.CreatedAt); err != nil {
				return nil, translate("read silences", err)
			}
			sl.From, sl.To, sl.CreatedAt = sl.From.UTC(), sl.To.UTC(), sl.CreatedAt.UTC()
		}
		sl.TargetID, sl.CreatedBy, sl.CreatedByName = target.String, by.String, byName.String
		out = append(out, sl)
	}
	return out, translate("read silences", rows.Err())
}

// DeleteSilence deletes a group's silence; none is not-found.
func (s *Store) DeleteSilence(ctx context.Context, groupID, id string) error {
	res := s.db.WithContext(ctx).Exec("DELETE FROM silences WHERE id = ? AND group_id = ?", id, groupID)
	if res.Error != nil {
		return translate("delete silence", res.Error)
	}
	if res.RowsAffected == 0 {
		return translate("delete silence", gorm.ErrRecordNotFound)
	}
	return nil
}
