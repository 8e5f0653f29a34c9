package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
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
}

// prunedTarget is one target prune chose. Sent counts the probes that left, Errors
// those that never did (no address, send refused); Loss is the share of all its probes,
// both kinds, that got no answer.
type prunedTarget struct {
	ID       string  `json:"id"`
	Address  string  `json:"address"`
	Sent     int64   `json:"sent"`
	Received int64   `json:"received"`
	Errors   int64   `json:"errors"`
	Loss     float64 `json:"loss"`
}

type pruneResult struct {
	Window  string         `json:"window"`
	MinLoss float64        `json:"min_loss"`
	Action  string         `json:"action"`
	DryRun  bool           `json:"dry_run"`
	Targets []prunedTarget `json:"targets"`
}

// handlePrune removes or pauses the targets whose loss over the last window is at least
// min_loss (default 1: never answered). A probe that never left (a hostname that does
// not resolve, a refused send) counts as unanswered here: such a target is just as
// unreachable, and its errors count says why. Targets with no probes in the window
// (paused, or just added) are left alone. dry_run shows what it would do.
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
		ctx := c.Request.Context()
		targets, err := s.Store.Targets(ctx, v.Group.ID)
		if err != nil {
			return err
		}
		ids := groups.TargetIDs(targets)
		now := time.Now()
		stats, err := s.Store.ResultStats(ctx, ids, now.Add(-window), now)
		if err != nil {
			return err
		}
		out := pruneResult{Window: window.String(), MinLoss: minLoss, Action: req.Action, DryRun: req.DryRun, Targets: []prunedTarget{}}
		var chosen []string
		for _, t := range targets {
			st, ok := stats[t.ID]
			probes := st.Sent + st.Errors
			if !ok || probes == 0 || (t.Paused && req.Action == "pause") {
				continue
			}
			loss := 1 - float64(st.Received)/float64(probes)
			if loss >= minLoss {
				chosen = append(chosen, t.ID)
				out.Targets = append(out.Targets, prunedTarget{ID: t.ID, Address: t.Address, Sent: st.Sent, Received: st.Received, Errors: st.Errors, Loss: loss})
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
	}
	return window, minLoss, nil
}
