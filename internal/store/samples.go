package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"pingdeck/internal/ping"
	"pingdeck/internal/probeblock"
)

// Sample is one raw probe result.
type Sample struct {
	// Location is where the probe was sent from.
	Location string
	SentAt   time.Time
	OK       bool
	RTTUs    int64 // meaningful when OK
	// Unsent is why the probe never left ("no such host", "does not resolve", "send
	// failed", "error"), or "" when it did (answered, or lost).
	Unsent string
}

// SampleQuery asks for one target's raw results sent in [From, To), oldest first;
// results sent at the same time come in the order of their locations' names.
type SampleQuery struct {
	TargetID string
	// Location, when set, asks for the results sent from there only.
	Location string
	From, To time.Time
	// After, when set, is the last sample of the previous page: the answer starts just
	// after it. An After with no Location starts after every sample sent at its time.
	After *SampleKey
	Limit int
}

// SampleKey is where a sample stands in the order Samples returns.
type SampleKey struct {
	SentAt   time.Time
	Location string
}

// Samples returns up to q.Limit raw results of one target, as q asks. Callers page by
// asking again After the last one.
func (s *Store) Samples(ctx context.Context, q SampleQuery) ([]Sample, error) {
	locations, err := s.readLocations(ctx, q.Location)
	if err != nil {
		return nil, err
	}
	from := q.From
	if k := q.After; k != nil && k.SentAt.After(from) {
		from = k.SentAt
	}
	if !from.Before(q.To) {
		return []Sample{}, nil
	}
	targets := []string{q.TargetID}
	spans := []span{{from.UnixMicro(), q.To.UnixMicro()}}
	held := s.open.snapshot(targets, locations, spans)
	out := []Sample{}
	err = s.forEachProbe(ctx, targets, locations, spans, held, func(k blockKey, p probeblock.Probe) {
		if a := q.After; a != nil && p.SentUs == a.SentAt.UnixMicro() && (a.Location == "" || k.location <= a.Location) {
			return // on the previous page
		}
		out = append(out, sampleOf(k.location, p))
	})
	if err != nil {
		return nil, translate("read samples", err)
	}
	slices.SortFunc(out, func(a, b Sample) int {
		return cmp.Or(a.SentAt.Compare(b.SentAt), cmp.Compare(a.Location, b.Location))
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// sampleOf is p, sent from location, as a Sample.
func sampleOf(location string, p probeblock.Probe) Sample {
	return Sample{Location: location, SentAt: time.UnixMicro(p.SentUs).UTC(), OK: p.Status == probeblock.Answered,
		RTTUs: p.RTTUs, Unsent: unsentReason(unsentOf(p))}
}

// RecentResults returns the results of targetIDs sent since, from every location,
// oldest first: at most limit, the newest when there are more. It is what a live view
// of a group starts from. The reason a probe failed is as the database keeps it:
// "timeout" for a lost probe, the short reason (Sample.Unsent) for one that never left.
func (s *Store) RecentResults(ctx context.Context, targetIDs []string, since time.Time, limit int) ([]ping.Result, error) {
	if len(targetIDs) == 0 || limit <= 0 {
		return nil, nil
	}
	locations, err := s.ResultLocations(ctx)
	if err != nil {
		return nil, err
	}
	spans := []span{{since.UnixMicro(), time.Now().Add(24 * time.Hour).UnixMicro()}}
	held := s.open.snapshot(targetIDs, locations, spans)
	var out []ping.Result
	err = s.forEachProbe(ctx, targetIDs, locations, spans, held, func(k blockKey, p probeblock.Probe) {
		smp := sampleOf(k.location, p)
		r := ping.Result{TargetID: k.target, Location: smp.Location, SentAt: smp.SentAt, OK: smp.OK}
		switch {
		case smp.OK:
			r.RTT = time.Duration(smp.RTTUs) * time.Microsecond
		case smp.Unsent != "":
			r.Err = smp.Unsent
		default:
			r.Err = ping.ErrTimeout
		}
		out = append(out, r)
	})
	if err != nil {
		return nil, translate("read recent results", err)
	}
	slices.SortFunc(out, func(a, b ping.Result) int {
		return cmp.Or(a.SentAt.Compare(b.SentAt), cmp.Compare(a.Location, b.Location))
	})
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}
