package store

import (
	"context"
	"database/sql"
	"time"
)

// MaxStateEvents bounds one read of StateEvents.
const MaxStateEvents = 50_000

// StateEvents reads a group's state changes at in [from, to), oldest first (only
// location's when not empty), at most limit (≤ MaxStateEvents): the state bar's input.
func (s *Store) StateEvents(ctx context.Context, groupID, location string, from, to time.Time, limit int) ([]TargetEvent, error) {
	where, args := "group_id = ? AND at >= ? AND at < ?", []any{groupID, s.eventTime(from), s.eventTime(to)}
	if location != "" {
		where += " AND location = ?"
		args = append(args, location)
	}
	rows, err := s.db.WithContext(ctx).Raw("SELECT id, target_id, location, from_state, to_state, at FROM target_events WHERE "+
		where+" ORDER BY at, id LIMIT ?", append(args, min(limit, MaxStateEvents))...).Rows()
	if err != nil {
		return nil, translate("read state events", err)
	}
	defer rows.Close()
	var out []TargetEvent
	for rows.Next() {
		e := TargetEvent{GroupID: groupID}
		var at sql.NullTime
		var atUs int64
		dest := []any{&e.ID, &e.TargetID, &e.Location, &e.From, &e.To, &at}
		if s.dialect == SQLite {
			dest[5] = &atUs
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, translate("read state events", err)
		}
		e.At = at.Time.UTC()
		if s.dialect == SQLite {
			e.At = time.UnixMicro(atUs).UTC()
		}
		out = append(out, e)
	}
	return out, translate("read state events", rows.Err())
}
