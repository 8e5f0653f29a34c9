package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pingdeck/internal/groups"
)

// ErrPasswordChangeRequired is the kind of error a session of an account marked
// User.MustChangePassword gets for anything but reading itself, changing its password
// and signing out.
var ErrPasswordChangeRequired = errors.New("password change required")

// PasswordChangeRequired is the error for a request the must-change mark holds back.
func PasswordChangeRequired() error {
	return &groups.Error{Kind: ErrPasswordChangeRequired,
		Message: "an administrator set your password; choose a new one (POST /api/v1/me/password) before doing anything else"}
}

// PasswordChange is a user's request to change their own password.
type PasswordChange struct {
	Current, New string
	// ClientIP is where the request came from: a wrong current password counts toward
	// the sign-in limits of that address and of the account, like a failed sign-in.
	ClientIP string
	// KeepSession is the ID of the session making the change (empty for an API token):
	// it stays signed in while every other session of the user ends.
	KeepSession string
}

// ChangePassword checks u's current password and sets a new one, clearing the
// must-change mark, and ends every other session of u. It returns the IDs of the ended
// sessions. A wrong current password spends from the same budgets as a failed sign-in,
// so a stolen session cannot be used to guess the password faster than signing in can.
func (s *Service) ChangePassword(ctx context.Context, u *User, c PasswordChange) ([]string, error) {
	if c.Current == "" {
		return nil, groups.Invalid("current_password", "is required")
	}
	if err := checkPassword("new_password", c.New); err != nil {
		return nil, err
	}
	if c.New == c.Current {
		return nil, groups.Invalid("new_password", "must differ from the current password")
	}
	now := s.now()
	slots := s.limits.slots(u.Username, c.ClientIP, "")
	if err := s.limits.reserve(ctx, slots, now); err != nil {
		return nil, err
	}
	s.passwordChecks.Add(1)
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(c.Current)) != nil {
		return nil, &groups.Error{Kind: groups.ErrForbidden, Field: "current_password", Message: "is wrong"}
	}
	s.limits.refund(ctx, slots, now)
	hash, err := bcrypt.GenerateFromPassword([]byte(c.New), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	return s.store.SetPassword(ctx, u.ID, u.PasswordHash, string(hash), false, c.KeepSession)
}

// ResetPassword is an administrator setting u's password: every session of u ends and
// u must choose a new password at the next sign-in. It returns the ended sessions' IDs.
func (s *Service) ResetPassword(ctx context.Context, u *User, password string) ([]string, error) {
	if err := checkPassword("new_password", password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	return s.store.SetPassword(ctx, u.ID, "", string(hash), true, "")
}

// SetAdmin makes u an administrator or not; taking the flag from the last
// administrator is a conflict.
func (s *Service) SetAdmin(ctx context.Context, u *User, isAdmin bool) error {
	return s.store.SetAdmin(ctx, u.ID, isAdmin)
}

// AccountLocked reports whether failed sign-ins from unknown devices currently hold
// back sign-ins to username (UnlockAccount lifts that).
func (s *Service) AccountLocked(username string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.limits.accountWait(ctx, strings.ToLower(strings.TrimSpace(username)), s.now()) > 0
}
