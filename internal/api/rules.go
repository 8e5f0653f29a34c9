package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/groups"
	"pingdeck/internal/notify"
	"pingdeck/internal/store"
)

// RuleStore keeps groups' alert rules and their alerts.
type RuleStore interface {
	CreateAlertRule(ctx context.Context, r *store.AlertRule) error
	AlertRules(ctx context.Context, groupID string) ([]store.AlertRule, error)
	DeleteAlertRule(ctx context.Context, groupID, id string) error
	GroupAlerts(ctx context.Context, groupID string) ([]store.Alert, error)
}

var _ RuleStore = (*store.Store)(nil)

type ruleRequest struct {
	Name       string        `json:"name"`
	State      string        `json:"state"`
	MinTargets *int          `json:"min_targets"`
	MinPct     *float64      `json:"min_pct"`
	For        *durationJSON `json:"for"`
	ChannelIDs []string      `json:"channel_ids"`
	MutedUntil *time.Time    `json:"muted_until"`
}

type ruleJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	State      string     `json:"state"`
	MinTargets int        `json:"min_targets"`
	MinPct     float64    `json:"min_pct"`
	For        string     `json:"for"`
	ChannelIDs []string   `json:"channel_ids"`
	MutedUntil *time.Time `json:"muted_until"`
	CreatedAt  time.Time  `json:"created_at"`
}

func ruleOut(r store.AlertRule) ruleJSON {
	ids := r.ChannelIDs
	if ids == nil {
		ids = []string{}
	}
	return ruleJSON{ID: r.ID, Name: r.Name, State: r.State, MinTargets: r.MinTargets, MinPct: r.MinPct,
		For: r.For.String(), ChannelIDs: ids, MutedUntil: r.MutedUntil, CreatedAt: r.CreatedAt}
}

// maxRuleFor bounds how long a condition may have to hold.
const maxRuleFor = 24 * time.Hour

// handleRuleCreate adds an alert rule to a group (editors and up).
func handleRuleCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		if s.Rules == nil {
			return groups.NotFound("alert rules")
		}
		var req ruleRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r := store.AlertRule{ID: uuid.NewString(), GroupID: v.Group.ID, Name: strings.TrimSpace(req.Name), State: req.State,
			MinTargets: 1, ChannelIDs: req.ChannelIDs, MutedUntil: req.MutedUntil, CreatedAt: time.Now().UTC()}
		switch {
		case r.Name == "" || utf8.RuneCountInString(r.Name) > 100:
			return groups.Invalid("name", "must be 1 to 100 characters")
		case r.State != "down" && r.State != "degraded":
			return groups.Invalid("state", `must be "down" or "degraded" (degraded or worse), got %q`, r.State)
		}
		if req.MinTargets != nil {
			if *req.MinTargets < 1 || *req.MinTargets > 100000 {
				return groups.Invalid("min_targets", "must be from 1 to 100000")
			}
			r.MinTargets = *req.MinTargets
		}
		if req.MinPct != nil {
			if *req.MinPct < 0 || *req.MinPct > 100 {
				return groups.Invalid("min_pct", "must be from 0 to 100")
			}
			r.MinPct = *req.MinPct
		}
		if req.For != nil {
			if d := time.Duration(*req.For); d < 0 || d > maxRuleFor || d%time.Second != 0 {
				return groups.Invalid("for", "must be whole seconds from 0 to 24h")
			}
			r.For = time.Duration(*req.For)
		}
		if err := s.checkRuleChannels(c, v.Group.ID, r.ChannelIDs); err != nil {
			return err
		}
		if err := s.Rules.CreateAlertRule(c.Request.Context(), &r); err != nil {
			return err
		}
		c.JSON(http.StatusCreated, ruleOut(r))
		return nil
	})
}

// checkRuleChannels refuses channels the user cannot use for the group: its own or the
// group's.
func (s *server) checkRuleChannels(c *gin.Context, groupID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > 20 {
		return groups.Invalid("channel_ids", "at most 20 channels")
	}
	if s.Channels == nil {
		return groups.Invalid("channel_ids", "this server has no notification channels")
	}
	usable, err := s.Channels.NotifyChannelsFor(c.Request.Context(), currentUser(c).ID, []string{groupID})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.ContainsFunc(usable, func(ch notify.Channel) bool { return ch.ID == id }) {
			return groups.Invalid("channel_ids", "%q is not a channel of yours or of this group", id)
		}
	}
	return nil
}

func handleRuleList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		out := []ruleJSON{}
		if s.Rules != nil {
			list, err := s.Rules.AlertRules(c.Request.Context(), v.Group.ID)
			if err != nil {
				return err
			}
			for _, r := range list {
				out = append(out, ruleOut(r))
			}
		}
		c.JSON(http.StatusOK, gin.H{"rules": out})
		return nil
	})
}

func handleRuleDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		id, err := pathUUID(c, "rule_id")
		if err != nil {
			return err
		}
		if s.Rules == nil {
			return groups.NotFound("alert rule")
		}
		if err := s.Rules.DeleteAlertRule(c.Request.Context(), v.Group.ID, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// handleGroupAlerts lists the group's alerts, newest first: firing ones have no
// resolved_at.
func handleGroupAlerts(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		type alertJSON struct {
			ID         string     `json:"id"`
			RuleID     string     `json:"rule_id"`
			StartedAt  time.Time  `json:"started_at"`
			ResolvedAt *time.Time `json:"resolved_at"`
		}
		out := []alertJSON{}
		if s.Rules != nil {
			list, err := s.Rules.GroupAlerts(c.Request.Context(), v.Group.ID)
			if err != nil {
				return err
			}
			for _, a := range list {
				out = append(out, alertJSON{ID: a.ID, RuleID: a.RuleID, StartedAt: a.StartedAt, ResolvedAt: a.ResolvedAt})
			}
		}
		c.JSON(http.StatusOK, gin.H{"alerts": out})
		return nil
	})
}
