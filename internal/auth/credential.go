package auth

import (
	"context"
	"errors"
	"time"

	"pingdeck/internal/groups"
)

// Credential kinds.
const (
	CredentialSession = "session"
	CredentialToken   = "token"
)

// Credential is what a request was authenticated with: a browser session or an API
// token. Long-lived connections (the live stream) keep it to check later that it still
// holds, and to be closed when it is revoked.
type Credential struct {
	Kind string // CredentialSession or CredentialToken
	// ID is what a revocation names: the session ID (the hash of the cookie token) or
	// the API token's ID.
	ID   string
	hash string // the stored hash the credential is looked up by
}

// AuthenticateSession returns the user signed in with a session cookie token and the
// session's credential, extending the session's idle lifetime at most once a minute.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (*User, Credential, error) {
	hash := hashSecret(token)
	u, err := s.sessionUser(ctx, hash)
	if err != nil {
		return nil, Credential{}, err
	}
	return u, Credential{Kind: CredentialSession, ID: hash, hash: hash}, nil
}

// AuthenticateToken returns the user an API token belongs to and the token's credential.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*User, Credential, error) {
	hash := hashSecret(token)
	u, id, err := s.tokenUser(ctx, hash)
	if err != nil {
		return nil, Credential{}, err
	}
	return u, Credential{Kind: CredentialToken, ID: id, hash: hash}, nil
}

// Recheck tells whether a credential obtained earlier still holds, returning its user
// as it is now. An ended credential (logged out, revoked, expired, user deleted) is an
// error wrapping groups.ErrUnauthenticated; any other error says nothing about it (the
// database may be down). A session in use this way stays alive, as with any request.
func (s *Service) Recheck(ctx context.Context, c Credential) (*User, error) {
	switch c.Kind {
	case CredentialSession:
		return s.sessionUser(ctx, c.hash)
	case CredentialToken:
		u, _, err := s.tokenUser(ctx, c.hash)
		return u, err
	}
	return nil, &groups.Error{Kind: groups.ErrUnauthenticated, Message: "unknown credential"}
}

func (s *Service) sessionUser(ctx context.Context, hash string) (*User, error) {
	now := s.now()
	sess, u, err := s.store.SessionUser(ctx, hash, now)
	if err != nil {
		return nil, unauthenticated(err, "session expired or signed out")
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, sess.ID, now.UTC(), now.Add(s.ttl).UTC()); err != nil {
			return nil, unauthenticated(err, "session expired or signed out")
		}
	}
	return u, nil
}

func (s *Service) tokenUser(ctx context.Context, hash string) (*User, string, error) {
	now := s.now()
	t, u, err := s.store.TokenUser(ctx, hash, now)
	if err != nil {
		return nil, "", unauthenticated(err, "invalid, revoked or expired API token")
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.store.TouchToken(ctx, t.ID, now.UTC()); err != nil {
			return nil, "", err
		}
	}
	return u, t.ID, nil
}

func unauthenticated(err error, msg string) error {
	if errors.Is(err, groups.ErrNotFound) {
		return &groups.Error{Kind: groups.ErrUnauthenticated, Message: msg}
	}
	return err
}

// SessionID is the ID of the session a cookie token names: what a revocation of that
// session is announced with.
func SessionID(token string) string { return hashSecret(token) }
