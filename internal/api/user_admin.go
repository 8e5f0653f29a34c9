package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

// UserAdminStore is what the administrators' user page reads besides the accounts.
type UserAdminStore interface {
	CountsPerUser(ctx context.Context) (map[string]store.UserCounts, error)
}

// adminUserJSON is a user as administrators see it: what everyone sees, and what the
// user page needs to run the account.
type adminUserJSON struct {
	wire.User
	MustChangePassword bool       `json:"must_change_password"`
	LastSignInAt       *time.Time `json:"last_sign_in_at"`
	// Locked: failed sign-ins from unknown devices hold the account back (unlock lifts it).
	Locked bool `json:"locked"`
	// What deleting the account deletes with it.
	GroupCount  int `json:"group_count"`
	TargetCount int `json:"target_count"`
	TokenCount  int `json:"token_count"`
}

// handleUserList lists every account: to everyone, the names to share with; to
// administrators, also sign-ins, locks and what each account owns.
func handleUserList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		ctx := c.Request.Context()
		users, err := s.Accounts.ListUsers(ctx)
		if err != nil {
			return err
		}
		if !currentUser(c).IsAdmin {
			out := make([]wire.User, len(users))
			for i := range users {
				out[i] = userOut(&users[i])
			}
			c.JSON(http.StatusOK, gin.H{"users": out})
			return nil
		}
		counts, err := s.Store.CountsPerUser(ctx)
		if err != nil {
			return err
		}
		out := make([]adminUserJSON, len(users))
		for i := range users {
			u, n := &users[i], counts[users[i].ID]
			out[i] = adminUserJSON{User: userOut(u), MustChangePassword: u.MustChangePassword,
				LastSignInAt: u.LastSignInAt, Locked: s.Accounts.AccountLocked(u.Username),
				GroupCount: n.Groups, TargetCount: n.Targets, TokenCount: n.Tokens}
		}
		c.JSON(http.StatusOK, gin.H{"users": out})
		return nil
	})
}

type userPatchRequest struct {
	IsAdmin *bool `json:"is_admin"`
}

// handleUserPatch lets an administrator make a user an administrator or not. The last
// administrator keeps the flag (409), so the server always has someone to run it.
func handleUserPatch(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		ctx := c.Request.Context()
		u, err := s.userNamed(ctx, "username", c.Param("username"))
		if err != nil {
			return err
		}
		var req userPatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.IsAdmin == nil {
			return groups.Invalid("is_admin", "is required")
		}
		if err := s.Accounts.SetAdmin(ctx, u, *req.IsAdmin); err != nil {
			return err
		}
		u.IsAdmin = *req.IsAdmin
		c.JSON(http.StatusOK, userOut(u))
		return nil
	})
}
