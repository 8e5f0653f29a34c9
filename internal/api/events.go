package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// EventStore reads targets' state changes.
type EventStore interface {
	Events(ctx context.Context, q store.EventQuery) ([]store.TargetEvent, error)
	StateEvents(ctx context.Context, groupID, location string, from, to time.Time, limit int) ([]store.TargetEvent, error)
}

// eventJSON is a target's change of state at a location.
type eventJSON struct {
	TargetID string    `json:"target_id"`
	Location string    `json:"location"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	At       time.Time `json:"at"`
	LossPct  float64   `json:"loss_pct"`
	RTTMs    *float64  `json:"rtt_ms"`
	Flapping bool      `json:"flapping"`
}

const maxEventsLimit = 1000

// handleGroupEvents lists a group's state changes, newest first.
func handleGroupEvents(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		return s.writeEvents(c, store.EventQuery{GroupID: v.Group.ID})
	})
}

// handleTargetEvents lists one target's state changes, newest first.
func handleTargetEvents(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		targetID, err := s.groupTarget(c, v.Group.ID)
		if err != nil {
			return err
		}
		return s.writeEvents(c, store.EventQuery{TargetID: targetID})
	})
}

// writeEvents answers a page of events, newest recorded first: ?limit (1..1000, 100)
// and ?before (the "next" of the previous page).
func (s *server) writeEvents(c *gin.Context, q store.EventQuery) error {
	q.Limit = 100
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxEventsLimit {
			return groups.Invalid("limit", "must be a whole number from 1 to %d", maxEventsLimit)
		}
		q.Limit = n
	}
	if raw := c.Query("before"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			return groups.Invalid("before", "must be the \"next\" of the previous page, got %q", raw)
		}
		q.BeforeID = id
	}
	evs, err := s.Store.Events(c.Request.Context(), q)
	if err != nil {
		return err
	}
	out := struct {
		Events []eventJSON `json:"events"`
		Next   *string     `json:"next"`
	}{Events: make([]eventJSON, len(evs))}
	for i, e := range evs {
		out.Events[i] = eventJSON{TargetID: e.TargetID, Location: e.Location, From: e.From, To: e.To, At: e.At,
			LossPct: e.LossPct, RTTMs: e.RTTMs, Flapping: e.Flapping}
	}
	if len(evs) == q.Limit {
		next := strconv.FormatInt(evs[len(evs)-1].ID, 10)
		out.Next = &next
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// groupTarget reads the target_id path parameter: one of the group's targets, else
// not-found.
func (s *server) groupTarget(c *gin.Context, groupID string) (string, error) {
	targetID, err := pathUUID(c, "target_id")
	if err != nil {
		return "", err
	}
	if _, err := s.Store.Target(c.Request.Context(), groupID, targetID); errors.Is(err, groups.ErrNotFound) {
		return "", groups.NotFound("target")
	} else if err != nil {
		return "", err
	}
	return targetID, nil
}

// loadGroupTarget reads the {id} group (checking the user may do action to it) and
// its {target_id} target.
func (s *server) loadGroupTarget(c *gin.Context, action groups.Action) (*store.GroupWithRole, string, error) {
	v, _, err := s.loadGroup(c, action)
	if err != nil {
		return nil, "", err
	}
	targetID, err := s.groupTarget(c, v.Group.ID)
	return v, targetID, err
}
