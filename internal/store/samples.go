package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"pingdeck/internal/ping"
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
	// One ordered range read per location (each walks the primary key), merged here.
	var out []Sample
	for _, loc := range locations {
		rows, err := s.locationSamples(ctx, q, loc)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	slices.SortFunc(out, func(a, b Sample) int {
		return cmp.Or(a.SentAt.Compare(b.SentAt), cmp.Compare(a.Location, b.Location))
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// locationSamples reads the first q.Limit samples of q sent from location.
func (s *Store) locationSamples(ctx context.Context, q SampleQuery, location string) ([]Sample, error) {
	from := q.From
	after := false // whether a sample at from is excluded
	if k := q.After; k != nil && !k.SentAt.Before(from) {
		from, after = k.SentAt, k.Location == "" || location <= k.Location
	}
	lo, hi := any(from.UTC()), any(q.To.UTC())
	if s.dialect == SQLite {
		lo, hi = from.UnixMicro(), q.To.UnixMicro()
	}
	lower := "sent_at >= ?"
	if after {
		lower = "sent_at > ?"
	}
	rows, err := s.db.WithContext(ctx).Table("probe_results").Select("sent_at, rtt_us, ok, unsent").
		Where("target_id = ? AND location = ? AND "+lower+" AND sent_at < ?", q.TargetID, location, lo, hi).
		Order("sent_at").Limit(q.Limit).Rows()
	if err != nil {
		return nil, translate("read samples", err)
	}
	defer rows.Close()
	out := []Sample{}
	for rows.Next() {
		smp := Sample{Location: location}
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

// scanSample reads a row of (sent_at, rtt_us, ok, unsent), preceded by target_id and
// location when target is not nil.
func (s *Store) scanSample(rows *sql.Rows, target *string, smp *Sample) error {
	var rtt *int64
	var unsent int16
	var dest []any
	if target != nil {
		dest = append(dest, target, &smp.Location)
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
	lo := any(since.UTC())
	if s.dialect == SQLite {
		lo = since.UnixMicro()
	}
	rows, err := s.db.WithContext(ctx).Table("probe_results").Select("target_id, location, sent_at, rtt_us, ok, unsent").
		Where("target_id IN ? AND location IN ? AND sent_at >= ?", targetIDs, locations, lo).
		Order("sent_at DESC, location DESC").Limit(limit).Rows()
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
		r := ping.Result{TargetID: target, Location: smp.Location, SentAt: smp.SentAt, OK: smp.OK}
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
