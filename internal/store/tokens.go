package store

import (
	"context"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

type tokenRow struct {
	ID         string
	UserID     string
	Name       string
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
}

func (tokenRow) TableName() string { return "api_tokens" }

func (r *tokenRow) toDomain() auth.Token {
	return auth.Token{ID: r.ID, UserID: r.UserID, Name: r.Name, Hash: r.TokenHash,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utcPtr(r.LastUsedAt), ExpiresAt: utcPtr(r.ExpiresAt)}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateToken stores a new API token (its hash only).
func (s *Store) CreateToken(ctx context.Context, t *auth.Token) error {
	row := tokenRow{ID: t.ID, UserID: t.UserID, Name: t.Name, TokenHash: t.Hash,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	return translate("create token", s.db.WithContext(ctx).Create(&row).Error)
}

// TokenUser returns an unexpired token by hash and its user.
func (s *Store) TokenUser(ctx context.Context, hash string, now time.Time) (*auth.Token, *auth.User, error) {
	var row tokenRow
	err := s.db.WithContext(ctx).
		Where("token_hash = ? AND (expires_at IS NULL OR expires_at > ?)", hash, now.UTC()).
		Take(&row).Error
	if err != nil {
		return nil, nil, translate("find token", err)
	}
	u, err := s.userByID(ctx, row.UserID)
	if err != nil {
		return nil, nil, err
	}
	t := row.toDomain()
	return &t, u, nil
}

// TouchToken records when a token was last used.
func (s *Store) TouchToken(ctx context.Context, id string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&tokenRow{}).Where("id = ?", id).Update("last_used_at", now.UTC()).Error
	return translate("touch token", err)
}

// ListTokens returns a user's tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]auth.Token, error) {
	var rows []tokenRow
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC").Find(&rows).Error
	if err != nil {
		return nil, translate("list tokens", err)
	}
	out := make([]auth.Token, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// DeleteToken revokes one of the user's tokens.
func (s *Store) DeleteToken(ctx context.Context, userID, id string) error {
	res := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&tokenRow{})
	if res.Error != nil {
		return translate("delete token", res.Error)
	}
	if res.RowsAffected == 0 {
		return groups.NotFound("token")
	}
	s.publish(groups.Change{Kind: groups.ChangeCredentialsEnded, UserID: userID, CredentialIDs: []string{id}})
	return nil
}
