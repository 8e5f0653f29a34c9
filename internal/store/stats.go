package store

import (
	"context"
	"time"

	"pingdeck/internal/probeblock"
)

// WindowStats are one target's probe counts and RTTs over a time window. Sent counts
// the probes that left, Errors those that never did (no address, send refused).
type WindowStats struct {
	TargetID string
	// Location is where the probes were sent from; empty when the stats sum every
	// location's probes (ResultStats).
	Location  string
	Sent      int64
	Received  int64
	Errors    int64
	RTTMinUs  *int64
	RTTMaxUs  *int64
	RTTMeanUs *float64
}

// windowRow is one (target, location) group of the stats query.
type windowRow struct {
	TargetID string
	Location string
	Sent     int64
	Received int64
	Errors   int64
	RTTMinUs *int64
	RTTMaxUs *int64
	RTTSumUs *int64
}

// merge adds o's probes to r's.
func (r *windowRow) merge(o *windowRow) {
	if o.RTTMinUs != nil && (r.RTTMinUs == nil || *o.RTTMinUs < *r.RTTMinUs) {
		r.RTTMinUs = o.RTTMinUs
	}
	if o.RTTMaxUs != nil && (r.RTTMaxUs == nil || *o.RTTMaxUs > *r.RTTMaxUs) {
		r.RTTMaxUs = o.RTTMaxUs
	}
	if o.RTTSumUs != nil {
		sum := *o.RTTSumUs
		if r.RTTSumUs != nil {
			sum += *r.RTTSumUs
		}
		r.RTTSumUs = &sum
	}
	r.Sent += o.Sent
	r.Received += o.Received
	r.Errors += o.Errors
}

func (r *windowRow) stats() WindowStats {
	w := WindowStats{TargetID: r.TargetID, Location: r.Location, Sent: r.Sent, Received: r.Received, Errors: r.Errors,
		RTTMinUs: r.RTTMinUs, RTTMaxUs: r.RTTMaxUs}
	if r.RTTSumUs != nil && r.Received > 0 {
		mean := float64(*r.RTTSumUs) / float64(r.Received)
		w.RTTMeanUs = &mean
	}
	return w
}

// ResultStats counts each target's probes sent in [from, to), from every location
// together — a probe counts in the window where it was sent — with RTT min/mean/max
// over the answered ones. Targets with no probes in the window are absent.
func (s *Store) ResultStats(ctx context.Context, targetIDs []string, from, to time.Time) (map[string]WindowStats, error) {
	rows, err := s.windowRows(ctx, targetIDs, "", from, to)
	if err != nil {
		return nil, err
	}
	sums := make(map[string]*windowRow, len(targetIDs))
	for i := range rows {
		r := &rows[i]
		if sum := sums[r.TargetID]; sum != nil {
			sum.merge(r)
			continue
		}
		r.Location = ""
		sums[r.TargetID] = r
	}
	out := make(map[string]WindowStats, len(sums))
	for id, r := range sums {
		out[id] = r.stats()
	}
	return out, nil
}

// ResultStatsByLocation is ResultStats split by the location the probes were sent
// from: target → location → stats. location, when not empty, counts only that one.
// Targets and locations with no probes in the window are absent.
func (s *Store) ResultStatsByLocation(ctx context.Context, targetIDs []string, location string, from, to time.Time) (map[string]map[string]WindowStats, error) {
	rows, err := s.windowRows(ctx, targetIDs, location, from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]WindowStats, len(targetIDs))
	for i := range rows {
		r := &rows[i]
		if out[r.TargetID] == nil {
			out[r.TargetID] = map[string]WindowStats{}
		}
		out[r.TargetID][r.Location] = r.stats()
	}
	return out, nil
}

// windowRows sums the probes of targetIDs sent in [from, to) per target and location
// (only location's, when not empty).
func (s *Store) windowRows(ctx context.Context, targetIDs []string, location string, from, to time.Time) ([]windowRow, error) {
	if len(targetIDs) == 0 {
		return nil, nil
	}
	locations, err := s.readLocations(ctx, location)
	if err != nil {
		return nil, err
	}
	spans := []span{{from.UnixMicro(), to.UnixMicro()}}
	held := s.open.snapshot(targetIDs, locations, spans)
	sums := map[[2]string]*windowRow{}
	err = s.forEachProbe(ctx, targetIDs, locations, spans, held, func(k blockKey, p probeblock.Probe) {
		r := sums[[2]string{k.target, k.location}]
		if r == nil {
			r = &windowRow{TargetID: k.target, Location: k.location}
			sums[[2]string{k.target, k.location}] = r
		}
		switch p.Status {
		case probeblock.Answered:
			rtt := p.RTTUs
			r.merge(&windowRow{Sent: 1, Received: 1, RTTMinUs: &rtt, RTTMaxUs: &rtt, RTTSumUs: &rtt})
		case probeblock.Lost:
			r.Sent++
		default:
			r.Errors++
		}
	})
	if err != nil {
		return nil, err
	}
	rows := make([]windowRow, 0, len(sums))
	for _, r := range sums {
		rows = append(rows, *r)
	}
	return rows, nil
}
