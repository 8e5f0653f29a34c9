package store

import (
	"context"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

type sessionRow struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

func (sessionRow) TableName() string { return "sessions" }

// CreateSession stores a new browser session.
func (s *Store) CreateSession(ctx context.Context, sess *auth.Session) error {
	row := sessionRow(*sess)
	return translate("create session", s.db.WithContext(ctx).Create(&row).Error)
}

// SessionUser returns an unexpired session and its user.
func (s *Store) SessionUser(ctx context.Context, id string, now time.Time) (*auth.Session, *auth.User, error) {
	var row sessionRow
	err := s.db.WithContext(ctx).Where("id = ? AND expires_at > ?", id, now.UTC()).Take(&row).Error
	if err != nil {
		return nil, nil, translate("find session", err)
	}
	u, err := s.userByID(ctx, row.UserID)
	if err != nil {
		return nil, nil, err
	}
	sess := auth.Session(row)
	return &sess, u, nil
}

func (s *Store) userByID(ctx context.Context, id string) (*auth.User, error) {
	var row userRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, translate("find user", err)
	}
	return row.toDomain(), nil
}

// TouchSession records activity and extends the session's idle expiry.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	res := s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", id).
		Updates(map[string]any{"last_seen_at": lastSeen.UTC(), "expires_at": expires.UTC()})
	if res.Error != nil {
		return translate("touch session", res.Error)
	}
	if res.RowsAffected == 0 {
		return groups.NotFound("session")
	}
	return nil
}

// DeleteSession ends a session; deleting a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&sessionRow{})
	if res.Error != nil {
		return translate("delete session", res.Error)
	}
	if res.RowsAffected > 0 {
		s.publish(groups.Change{Kind: groups.ChangeCredentialsEnded, CredentialIDs: []string{id}})
	}
	return nil
}

// DeleteExpiredSessions removes sessions that expired before now and reports how many.
// It announces nothing: an expired session ended when it expired (the live stream's
// periodic credential check closes its sockets), not when its row goes.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at <= ?", now.UTC()).Delete(&sessionRow{})
	return res.RowsAffected, translate("delete expired sessions", res.Error)
}
