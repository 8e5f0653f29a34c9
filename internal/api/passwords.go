package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handleMyPassword changes the signed-in user's password, given the current one. Every
// other session of the user ends and its live streams close (4401); the session that
// made the change, and its streams, go on. API tokens are not sessions and keep working.
func handleMyPassword(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req passwordChangeRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		change := auth.PasswordChange{Current: req.CurrentPassword, New: req.NewPassword, ClientIP: c.ClientIP()}
		if cred := currentCredential(c); cred.Kind == auth.CredentialSession {
			change.KeepSession = cred.ID
		}
		if _, err := s.Accounts.ChangePassword(c.Request.Context(), currentUser(c), change); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

type passwordSetRequest struct {
	NewPassword string `json:"new_password"`
}

// handleUserPasswordSet lets an administrator set another user's password (they forgot
// it, or it leaked): every session of that user ends, their live streams close, and
// they must choose a new password when they next sign in.
func handleUserPasswordSet(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		ctx := c.Request.Context()
		u, err := s.userNamed(ctx, "username", c.Param("username"))
		if err != nil {
			return err
		}
		var req passwordSetRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if u.ID == currentUser(c).ID {
			return groups.Invalid("username", "is you; change your own password with POST /api/v1/me/password")
		}
		if _, err := s.Accounts.ResetPassword(ctx, u, req.NewPassword); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// passwordGate holds back the sessions of an account an administrator set the password
// of: until its owner chooses a new one they may only read /me and change the password
// (signing out is outside requireUser). API tokens are not held back: they were made by
// the owner and are revoked on their own.
func passwordGate(s *server) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !currentUser(c).MustChangePassword || currentCredential(c).Kind != auth.CredentialSession {
			c.Next()
			return
		}
		switch c.Request.Method + " " + c.FullPath() {
		case "GET /api/v1/me", "POST /api/v1/me/password":
			c.Next()
		default:
			writeError(c, s.Logger, auth.PasswordChangeRequired())
		}
	}
}
