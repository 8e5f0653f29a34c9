package api

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// State bar limits.
const (
	defaultStateBarRange = 24 * time.Hour
	maxStateBarRange     = 30 * 24 * time.Hour
)

type segmentJSON struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	State string    `json:"state"`
}

// handleStateBar answers each target's states over [now-range, now) as contiguous
// segments, from the stored state changes (at ?location=, or the worst across
// locations).
func handleStateBar(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		location, err := queryLocation(c)
		if err != nil {
			return err
		}
		span := defaultStateBarRange
		if raw := c.Query("range"); raw != "" {
			d, ok := parseSpan(raw)
			if !ok || d < time.Minute || d > maxStateBarRange {
				return groups.Invalid("range", "must be a duration from 1m to 30d, like 24h or 7d; got %q", raw)
			}
			span = d
		}
		ctx := c.Request.Context()
		targets, err := s.Store.Targets(ctx, v.Group.ID)
		if err != nil {
			return err
		}
		to := time.Now().UTC().Truncate(time.Millisecond)
		from := to.Add(-span)
		evs, err := s.Store.StateEvents(ctx, v.Group.ID, location, from, to, store.MaxStateEvents)
		if err != nil {
			return err
		}
		byTarget := map[string][]store.TargetEvent{}
		for _, e := range evs {
			byTarget[e.TargetID] = append(byTarget[e.TargetID], e)
		}
		out := make(map[string][]segmentJSON, len(targets))
		for _, t := range targets {
			out[t.ID] = stateSegments(byTarget[t.ID], from, to)
		}
		c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "targets": out})
		return nil
	})
}

// stateRank orders states for "the worst across locations".
func stateRank(st string) int {
	switch st {
	case "down":
		return 3
	case "degraded":
		return 2
	case "up":
		return 1
	}
	return 0
}

// stateSegments turns one target's changes (oldest first, any locations) into
// contiguous segments covering [from, to): before a location's first change it was
// in the state that change left; with several locations the worst counts.
func stateSegments(evs []store.TargetEvent, from, to time.Time) []segmentJSON {
	byLoc := map[string]string{}
	for _, e := range evs {
		if _, ok := byLoc[e.Location]; !ok {
			byLoc[e.Location] = e.From
		}
	}
	worst := func() string {
		w := "unknown"
		for _, st := range byLoc {
			if stateRank(st) > stateRank(w) {
				w = st
			}
		}
		return w
	}
	slices.SortStableFunc(evs, func(a, b store.TargetEvent) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	var segs []segmentJSON
	cur, start := worst(), from
	for _, e := range evs {
		byLoc[e.Location] = e.To
		st := worst()
		if st == cur {
			continue
		}
		if at := e.At.UTC(); at.After(start) && at.Before(to) {
			segs = append(segs, segmentJSON{From: start, To: at, State: cur})
			start = at
		}
		cur = st
	}
	segs = append(segs, segmentJSON{From: start, To: to, State: cur})
	// Changes at the same instant can leave neighbours alike: join them.
	out := segs[:1]
	for _, sg := range segs[1:] {
		if last := &out[len(out)-1]; last.State == sg.State {
			last.To = sg.To
			continue
		}
		out = append(out, sg)
	}
	return out
}
