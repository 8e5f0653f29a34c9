package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// TargetEvent is a change of a target's state at a location (internal/alerts), with
// the figures that caused it.
type TargetEvent struct {
	ID                          int64
	TargetID, GroupID, Location string
	From, To                    string
	At                          time.Time
	LossPct                     float64
	RTTMs                       *float64
	Flapping                    bool
}

// maxEventsPage bounds one read of events.
const maxEventsPage = 1000

// RecordEvents stores state changes, in one transaction.
func (s *Store) RecordEvents(ctx context.Context, evs []TargetEvent) error {
	if len(evs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO target_events (target_id, group_id, location, from_state, to_state, at, loss_pct, rtt_ms, flapping) VALUES ")
	args := make([]any, 0, 9*len(evs))
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.TargetID, e.GroupID, e.Location, e.From, e.To, s.eventTime(e.At), e.LossPct, e.RTTMs, e.Flapping)
	}
	return translate("record target events", s.db.WithContext(ctx).Exec(b.String(), args...).Error)
}

// eventTime is how at is stored: unix µs on SQLite.
func (s *Store) eventTime(at time.Time) any {
	if s.dialect == SQLite {
		return at.UnixMicro()
	}
	return at.UTC()
}

// EventQuery picks events: a target's or a group's, newest recorded first, recorded
// before the event BeforeID (when set: the previous page's last), at most Limit
// (1..1000, default 100).
type EventQuery struct {
	TargetID, GroupID string
	BeforeID          int64
	Limit             int
}

// Events reads state changes, newest first.
func (s *Store) Events(ctx context.Context, q EventQuery) ([]TargetEvent, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, maxEventsPage)
	where, args := "group_id = ?", []any{q.GroupID}
	if q.TargetID != "" {
		where, args = "target_id = ?", []any{q.TargetID}
	}
	if q.BeforeID > 0 {
		where += " AND id < ?"
		args = append(args, q.BeforeID)
	}
	rows, err := s.db.WithContext(ctx).Raw("SELECT id, target_id, group_id, location, from_state, to_state, at, loss_pct, rtt_ms, flapping FROM target_events WHERE "+
		where+" ORDER BY id DESC LIMIT ?", append(args, q.Limit)...).Rows()
	if err != nil {
		return nil, translate("read target events", err)
	}
	defer rows.Close()
	var out []TargetEvent
	for rows.Next() {
		var e TargetEvent
		var rtt sql.NullFloat64
		if s.dialect == SQLite {
			var at int64
			var flapping int64
			if err := rows.Scan(&e.ID, &e.TargetID, &e.GroupID, &e.Location, &e.From, &e.To, &at, &e.LossPct, &rtt, &flapping); err != nil {
				return nil, translate("read target events", err)
			}
			e.At, e.Flapping = time.UnixMicro(at).UTC(), flapping != 0
		} else {
			if err := rows.Scan(&e.ID, &e.TargetID, &e.GroupID, &e.Location, &e.From, &e.To, &e.At, &e.LossPct, &rtt, &e.Flapping); err != nil {
				return nil, translate("read target events", err)
			}
			e.At = e.At.UTC()
		}
		if rtt.Valid {
			v := rtt.Float64
			e.RTTMs = &v
		}
		out = append(out, e)
	}
	return out, translate("read target events", rows.Err())
}
