package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// SilenceStore keeps the groups' maintenance windows.
type SilenceStore interface {
	CreateSilence(ctx context.Context, sl *store.Silence, now time.Time) error
	Silences(ctx context.Context, groupID string, since time.Time, limit int) ([]store.Silence, error)
	DeleteSilence(ctx context.Context, groupID, id string) error
}

// Maintenance window limits.
const (
	maxSilenceSpan     = 90 * 24 * time.Hour
	maxSilenceComment  = 500
	silencePastShown   = 7 * 24 * time.Hour
	maxSilencesListed  = 1000
	silenceTimeExample = "2026-12-07T22:00:00Z"
)

type silenceRequest struct {
	From     *string `json:"from"`
	To       *string `json:"to"`
	TargetID *string `json:"target_id"`
	Comment  *string `json:"comment"`
}

type silenceJSON struct {
	ID        string    `json:"id"`
	GroupID   string    `json:"group_id"`
	TargetID  *string   `json:"target_id"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func silenceOut(sl store.Silence) silenceJSON {
	out := silenceJSON{ID: sl.ID, GroupID: sl.GroupID, From: sl.From, To: sl.To, Comment: sl.Comment,
		CreatedBy: sl.CreatedByName, CreatedAt: sl.CreatedAt}
	if sl.TargetID != "" {
		id := sl.TargetID
		out.TargetID = &id
	}
	return out
}

// handleSilenceList lists a group's maintenance windows: current, future and those
// that ended in the last 7 days, by start.
func handleSilenceList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		out := []silenceJSON{}
		if s.Silences != nil {
			list, err := s.Silences.Silences(c.Request.Context(), v.Group.ID, time.Now().Add(-silencePastShown), maxSilencesListed)
			if err != nil {
				return err
			}
			for _, sl := range list {
				out = append(out, silenceOut(sl))
			}
		}
		c.JSON(http.StatusOK, gin.H{"silences": out})
		return nil
	})
}

// handleSilenceCreate adds a maintenance window to a group or one of its targets
// (editors and up).
func handleSilenceCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		var req silenceRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if s.Silences == nil {
			return groups.NotFound("maintenance windows")
		}
		now := time.Now().UTC()
		sl := store.Silence{ID: uuid.NewString(), GroupID: v.Group.ID, CreatedBy: currentUser(c).ID,
			CreatedByName: currentUser(c).Username, CreatedAt: now.Truncate(time.Microsecond)}
		sl.From = now
		if req.From != nil {
			t, ok := parseInstant(strings.TrimSpace(*req.From))
			if !ok {
				return groups.Invalid("from", "must be RFC 3339 (%s) or unix seconds; got %q", silenceTimeExample, *req.From)
			}
			sl.From = t
		}
		if req.To == nil {
			return groups.Invalid("to", "is required: when the window ends, RFC 3339 (%s) or unix seconds", silenceTimeExample)
		}
		to, ok := parseInstant(strings.TrimSpace(*req.To))
		switch {
		case !ok:
			return groups.Invalid("to", "must be RFC 3339 (%s) or unix seconds; got %q", silenceTimeExample, *req.To)
		case !to.After(sl.From):
			return groups.Invalid("to", "must be after from (%s)", sl.From.Format(time.RFC3339))
		case to.Sub(sl.From) > maxSilenceSpan:
			return groups.Invalid("to", "must be at most 90 days after from (%s)", sl.From.Format(time.RFC3339))
		case !to.After(now):
			return groups.Invalid("to", "is in the past: a maintenance window must end in the future")
		}
		sl.From, sl.To = sl.From.UTC().Truncate(time.Microsecond), to.UTC().Truncate(time.Microsecond)
		if req.Comment != nil {
			sl.Comment = strings.TrimSpace(*req.Comment)
			if utf8.RuneCountInString(sl.Comment) > maxSilenceComment {
				return groups.Invalid("comment", "must be at most %d characters", maxSilenceComment)
			}
		}
		if req.TargetID != nil {
			id, err := uuid.Parse(*req.TargetID)
			if err != nil || len(*req.TargetID) != 36 {
				return groups.Invalid("target_id", "must be the UUID of one of the group's targets, or null for the whole group")
			}
			if _, err := s.Store.Target(c.Request.Context(), v.Group.ID, id.String()); errors.Is(err, groups.ErrNotFound) {
				return groups.Invalid("target_id", "%s is not a target of this group", id)
			} else if err != nil {
				return err
			}
			sl.TargetID = id.String()
		}
		if err := s.Silences.CreateSilence(c.Request.Context(), &sl, now); err != nil {
			return err
		}
		c.JSON(http.StatusCreated, silenceOut(sl))
		return nil
	})
}

// handleSilenceDelete ends and forgets a maintenance window (editors and up).
func handleSilenceDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		id, err := pathUUID(c, "silence_id")
		if err != nil {
			return err
		}
		if s.Silences == nil {
			return groups.NotFound("maintenance window")
		}
		if err := s.Silences.DeleteSilence(c.Request.Context(), v.Group.ID, id); err != nil {
			if errors.Is(err, groups.ErrNotFound) {
				return groups.NotFound("maintenance window")
			}
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
