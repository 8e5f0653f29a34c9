package store

import (
	"context"
	"time"

	"pingdeck/internal/auth"
)

type userRow struct {
	ID           string
	Username     string
	DisplayName  string
	PasswordHash string
	IsAdmin      bool
	CreatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

func (r *userRow) toDomain() *auth.User {
	return &auth.User{ID: r.ID, Username: r.Username, DisplayName: r.DisplayName,
		PasswordHash: r.PasswordHash, IsAdmin: r.IsAdmin, CreatedAt: r.CreatedAt.UTC()}
}

var _ auth.Store = (*Store)(nil)

// CreateUser stores a new user; a taken username is a conflict.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	row := userRow{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
		PasswordHash: u.PasswordHash, IsAdmin: u.IsAdmin, CreatedAt: u.CreatedAt}
	return translate("create user", s.db.WithContext(ctx).Create(&row).Error)
}

// UserByUsername finds a user by exact (lowercase) username.
func (s *Store) UserByUsername(ctx context.Context, username string) (*auth.User, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where("username = ?", username).Take(&row).Error
	if err != nil {
		return nil, translate("find user", err)
	}
	return row.toDomain(), nil
}

// CountUsers returns how many accounts exist.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&userRow{}).Count(&n).Error
	return n, translate("count users", err)
}

// ListUsers returns all users ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]auth.User, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Order("username").Find(&rows).Error; err != nil {
		return nil, translate("list users", err)
	}
	users := make([]auth.User, len(rows))
	for i := range rows {
		users[i] = *rows[i].toDomain()
	}
	return users, nil
}
