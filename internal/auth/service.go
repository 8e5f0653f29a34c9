package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"pingdeck/internal/groups"
)

// Account rules.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 72 // bcrypt's limit, in bytes
	MaxTokenNameLen   = 100
	AdminUsername     = "admin"
)

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,31}$`)

// Options tune the service; zero values pick production defaults.
type Options struct {
	BcryptCost  int           // default bcrypt.DefaultCost; tests use bcrypt.MinCost
	SessionTTL  time.Duration // idle lifetime of a session, default 14 days
	LoginBurst  int           // failed sign-ins allowed per user and per client before slowing down, default 5
	LoginRefill time.Duration // one more attempt per this long after the burst, default 12 s
	Now         func() time.Time
}

// Service signs people in and out and manages accounts and API tokens.
type Service struct {
	store    Store
	cost     int
	ttl      time.Duration
	now      func() time.Time
	failures *failureLimiter
	dummy    []byte // a hash compared against for unknown users, so timing does not tell
}

// NewService returns a Service over store.
func NewService(store Store, o Options) *Service {
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 14 * 24 * time.Hour
	}
	if o.LoginBurst == 0 {
		o.LoginBurst = 5
	}
	if o.LoginRefill == 0 {
		o.LoginRefill = 12 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), o.BcryptCost)
	return &Service{
		store: store, cost: o.BcryptCost, ttl: o.SessionTTL, now: o.Now, dummy: dummy,
		failures: newFailureLimiter(o.LoginBurst, o.LoginRefill, 100_000),
	}
}

// Bootstrap creates the admin user when there are no users. It uses password if given,
// else generates one and returns it so the caller can show it once.
func (s *Service) Bootstrap(ctx context.Context, password string) (created bool, generated string, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return false, "", err
	}
	if password == "" {
		password = newPassword()
		generated = password
	}
	_, err = s.CreateUser(ctx, NewUser{Username: AdminUsername, DisplayName: "Administrator", Password: password, IsAdmin: true})
	if err != nil {
		return false, "", fmt.Errorf("auth: create admin: %w", err)
	}
	return true, generated, nil
}

// NewUser is what an admin supplies to create an account.
type NewUser struct {
	Username    string
	DisplayName string
	Password    string
	IsAdmin     bool
}

// CreateUser validates and stores a new account.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	username := strings.ToLower(strings.TrimSpace(nu.Username))
	if !usernamePattern.MatchString(username) {
		return nil, groups.Invalid("username", "must be 2-32 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if err := checkPassword("password", nu.Password); err != nil {
		return nil, err
	}
	display := strings.TrimSpace(nu.DisplayName)
	if display != "" {
		var err error
		if display, err = groups.CleanName("display_name", display, groups.MaxNameLength); err != nil {
			return nil, err
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(nu.Password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	u := &User{
		ID: uuid.NewString(), Username: username, DisplayName: display,
		PasswordHash: string(hash), IsAdmin: nu.IsAdmin, CreatedAt: s.now().UTC(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, groups.ErrConflict) {
			return nil, groups.Conflict("username", "%q is taken", username)
		}
		return nil, err
	}
	return u, nil
}

func checkPassword(field, pw string) error {
	switch {
	case len(pw) < MinPasswordLength:
		return groups.Invalid(field, "must be at least %d characters", MinPasswordLength)
	case len(pw) > MaxPasswordLength:
		return groups.Invalid(field, "must be at most %d bytes", MaxPasswordLength)
	}
	return nil
}

// ListUsers returns every account (for sharing pickers and the admin page).
func (s *Service) ListUsers(ctx context.Context) ([]User, error) { return s.store.ListUsers(ctx) }

// Login checks credentials and starts a new session, returning the cookie token. Failed
// attempts are rate limited per username and per client address.
func (s *Service) Login(ctx context.Context, username, password, clientIP string) (string, *User, error) {
	now := s.now()
	username = strings.ToLower(strings.TrimSpace(username))
	keys := []string{"user:" + username, "ip:" + clientIP}
	for _, k := range keys {
		if wait := s.failures.wait(k, now); wait > 0 {
			return "", nil, &groups.Error{Kind: groups.ErrRateLimited,
				Message: "too many failed sign-ins; try again later",
				Details: map[string]any{"retry_after_seconds": int(wait.Seconds()) + 1}}
		}
	}
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, groups.ErrNotFound) {
		return "", nil, err
	}
	hash := s.dummy
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u == nil {
		for _, k := range keys {
			s.failures.fail(k, now)
		}
		return "", nil, &groups.Error{Kind: groups.ErrUnauthenticated, Message: "wrong username or password"}
	}
	token := newSecret()
	sess := &Session{ID: hashSecret(token), UserID: u.ID, CreatedAt: now.UTC(), LastSeenAt: now.UTC(), ExpiresAt: now.Add(s.ttl).UTC()}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// Logout ends the session the token belongs to; an unknown token is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, hashSecret(token))
}

// SessionUser returns the user signed in with a session cookie token, extending the
// session's idle lifetime at most once a minute.
func (s *Service) SessionUser(ctx context.Context, token string) (*User, error) {
	u, _, err := s.AuthenticateSession(ctx, token)
	return u, err
}

// TokenUser returns the user an API token belongs to.
func (s *Service) TokenUser(ctx context.Context, token string) (*User, error) {
	u, _, err := s.AuthenticateToken(ctx, token)
	return u, err
}

// CreateToken makes a named API token for user and returns it in plain text, once.
// A zero ttl means it does not expire.
func (s *Service) CreateToken(ctx context.Context, userID, name string, ttl time.Duration) (string, *Token, error) {
	name, err := groups.CleanName("name", name, MaxTokenNameLen)
	if err != nil {
		return "", nil, err
	}
	switch {
	case ttl < 0:
		return "", nil, groups.Invalid("expires_in", "must be positive")
	}
	secret := TokenPrefix + newSecret()
	now := s.now().UTC()
	t := &Token{ID: uuid.NewString(), UserID: userID, Name: name, Hash: hashSecret(secret), CreatedAt: now}
	if ttl > 0 {
		exp := now.Add(ttl)
		t.ExpiresAt = &exp
	}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// ListTokens returns the user's tokens (without secrets).
func (s *Service) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	return s.store.ListTokens(ctx, userID)
}

// RevokeToken deletes one of the user's tokens; it stops working at once.
func (s *Service) RevokeToken(ctx context.Context, userID, id string) error {
	return s.store.DeleteToken(ctx, userID, id)
}
