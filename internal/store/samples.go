package store

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"pingdeck/internal/ping"
)

// Sample is one raw probe result.
type Sample struct {
	SentAt time.Time
	OK     bool
	RTTUs  int64 // meaningful when OK
	// Unsent is why the probe never left ("no such host", "does not resolve", "send
	// failed", "error"), or "" when it did (answered, or lost).
	Unsent string
}

// Samples returns up to limit raw results of one target sent in [from, to), oldest
// first. Callers page by asking again from just after the last one.
func (s *Store) Samples(ctx context.Context, targetID string, from, to time.Time, limit int) ([]Sample, error) {
	lo, hi := any(from.UTC()), any(to.UTC())
	if s.dialect == SQLite {
		lo, hi = from.UnixMicro(), to.UnixMicro()
	}
	rows, err := s.db.WithContext(ctx).Table("probe_results").Select("sent_at, rtt_us, ok, unsent").
		Where("target_id = ? AND sent_at >= ? AND sent_at < ?", targetID, lo, hi).
		Order("sent_at").Limit(limit).Rows()
	if err != nil {
		return nil, translate("read samples", err)
	}
	defer rows.Close()
	out := []Sample{}
	for rows.Next() {
		var smp Sample
		if err := s.scanSample(rows, nil, &smp); err != nil {
			return nil, translate("read samples", err)
		}
		out = append(out, smp)
	}
	if err := rows.Err(); err != nil {
		return nil, translate("read samples", err)
	}
	return out, nil
}

// scanSample reads a row of (sent_at, rtt_us, ok, unsent), preceded by target_id when
// target is not nil.
func (s *Store) scanSample(rows *sql.Rows, target *string, smp *Sample) error {
	var rtt *int64
	var unsent int16
	var dest []any
	if target != nil {
		dest = append(dest, target)
	}
	var at int64
	if s.dialect == SQLite {
		dest = append(dest, &at)
	} else {
		dest = append(dest, &smp.SentAt)
	}
	if err := rows.Scan(append(dest, &rtt, &smp.OK, &unsent)...); err != nil {
		return err
	}
	if s.dialect == SQLite {
		smp.SentAt = time.UnixMicro(at)
	}
	smp.SentAt = smp.SentAt.UTC()
	smp.Unsent = unsentReason(unsent)
	if rtt != nil {
		smp.RTTUs = *rtt
	}
	return nil
}

// RecentResults returns the results of targetIDs sent since, oldest first: at most
// limit, the newest when there are more. It is what a live view of a group starts
// from. The reason a probe failed is as the database keeps it: "timeout" for a lost
// probe, the short reason (Sample.Unsent) for one that never left.
func (s *Store) RecentResults(ctx context.Context, targetIDs []string, since time.Time, limit int) ([]ping.Result, error) {
	if len(targetIDs) == 0 || limit <= 0 {
		return nil, nil
	}
	lo := any(since.UTC())
	if s.dialect == SQLite {
		lo = since.UnixMicro()
	}
	rows, err := s.db.WithContext(ctx).Table("probe_results").Select("target_id, sent_at, rtt_us, ok, unsent").
		Where("target_id IN ? AND sent_at >= ?", targetIDs, lo).Order("sent_at DESC").Limit(limit).Rows()
	if err != nil {
		return nil, translate("read recent results", err)
	}
	defer rows.Close()
	var out []ping.Result
	for rows.Next() {
		var smp Sample
		var target string
		if err := s.scanSample(rows, &target, &smp); err != nil {
			return nil, translate("read recent results", err)
		}
		r := ping.Result{TargetID: target, SentAt: smp.SentAt, OK: smp.OK}
		switch {
		case smp.OK:
			r.RTT = time.Duration(smp.RTTUs) * time.Microsecond
		case smp.Unsent != "":
			r.Err = smp.Unsent
		default:
			r.Err = ping.ErrTimeout
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, translate("read recent results", err)
	}
	slices.Reverse(out)
	return out, nil
}
