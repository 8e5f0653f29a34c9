package store

import (
	"context"
	"time"
)

// WindowStats are one target's probe counts and RTTs over a time window. Sent counts
// the probes that left, Errors those that never did (no address, send refused).
type WindowStats struct {
	TargetID  string
	Sent      int64
	Received  int64
	Errors    int64
	RTTMinUs  *int64
	RTTMaxUs  *int64
	RTTMeanUs *float64
}

// ResultStats counts each target's probes sent in [from, to) — a probe counts in the
// window where it was sent — with RTT min/mean/max over the answered ones. Targets
// with no probes in the window are absent.
func (s *Store) ResultStats(ctx context.Context, targetIDs []string, from, to time.Time) (map[string]WindowStats, error) {
	out := make(map[string]WindowStats, len(targetIDs))
	if len(targetIDs) == 0 {
		return out, nil
	}
	lo, hi := any(from.UTC()), any(to.UTC())
	if s.dialect == SQLite {
		lo, hi = from.UnixMicro(), to.UnixMicro()
	}
	var rows []WindowStats
	const chunk = 500
	for start := 0; start < len(targetIDs); start += chunk {
		ids := targetIDs[start:min(start+chunk, len(targetIDs))]
		var part []WindowStats
		err := s.db.WithContext(ctx).Table("probe_results").
			Select(`target_id, sum(CASE WHEN unsent = 0 THEN 1 ELSE 0 END) AS sent, count(rtt_us) AS received,
				sum(CASE WHEN unsent = 0 THEN 0 ELSE 1 END) AS errors,
				min(rtt_us) AS rtt_min_us, max(rtt_us) AS rtt_max_us, avg(rtt_us) AS rtt_mean_us`).
			Where("target_id IN ? AND sent_at >= ? AND sent_at < ?", ids, lo, hi).
			Group("target_id").Scan(&part).Error
		if err != nil {
			return nil, translate("result stats", err)
		}
		rows = append(rows, part...)
	}
	for _, r := range rows {
		out[r.TargetID] = r
	}
	return out, nil
}
