package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/groups"
	"pingdeck/internal/wire"
)

// notificationListLimit bounds a notification listing: the newest this many.
const notificationListLimit = 100

// handleNotificationList returns the user's newest notifications and the unread count.
func handleNotificationList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		unreadOnly := false
		if raw := c.Query("unread"); raw != "" {
			var err error
			if unreadOnly, err = strconv.ParseBool(raw); err != nil {
				return groups.Invalid("unread", "must be true or false")
			}
		}
		list, unread, err := s.Store.Notifications(c.Request.Context(), currentUser(c).ID, unreadOnly, notificationListLimit)
		if err != nil {
			return err
		}
		out := make([]wire.Notification, len(list))
		for i := range list {
			out[i] = wire.NotificationOf(&list[i])
		}
		c.JSON(http.StatusOK, gin.H{"notifications": out, "unread": unread})
		return nil
	})
}

type notificationRequest struct {
	To      *string `json:"to"`
	GroupID *string `json:"group_id"`
	Message *string `json:"message"`
}

// handleNotificationCreate sends another user a "look at this" notification about a
// group: the sender must be able to see it, and so must the recipient (a link they
// cannot open would only tell them the group's name). Each user may send 30 at once,
// then one every 2 seconds.
func handleNotificationCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req notificationRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.To == nil || *req.To == "" {
			return groups.Invalid("to", "is required: the username to notify")
		}
		if req.GroupID == nil {
			return groups.Invalid("group_id", "is required")
		}
		groupID, err := uuid.Parse(*req.GroupID)
		if err != nil || len(*req.GroupID) != 36 {
			return groups.Invalid("group_id", "must be a UUID like 7c9e6679-7425-40de-944b-e07fc1f90ae7")
		}
		var msg string
		if req.Message != nil {
			if msg, err = groups.CleanMessage(*req.Message); err != nil {
				return err
			}
		}
		ctx, u := c.Request.Context(), currentUser(c)
		v, _, err := s.authorizeGroup(ctx, u, groupID.String(), groups.ActionView)
		if err != nil {
			return err
		}
		to, err := s.userNamed(ctx, "to", *req.To)
		if err != nil {
			return err
		}
		if to.ID == u.ID {
			return groups.Invalid("to", "is you; notify someone else")
		}
		if _, _, err := s.authorizeGroup(ctx, to, v.Group.ID, groups.ActionView); err != nil {
			if errors.Is(err, groups.ErrNotFound) {
				return groups.Invalid("to", "%s cannot see this group; share it with them first", to.Username)
			}
			return err
		}
		if wait := s.notifySends.Take(u.ID, time.Now()); wait > 0 {
			return &groups.Error{Kind: groups.ErrRateLimited, Message: "too many notifications sent; try again later",
				Details: map[string]any{"retry_after_seconds": int(wait.Seconds()) + 1}}
		}
		n := &groups.Notification{ID: uuid.NewString(), UserID: to.ID, FromUserID: u.ID, FromUsername: u.Username,
			Kind: groups.NotifyLook, GroupID: v.Group.ID, GroupName: v.Group.Name, Message: msg, CreatedAt: time.Now().UTC()}
		if err := s.Store.CreateNotification(ctx, n); err != nil {
			return err
		}
		c.JSON(http.StatusCreated, wire.NotificationOf(n))
		return nil
	})
}

// handleNotificationRead marks one of the user's notifications read.
func handleNotificationRead(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		id, err := pathUUID(c, "id")
		if err != nil {
			return err
		}
		n, err := s.Store.MarkNotificationRead(c.Request.Context(), currentUser(c).ID, id, time.Now())
		if errors.Is(err, groups.ErrNotFound) {
			return groups.NotFound("notification")
		}
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, wire.NotificationOf(n))
		return nil
	})
}
