package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// Prune limits: long enough to mean something, short enough to be raw results.
const (
	minPruneWindow     = 10 * time.Second
	maxPruneWindow     = 7 * 24 * time.Hour
	defaultPruneWindow = 120 * time.Second
)

type pruneRequest struct {
	Window  *durationJSON `json:"window"`
	MinLoss *float64      `json:"min_loss"`
	Action  string        `json:"action"`
	DryRun  bool          `json:"dry_run"`
	// Location, when set, decides on the probes from that one of the group's locations.
	Location *string `json:"location"`
}

// pruneStats are probe counts over the window. Sent counts the probes that left,
// Errors those that never did (no address, send refused); Loss is the share of all the
// probes, both kinds, that got no answer.
type pruneStats struct {
	Sent     int64   `json:"sent"`
	Received int64   `json:"received"`
	Errors   int64   `json:"errors"`
	Loss     float64 `json:"loss"`
}

func pruneStatsOf(st store.WindowStats) pruneStats {
	out := pruneStats{Sent: st.Sent, Received: st.Received, Errors: st.Errors}
	if probes := st.Sent + st.Errors; probes > 0 {
		out.Loss = 1 - float64(st.Received)/float64(probes)
	}
	return out
}

// prunedTarget is one target prune chose: its counts from the locations decided on,
// together and per location.
type prunedTarget struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	pruneStats
	Locations map[string]pruneStats `json:"locations"`
}

type pruneResult struct {
	Window  string  `json:"window"`
	MinLoss float64 `json:"min_loss"`
	Action  string  `json:"action"`
	DryRun  bool    `json:"dry_run"`
	// Locations are those the decision was made on.
	Locations []string       `json:"locations"`
	Targets   []prunedTarget `json:"targets"`
}

// handlePrune removes or pauses the targets whose loss over the last window is at least
// min_loss (default 1: never answered) from every location the group is probed from,
// or from the one location the request names. A probe that never left (a hostname
// that does not resolve, a refused send) counts as unanswered here: such a target is
// just as unreachable, and its errors count says why. A target with no probes in the
// window from one of those locations (paused, just added, or the location's agent was
// offline) is left alone: nothing says it is unreachable from there. dry_run shows what
// it would do.
func handlePrune(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req pruneRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		window, minLoss, err := req.validate()
		if err != nil {
			return err
		}
		v, _, err := s.loadGroup(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		locations := v.Group.ProbeLocations(s.locations().Own())
		var only string
		if req.Location != nil {
			only = *req.Location
			if !slices.Contains(locations, only) {
				return groups.Invalid("location", "must be one of the locations the group is probed from (%s); got %q",
					strings.Join(locations, ", "), only)
			}
			locations = []string{only}
		}
		ctx := c.Request.Context()
		targets, err := s.Store.Targets(ctx, v.Group.ID)
		if err != nil {
			return err
		}
		ids := groups.TargetIDs(targets)
		now := time.Now()
		stats, err := s.Store.ResultStatsByLocation(ctx, ids, only, now.Add(-window), now)
		if err != nil {
			return err
		}
		out := pruneResult{Window: window.String(), MinLoss: minLoss, Action: req.Action, DryRun: req.DryRun,
			Locations: locations, Targets: []prunedTarget{}}
		var chosen []string
		for _, t := range targets {
			if t.Paused && req.Action == "pause" {
				continue
			}
			if p, ok := unreachable(t, locations, stats[t.ID], minLoss); ok {
				chosen = append(chosen, t.ID)
				out.Targets = append(out.Targets, p)
			}
		}
		if !req.DryRun {
			if req.Action == "remove" {
				_, err = s.Store.DeleteTargets(ctx, v.Group.ID, chosen)
			} else {
				_, err = s.Store.SetTargetsPaused(ctx, v.Group.ID, chosen, true)
			}
			if err != nil {
				return err
			}
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
}

// unreachable reports whether t lost at least minLoss of its probes from each of
// locations, with its counts (byLocation: the window's, per location) if so.
func unreachable(t groups.Target, locations []string, byLocation map[string]store.WindowStats, minLoss float64) (prunedTarget, bool) {
	out := prunedTarget{ID: t.ID, Address: t.Address, Locations: make(map[string]pruneStats, len(locations))}
	var all store.WindowStats
	for _, loc := range locations {
		st := byLocation[loc]
		p := pruneStatsOf(st)
		if st.Sent+st.Errors == 0 || p.Loss < minLoss {
			return prunedTarget{}, false
		}
		out.Locations[loc] = p
		all.Sent, all.Received, all.Errors = all.Sent+st.Sent, all.Received+st.Received, all.Errors+st.Errors
	}
	out.pruneStats = pruneStatsOf(all)
	return out, true
}

func (r *pruneRequest) validate() (time.Duration, float64, error) {
	window, minLoss := defaultPruneWindow, 1.0
	if r.Window != nil {
		window = time.Duration(*r.Window)
	}
	if r.MinLoss != nil {
		minLoss = *r.MinLoss
	}
	switch {
	case r.Action != "remove" && r.Action != "pause":
		return 0, 0, groups.Invalid("action", `must be "remove" or "pause"`)
	case window < minPruneWindow || window > maxPruneWindow:
		return 0, 0, groups.Invalid("window", "must be between %s and %s", minPruneWindow, maxPruneWindow)
	case minLoss <= 0 || minLoss > 1:
		return 0, 0, groups.Invalid("min_loss", "must be more than 0 and at most 1 (1 = never answered)")
	case r.Location != nil:
		if err := groups.CheckLocation("location", *r.Location); err != nil {
			return 0, 0, err
		}
	}
	return window, minLoss, nil
}
