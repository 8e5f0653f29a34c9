package store

import (
	"context"
	"time"
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
		var rtt *int64
		var unsent int16
		if s.dialect == SQLite {
			var at int64
			if err := rows.Scan(&at, &rtt, &smp.OK, &unsent); err != nil {
				return nil, translate("read samples", err)
			}
			smp.SentAt = time.UnixMicro(at).UTC()
		} else if err := rows.Scan(&smp.SentAt, &rtt, &smp.OK, &unsent); err != nil {
			return nil, translate("read samples", err)
		}
		smp.Unsent = unsentReason(unsent)
		if rtt != nil {
			smp.RTTUs = *rtt
		}
		smp.SentAt = smp.SentAt.UTC()
		out = append(out, smp)
	}
	if err := rows.Err(); err != nil {
		return nil, translate("read samples", err)
	}
	return out, nil
}
