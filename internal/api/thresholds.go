package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
)

// ThresholdStore keeps the groups' and targets' state thresholds.
type ThresholdStore interface {
	GroupThresholds(ctx context.Context, groupID string) (groups.ThresholdOverride, map[string]groups.ThresholdOverride, error)
	SetGroupThresholds(ctx context.Context, groupID string, o groups.ThresholdOverride) error
	SetTargetThresholds(ctx context.Context, groupID, targetID string, o groups.ThresholdOverride) error
	DeleteTargetThresholds(ctx context.Context, groupID, targetID string) error
}

// thresholdsJSON is a request's thresholds: null or absent fields inherit (the
// built-in values for a group, the group's for a target).
type thresholdsJSON struct {
	Window          *int          `json:"window"`
	DownLossPct     *float64      `json:"down_loss_pct"`
	DegradedLossPct *float64      `json:"degraded_loss_pct"`
	DegradedRTTMs   *float64      `json:"degraded_rtt_ms"`
	RTTPercentile   *int          `json:"rtt_percentile"`
	Consecutive     *int          `json:"consecutive"`
	FlapChanges     *int          `json:"flap_changes"`
	FlapWindow      *durationJSON `json:"flap_window"`
}

func (t thresholdsJSON) override() groups.ThresholdOverride {
	o := groups.ThresholdOverride{Window: t.Window, DownLossPct: t.DownLossPct, DegradedLossPct: t.DegradedLossPct,
		DegradedRTTMs: t.DegradedRTTMs, RTTPercentile: t.RTTPercentile, Consecutive: t.Consecutive, FlapChanges: t.FlapChanges}
	if t.FlapWindow != nil {
		d := time.Duration(*t.FlapWindow)
		o.FlapWindow = &d
	}
	return o
}

// effectiveJSON is thresholds in effect, every field set.
type effectiveJSON struct {
	Window          int     `json:"window"`
	DownLossPct     float64 `json:"down_loss_pct"`
	DegradedLossPct float64 `json:"degraded_loss_pct"`
	DegradedRTTMs   float64 `json:"degraded_rtt_ms"`
	RTTPercentile   int     `json:"rtt_percentile"`
	Consecutive     int     `json:"consecutive"`
	FlapChanges     int     `json:"flap_changes"`
	FlapWindow      string  `json:"flap_window"`
}

func effectiveOut(t groups.Thresholds) effectiveJSON {
	return effectiveJSON{Window: t.Window, DownLossPct: t.DownLossPct, DegradedLossPct: t.DegradedLossPct,
		DegradedRTTMs: t.DegradedRTTMs, RTTPercentile: t.RTTPercentile, Consecutive: t.Consecutive,
		FlapChanges: t.FlapChanges, FlapWindow: shortDuration(t.FlapWindow)}
}

// shortDuration writes whole hours and minutes as "2h" and "10m", others as Go does.
func shortDuration(d time.Duration) string {
	switch {
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// handleThresholdsGet answers a group's thresholds in effect and its targets' that
// override them.
func handleThresholdsGet(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		out := struct {
			Group   effectiveJSON            `json:"group"`
			Targets map[string]effectiveJSON `json:"targets"`
		}{Group: effectiveOut(groups.DefaultThresholds()), Targets: map[string]effectiveJSON{}}
		if s.Thresholds != nil {
			g, ts, err := s.Thresholds.GroupThresholds(c.Request.Context(), v.Group.ID)
			if err != nil {
				return err
			}
			group := g.Over(groups.DefaultThresholds())
			out.Group = effectiveOut(group)
			for id, o := range ts {
				out.Targets[id] = effectiveOut(o.Over(group))
			}
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
}

// handleGroupThresholdsPut sets a group's thresholds (editors and up): they must hold
// with every target's override over them too.
func handleGroupThresholdsPut(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		var req thresholdsJSON
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if s.Thresholds == nil {
			return groups.NotFound("thresholds")
		}
		ctx := c.Request.Context()
		o := req.override()
		group := o.Over(groups.DefaultThresholds())
		if err := group.Validate(); err != nil {
			return err
		}
		_, ts, err := s.Thresholds.GroupThresholds(ctx, v.Group.ID)
		if err != nil {
			return err
		}
		for id, to := range ts {
			if err := to.Over(group).Validate(); err != nil {
				var de *groups.Error
				if errors.As(err, &de) {
					return groups.Invalid(de.Field, "conflicts with target %s's own thresholds: %s", id, de.Message)
				}
				return err
			}
		}
		if err := s.Thresholds.SetGroupThresholds(ctx, v.Group.ID, o); err != nil {
			return err
		}
		c.JSON(http.StatusOK, effectiveOut(group))
		return nil
	})
}

// handleTargetThresholdsPut sets a target's override of its group's thresholds
// (editors and up).
func handleTargetThresholdsPut(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, targetID, err := s.loadGroupTarget(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		var req thresholdsJSON
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if s.Thresholds == nil {
			return groups.NotFound("thresholds")
		}
		ctx := c.Request.Context()
		g, _, err := s.Thresholds.GroupThresholds(ctx, v.Group.ID)
		if err != nil {
			return err
		}
		o := req.override()
		eff := o.Over(g.Over(groups.DefaultThresholds()))
		if err := eff.Validate(); err != nil {
			return err
		}
		if err := s.Thresholds.SetTargetThresholds(ctx, v.Group.ID, targetID, o); err != nil {
			return err
		}
		c.JSON(http.StatusOK, effectiveOut(eff))
		return nil
	})
}

// handleTargetThresholdsDelete removes a target's override (editors and up).
func handleTargetThresholdsDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, targetID, err := s.loadGroupTarget(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		if s.Thresholds == nil {
			return groups.NotFound("thresholds")
		}
		if err := s.Thresholds.DeleteTargetThresholds(c.Request.Context(), v.Group.ID, targetID); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
