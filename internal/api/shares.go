package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

// SharingStore is the persistence of shares, pins, notifications and account deletion.
type SharingStore interface {
	UserByUsername(ctx context.Context, username string) (*auth.User, error)
	PutShare(ctx context.Context, sh groups.Share, notify *groups.Notification) (*groups.Share, bool, error)
	Shares(ctx context.Context, groupID string) ([]groups.Share, error)
	DeleteShare(ctx context.Context, groupID, userID string) error
	PutPin(ctx context.Context, userID, groupID string, now time.Time) error
	DeletePin(ctx context.Context, userID, groupID string) error
	CreateNotification(ctx context.Context, n *groups.Notification) error
	Notifications(ctx context.Context, userID string, unreadOnly bool, limit int) ([]groups.Notification, int, error)
	MarkNotificationRead(ctx context.Context, userID, id string, now time.Time) (*groups.Notification, error)
	DeleteUser(ctx context.Context, id string) ([]string, error)
}

type shareJSON struct {
	Username    string      `json:"username"`
	DisplayName string      `json:"display_name"`
	Role        groups.Role `json:"role"`
	CreatedAt   time.Time   `json:"created_at"`
}

func shareOut(sh *groups.Share) shareJSON {
	return shareJSON{Username: sh.Username, DisplayName: sh.DisplayName, Role: sh.Role, CreatedAt: sh.CreatedAt}
}

type shareRequest struct {
	Role *string `json:"role"`
}

// handleShareList lists who the group is shared with (owner and admins only).
func handleShareList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionManage)
		if err != nil {
			return err
		}
		shares, err := s.Store.Shares(c.Request.Context(), v.Group.ID)
		if err != nil {
			return err
		}
		out := make([]shareJSON, len(shares))
		for i := range shares {
			out[i] = shareOut(&shares[i])
		}
		c.JSON(http.StatusOK, gin.H{"shares": out})
		return nil
	})
}

// handleSharePut gives a user a role on the group, or changes it; a new grant or a
// changed role notifies them. Repeating the same grant changes nothing.
func handleSharePut(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req shareRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Role == nil || !groups.ValidShareRole(groups.Role(*req.Role)) {
			return groups.Invalid("role", "must be %q or %q", groups.RoleViewer, groups.RoleEditor)
		}
		role := groups.Role(*req.Role)
		v, _, err := s.loadGroup(c, groups.ActionManage)
		if err != nil {
			return err
		}
		ctx, u := c.Request.Context(), currentUser(c)
		grantee, err := s.userNamed(ctx, "username", c.Param("username"))
		if err != nil {
			return err
		}
		if err := groups.ValidateShare(v.Group, grantee.ID, role); err != nil {
			return err
		}
		now := time.Now().UTC()
		note := &groups.Notification{ID: uuid.NewString(), UserID: grantee.ID, FromUserID: u.ID, FromUsername: u.Username,
			Kind: groups.NotifyShared, GroupID: v.Group.ID, GroupName: v.Group.Name, CreatedAt: now}
		sh, _, err := s.Store.PutShare(ctx, groups.Share{GroupID: v.Group.ID, UserID: grantee.ID, Role: role, CreatedAt: now}, note)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, shareOut(sh))
		return nil
	})
}

// handleShareDelete takes a user's share away; their open streams of the group stop.
func handleShareDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionManage)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		grantee, err := s.userNamed(ctx, "username", c.Param("username"))
		if err != nil {
			return err
		}
		if err := s.Store.DeleteShare(ctx, v.Group.ID, grantee.ID); err != nil {
			if errors.Is(err, groups.ErrNotFound) {
				return &groups.Error{Kind: groups.ErrNotFound, Field: "username", Message: "the group is not shared with " + grantee.Username}
			}
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// userNamed finds the user called name; an unknown one is not-found naming field.
func (s *server) userNamed(ctx context.Context, field, name string) (*auth.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	u, err := s.Store.UserByUsername(ctx, name)
	if errors.Is(err, groups.ErrNotFound) {
		return nil, &groups.Error{Kind: groups.ErrNotFound, Field: field, Message: "no user is called " + quoteName(name)}
	}
	return u, err
}

// quoteName quotes a user-supplied name for a message, cut short if it is long.
func quoteName(name string) string {
	if len(name) > 40 {
		name = name[:40] + "…"
	}
	return `"` + strings.ToValidUTF8(name, "?") + `"`
}
