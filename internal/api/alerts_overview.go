package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// AlertViews reads alerts across groups.
type AlertViews interface {
	AlertsIn(ctx context.Context, groupIDs []string, firingOnly bool, limit int) ([]store.AlertView, error)
	FiringAlertCounts(ctx context.Context, groupIDs []string) (map[string]int, error)
}

// maxAlertsListed bounds GET /api/v1/alerts.
const maxAlertsListed = 200

// handleAlertList lists the alerts of every group the user can view, newest first:
// ?state=firing for the firing ones only.
func handleAlertList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		firingOnly := false
		switch st := c.Query("state"); st {
		case "", "all":
		case "firing":
			firingOnly = true
		default:
			return groups.Invalid("state", `must be "firing" or "all", got %q`, st)
		}
		type alertJSON struct {
			ID         string     `json:"id"`
			RuleID     string     `json:"rule_id"`
			RuleName   string     `json:"rule_name"`
			GroupID    string     `json:"group_id"`
			GroupName  string     `json:"group_name"`
			StartedAt  time.Time  `json:"started_at"`
			ResolvedAt *time.Time `json:"resolved_at"`
			Targets    int        `json:"targets"`
		}
		out := []alertJSON{}
		if s.AlertViews != nil {
			ctx := c.Request.Context()
			views, err := s.Store.GroupsFor(ctx, actorOf(currentUser(c)), store.ScopeAll)
			if err != nil {
				return err
			}
			ids := make([]string, len(views))
			for i, v := range views {
				ids[i] = v.Group.ID
			}
			list, err := s.AlertViews.AlertsIn(ctx, ids, firingOnly, maxAlertsListed)
			if err != nil {
				return err
			}
			for _, a := range list {
				out = append(out, alertJSON{ID: a.ID, RuleID: a.RuleID, RuleName: a.RuleName, GroupID: a.GroupID,
					GroupName: a.GroupName, StartedAt: a.StartedAt, ResolvedAt: a.ResolvedAt, Targets: a.Targets})
			}
		}
		c.JSON(http.StatusOK, gin.H{"alerts": out})
		return nil
	})
}
