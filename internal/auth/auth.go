// Package auth holds pingdeck's accounts: users, password hashing, browser sessions and
// API tokens, and the rules for signing in. Persistence is behind the Store interface.
package auth

import (
	"context"
	"time"
)

// User is a person who signs in to pingdeck.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	PasswordHash string
	IsAdmin      bool
	// MustChangePassword is set when an administrator set the password: until its owner
	// chooses a new one, their sessions may do nothing else.
	MustChangePassword bool
	CreatedAt          time.Time
	// LastSignInAt is when the account last signed in; nil if it never has.
	LastSignInAt *time.Time
}

// Session is a signed-in browser. ID is the SHA-256 of the cookie token; the token
// itself is never stored.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// Token is a named API token. Only its hash is stored; the token is shown once.
type Token struct {
	ID         string
	UserID     string
	Name       string
	Hash       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
}

// Store persists accounts. Lookups of missing rows return an error wrapping
// groups.ErrNotFound; a duplicate username wraps groups.ErrConflict.
type Store interface {
	CreateUser(ctx context.Context, u *User) error
	UserByUsername(ctx context.Context, username string) (*User, error)
	CountUsers(ctx context.Context) (int64, error)
	ListUsers(ctx context.Context) ([]User, error)

	CreateSession(ctx context.Context, s *Session) error
	// StartSession stores the session of a sign-in whose password was checked against
	// passwordHash and records the sign-in on the account; it fails (not found) when the
	// password changed meanwhile.
	StartSession(ctx context.Context, s *Session, passwordHash string) error
	// SessionUser returns the session with that ID and its user if it has not expired at now.
	SessionUser(ctx context.Context, id string, now time.Time) (*Session, *User, error)
	TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error
	DeleteSession(ctx context.Context, id string) error

	// SetPassword stores newHash (if the stored hash is still oldHash, when oldHash is
	// set: a conflict otherwise), sets the must-change mark to mustChange and deletes the
	// user's sessions but keepSession, returning the deleted sessions' IDs.
	SetPassword(ctx context.Context, userID, oldHash, newHash string, mustChange bool, keepSession string) ([]string, error)
	// SetAdmin sets the administrator flag; removing the last administrator is a conflict.
	SetAdmin(ctx context.Context, userID string, isAdmin bool) error

	CreateToken(ctx context.Context, t *Token) error
	// TokenUser returns the token with that hash and its user if it has not expired at now.
	TokenUser(ctx context.Context, hash string, now time.Time) (*Token, *User, error)
	TouchToken(ctx context.Context, id string, now time.Time) error
	ListTokens(ctx context.Context, userID string) ([]Token, error)
	DeleteToken(ctx context.Context, userID, id string) error
}
