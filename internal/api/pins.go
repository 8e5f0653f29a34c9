package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
)

// handlePinPut keeps a group the user can see on their dashboard.
func handlePinPut(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroupParam(c, "group_id", groups.ActionView)
		if err != nil {
			return err
		}
		u := currentUser(c)
		if err := s.Store.PutPin(c.Request.Context(), u.ID, v.Group.ID, time.Now()); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// handlePinDelete takes a group off the user's dashboard; unpinning a group that is not
// pinned is not an error, but the group must be one the user can see.
func handlePinDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroupParam(c, "group_id", groups.ActionView)
		if err != nil {
			return err
		}
		u := currentUser(c)
		if err := s.Store.DeletePin(c.Request.Context(), u.ID, v.Group.ID); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
