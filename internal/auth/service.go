package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
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
	// MinTokenTTL and MaxTokenTTL bound an API token's lifetime when it has one.
	MinTokenTTL   = time.Second
	MaxTokenTTL   = 10 * 365 * 24 * time.Hour
	AdminUsername = "admin"
)

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,31}$`)

// Options tune the service; zero values pick production defaults.
type Options struct {
	BcryptCost int           // default bcrypt.DefaultCost; tests use bcrypt.MinCost
	SessionTTL time.Duration // idle lifetime of a session, default 14 days
	// LoginBurst is how many sign-in attempts each client address, each account (from
	// devices it does not know) and each known device may fail before slowing down,
	// default 5; LoginRefill is how often one more is allowed after that, default 12 s.
	LoginBurst  int
	LoginRefill time.Duration
	// DeviceKey signs device cookies (DeviceKeySize bytes, see LoadDeviceKey). Default: a
	// random key, so devices are known until the process restarts.
	DeviceKey []byte
	// DeviceTTL is how long a device cookie lasts after the sign-in that set it, default 365 days.
	DeviceTTL time.Duration
	// Budgets count sign-in attempts (LoginBurst and LoginRefill apply to the default,
	// NewMemoryBudgets); replicas pass budgets they share.
	Budgets AttemptBudgets
	Now     func() time.Time
}

// Service signs people in and out and manages accounts and API tokens.
type Service struct {
	store   Store
	cost    int
	ttl     time.Duration
	now     func() time.Time
	limits  loginLimits
	devices deviceCookies
	dummy   []byte // a hash compared against for unknown users, so timing does not tell
	// passwordChecks counts password hash comparisons made by sign-ins: the expensive
	// step the limits bound.
	passwordChecks atomic.Int64
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
		o.LoginBurst = DefaultLoginBurst
	}
	if o.LoginRefill == 0 {
		o.LoginRefill = DefaultLoginRefill
	}
	if len(o.DeviceKey) == 0 {
		o.DeviceKey = newDeviceKey()
	}
	if o.DeviceTTL == 0 {
		o.DeviceTTL = defaultDeviceTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Budgets == nil {
		o.Budgets = NewMemoryBudgets(o.LoginBurst, o.LoginRefill)
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), o.BcryptCost)
	return &Service{
		store: store, cost: o.BcryptCost, ttl: o.SessionTTL, now: o.Now, dummy: dummy,
		limits:  loginLimits{budgets: o.Budgets},
		devices: deviceCookies{key: o.DeviceKey, ttl: o.DeviceTTL},
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
	if errors.Is(err, groups.ErrConflict) {
		return false, "", nil // another replica starting at the same moment made it
	}
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

// LoginAttempt is one try to sign in.
type LoginAttempt struct {
	Username, Password string
	// ClientIP is the address the attempt came from.
	ClientIP string
	// Device is the device cookie the client sent, if any (see SignedIn.Device).
	Device string
}

// SignedIn is what a successful sign-in hands the client.
type SignedIn struct {
	User *User
	// Session is the new session's cookie token.
	Session string
	// Device is a new device cookie binding the client to User, valid for DeviceTTL:
	// sent back with later sign-ins to that account, it spares the client the lockout
	// strangers' failures cause.
	Device    string
	DeviceTTL time.Duration
}

// SignIn checks credentials and starts a new session. Every attempt first reserves a
// token from its rate limits (its device's, or its address's and the account's), so no
// more attempts reach the password hash than the limits allow, however many run at
// once; an attempt with the right password gives its tokens back.
func (s *Service) SignIn(ctx context.Context, a LoginAttempt) (*SignedIn, error) {
	now := s.now()
	username := strings.ToLower(strings.TrimSpace(a.Username))
	slots := s.limits.slots(username, a.ClientIP, s.devices.check(a.Device, username, now))
	if err := s.limits.reserve(ctx, slots, now); err != nil {
		return nil, err
	}
	var u *User
	if usernamePattern.MatchString(username) {
		var err error
		if u, err = s.store.UserByUsername(ctx, username); err != nil && !errors.Is(err, groups.ErrNotFound) {
			s.limits.refund(ctx, slots, now) // not a guess: the database failed
			return nil, err
		}
	}
	hash := s.dummy
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	s.passwordChecks.Add(1)
	if bcrypt.CompareHashAndPassword(hash, []byte(a.Password)) != nil || u == nil {
		return nil, &groups.Error{Kind: groups.ErrUnauthenticated, Message: "wrong username or password"}
	}
	s.limits.refund(ctx, slots, now)
	token := newSecret()
	sess := &Session{ID: hashSecret(token), UserID: u.ID, CreatedAt: now.UTC(), LastSeenAt: now.UTC(), ExpiresAt: now.Add(s.ttl).UTC()}
	if err := s.store.StartSession(ctx, sess, u.PasswordHash); err != nil {
		if errors.Is(err, groups.ErrNotFound) { // deleted, or its password changed, since it was read
			return nil, &groups.Error{Kind: groups.ErrUnauthenticated, Message: "wrong username or password"}
		}
		return nil, err
	}
	signedIn := now.UTC()
	u.LastSignInAt = &signedIn
	return &SignedIn{User: u, Session: token, Device: s.devices.issue(u.Username, now), DeviceTTL: s.devices.ttl}, nil
}

// Login is SignIn for a client without a device cookie, returning the session token.
func (s *Service) Login(ctx context.Context, username, password, clientIP string) (string, *User, error) {
	in, err := s.SignIn(ctx, LoginAttempt{Username: username, Password: password, ClientIP: clientIP})
	if err != nil {
		return "", nil, err
	}
	return in.Session, in.User, nil
}

// PasswordChecks is how many password hashes sign-ins have compared since the service
// started: the work the sign-in limits bound.
func (s *Service) PasswordChecks() int64 { return s.passwordChecks.Load() }

// UnlockAccount forgets the failed sign-ins counted against username from devices it
// does not know, so its owner can sign in from anywhere at once. (Per-address and
// per-device limits stay.) The caller checks that the account exists.
func (s *Service) UnlockAccount(username string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.limits.resetAccount(ctx, strings.ToLower(strings.TrimSpace(username)))
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
// A zero ttl means it does not expire; any other must be within MinTokenTTL..MaxTokenTTL.
func (s *Service) CreateToken(ctx context.Context, userID, name string, ttl time.Duration) (string, *Token, error) {
	name, err := groups.CleanName("name", name, MaxTokenNameLen)
	if err != nil {
		return "", nil, err
	}
	switch {
	case ttl < 0:
		return "", nil, groups.Invalid("expires_in", "must be positive")
	case ttl > 0 && ttl < MinTokenTTL:
		return "", nil, groups.Invalid("expires_in", "must be at least %s", MinTokenTTL)
	case ttl > MaxTokenTTL:
		return "", nil, groups.Invalid("expires_in", "must be at most %s (10 years); leave it out for a token that does not expire", shortHours(MaxTokenTTL))
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

// shortHours writes a whole number of hours as "87600h" (not "87600h0m0s").
func shortHours(d time.Duration) string { return strconv.FormatInt(int64(d/time.Hour), 10) + "h" }
