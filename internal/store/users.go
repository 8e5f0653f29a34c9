package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

type userRow struct {
	ID                 string
	Username           string
	DisplayName        string
	PasswordHash       string
	IsAdmin            bool
	MustChangePassword bool
	CreatedAt          time.Time
	LastSignInAt       *time.Time
}

func (userRow) TableName() string { return "users" }

func (r *userRow) toDomain() *auth.User {
	return &auth.User{ID: r.ID, Username: r.Username, DisplayName: r.DisplayName,
		PasswordHash: r.PasswordHash, IsAdmin: r.IsAdmin, MustChangePassword: r.MustChangePassword,
		CreatedAt: r.CreatedAt.UTC(), LastSignInAt: utcPtr(r.LastSignInAt)}
}

var _ auth.Store = (*Store)(nil)

// CreateUser stores a new user; a taken username is a conflict.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	row := userRow{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
		PasswordHash: u.PasswordHash, IsAdmin: u.IsAdmin, MustChangePassword: u.MustChangePassword, CreatedAt: u.CreatedAt}
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

// DeleteUser removes an account with everything that is theirs: sessions and API tokens
// (so they stop working on the next request), the groups they own with their targets,
// their shares, pins and notifications. It returns the IDs of the groups deleted with
// them. The last administrator cannot be deleted (conflict); concurrent deletions of
// administrators are serialised so two of them cannot both pass that check.
func (s *Store) DeleteUser(ctx context.Context, id string) ([]string, error) {
	var owned []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		adminIDs, err := s.lockAdmins(tx)
		if err != nil {
			return err
		}
		var row userRow
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return translate("find user", err)
		}
		if row.IsAdmin && len(adminIDs) <= 1 {
			return groups.Conflict("username", "%q is the last administrator; make another user an administrator first", row.Username)
		}
		if err := tx.Model(&groupRow{}).Where("owner_id = ?", id).Order("created_at, id").Pluck("id", &owned).Error; err != nil {
			return translate("list the user's groups", err)
		}
		return affectedOne("delete user", tx.Where("id = ?", id).Delete(&userRow{}))
	})
	if err != nil {
		return nil, err
	}
	s.publish(groups.Change{Kind: groups.ChangeUserDeleted, UserID: id, GroupIDs: owned})
	return owned, nil
}

// lockAdmins returns the administrators' IDs, locking their rows until tx ends, so two
// transactions that each remove an administrator cannot both see another one left.
func (s *Store) lockAdmins(tx *gorm.DB) ([]string, error) {
	admins := tx.Model(&userRow{}).Where("is_admin")
	if s.dialect == Postgres { // SQLite's write transactions are exclusive already
		admins = admins.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var ids []string
	if err := admins.Pluck("id", &ids).Error; err != nil {
		return nil, translate("lock administrators", err)
	}
	return ids, nil
}
