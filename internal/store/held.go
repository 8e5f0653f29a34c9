package store

import (
	"context"

	"pingdeck/internal/probeblock"
)

// With several replicas, one writer at a time holds the open blocks (issue 21); the
// other replicas' reads ask it for what it holds over the bus. These are the store's
// side of that question.

// HeldQuery asks for the held probes of targets (from locations; every location when
// nil) sent in [FromUs, ToUs).
type HeldQuery struct {
	Targets, Locations []string
	FromUs, ToUs       int64
}

// HeldBlock is the held probes of one block, encoded as probeblock does.
type HeldBlock struct {
	Target, Location string
	Start            int64 // unix µs
	Data             []byte
}

// Held answers q from the blocks this process holds.
func (s *Store) Held(q HeldQuery) []HeldBlock {
	got := s.open.snapshot(q.Targets, q.Locations, []span{{q.FromUs, q.ToUs}})
	out := make([]HeldBlock, 0, len(got))
	for k, ps := range got {
		out = append(out, HeldBlock{Target: k.target, Location: k.location, Start: k.start, Data: probeblock.Encode(k.start, ps)})
	}
	return out
}

// SetPeerHeld makes every read also ask ask for the results another process holds
// (the cluster's writer); an error there makes the read fail rather than miss them.
// Call it before the store is used.
func (s *Store) SetPeerHeld(ask func(ctx context.Context, q HeldQuery) ([]HeldBlock, error)) {
	s.peerHeld = ask
}

// heldSnapshot is what this process and (with SetPeerHeld) the cluster's writer hold
// of targets from locations in spans, per block, sorted, one probe per send time.
func (s *Store) heldSnapshot(ctx context.Context, targets, locations []string, spans []span) (map[blockKey][]probeblock.Probe, error) {
	held := s.open.snapshot(targets, locations, spans)
	if s.peerHeld == nil || len(targets) == 0 || len(spans) == 0 {
		return held, nil
	}
	q := HeldQuery{Targets: targets, Locations: locations, FromUs: spans[0].lo, ToUs: spans[0].hi}
	for _, sp := range spans {
		q.FromUs, q.ToUs = min(q.FromUs, sp.lo), max(q.ToUs, sp.hi)
	}
	blocks, err := s.peerHeld(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		ps, err := probeblock.Decode(nil, b.Start, b.Data)
		if err != nil {
			return nil, err
		}
		k := blockKey{b.Target, b.Location, b.Start}
		var in []probeblock.Probe
		for _, p := range ps {
			for _, sp := range spans {
				if sp.has(p.SentUs) {
					in = append(in, p)
					break
				}
			}
		}
		held[k] = probeblock.Merge(held[k], in)
	}
	return held, nil
}
