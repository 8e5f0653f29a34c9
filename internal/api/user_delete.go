package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
)

// handleUserDelete lets an administrator delete an account with everything it owns: its
// sessions and tokens stop working at once, its open streams close, and the groups it
// owned are deleted and stop being probed. Administrators cannot delete themselves, and
// the last administrator cannot be deleted.
func handleUserDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		ctx, me := c.Request.Context(), currentUser(c)
		u, err := s.userNamed(ctx, "username", c.Param("username"))
		if err != nil {
			return err
		}
		if u.ID == me.ID {
			return groups.Invalid("username", "is you; another administrator must delete your account")
		}
		if _, err := s.Store.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
