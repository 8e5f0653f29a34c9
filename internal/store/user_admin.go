package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

// SetPassword stores a new password hash for the user and ends their sessions, all in
// one transaction, returning the IDs of the sessions it ended (so their live streams can
// be closed). The session keepSession (if not empty) stays: the one that changed the
// password. With oldHash set the change applies only if the stored hash is still
// oldHash (a conflict otherwise), so a change checked against the current password
// cannot overwrite one made meanwhile. mustChange marks the account as having to
// choose a new password at its next sign-in (an administrator set this one).
func (s *Store) SetPassword(ctx context.Context, userID, oldHash, newHash string, mustChange bool, keepSession string) ([]string, error) {
	var ended []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&userRow{}).Where("id = ?", userID)
		if oldHash != "" {
			q = q.Where("password_hash = ?", oldHash)
		}
		res := q.Updates(map[string]any{"password_hash": newHash, "must_change_password": mustChange})
		if res.Error != nil {
			return translate("set password", res.Error)
		}
		if res.RowsAffected == 0 {
			if oldHash != "" {
				return groups.Conflict("current_password", "the password was changed meanwhile; sign in again")
			}
			return fmt.Errorf("store: set password: %w", groups.ErrNotFound)
		}
		sessions := tx.Model(&sessionRow{}).Where("user_id = ?", userID)
		if keepSession != "" {
			sessions = sessions.Where("id <> ?", keepSession)
		}
		if err := sessions.Pluck("id", &ended).Error; err != nil {
			return translate("list the user's sessions", err)
		}
		if len(ended) == 0 {
			return nil
		}
		return translate("end the user's sessions", tx.Where("id IN ?", ended).Delete(&sessionRow{}).Error)
	})
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 {
		s.publish(groups.Change{Kind: groups.ChangeCredentialsEnded, UserID: userID, CredentialIDs: ended})
	}
	return ended, nil
}

// SetAdmin makes the user an administrator or not. Taking the flag from the last
// administrator is a conflict; concurrent changes are serialised like DeleteUser's.
func (s *Store) SetAdmin(ctx context.Context, userID string, isAdmin bool) error {
	changed := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		adminIDs, err := s.lockAdmins(tx)
		if err != nil {
			return err
		}
		var row userRow
		if err := tx.Where("id = ?", userID).Take(&row).Error; err != nil {
			return translate("find user", err)
		}
		if row.IsAdmin && !isAdmin && len(adminIDs) <= 1 {
			return groups.Conflict("is_admin", "%q is the last administrator; make another user an administrator first", row.Username)
		}
		changed = row.IsAdmin != isAdmin
		return affectedOne("set administrator", tx.Model(&userRow{}).Where("id = ?", userID).Update("is_admin", isAdmin))
	})
	if err == nil && changed {
		s.publish(groups.Change{Kind: groups.ChangeUserRights, UserID: userID})
	}
	return err
}

// UserCounts is what an account owns, for the admin page and its delete dialog.
type UserCounts struct {
	Groups  int // groups the user owns
	Targets int // targets in those groups
	Tokens  int // API tokens
}

// CountsPerUser returns what each account owns, by user ID; an account that owns
// nothing is absent.
func (s *Store) CountsPerUser(ctx context.Context) (map[string]UserCounts, error) {
	out := map[string]UserCounts{}
	var owned []struct {
		OwnerID     string
		GroupCount  int
		TargetCount int
	}
	err := s.db.WithContext(ctx).Model(&groupRow{}).
		Select("groups.owner_id AS owner_id, COUNT(DISTINCT groups.id) AS group_count, COUNT(targets.id) AS target_count").
		Joins("LEFT JOIN targets ON targets.group_id = groups.id").
		Group("groups.owner_id").Scan(&owned).Error
	if err != nil {
		return nil, translate("count groups per user", err)
	}
	for _, o := range owned {
		out[o.OwnerID] = UserCounts{Groups: o.GroupCount, Targets: o.TargetCount}
	}
	var tokens []struct {
		UserID     string
		TokenCount int
	}
	err = s.db.WithContext(ctx).Model(&tokenRow{}).Select("user_id, COUNT(*) AS token_count").Group("user_id").Scan(&tokens).Error
	if err != nil {
		return nil, translate("count tokens per user", err)
	}
	for _, t := range tokens {
		c := out[t.UserID]
		c.Tokens = t.TokenCount
		out[t.UserID] = c
	}
	return out, nil
}

// StartSession stores a new session for a sign-in whose password was checked against
// passwordHash and records the sign-in time on the account. When the password changed
// since it was checked the session is not stored (not found): the account row is
// updated first, so a concurrent SetPassword either ends this session or makes it fail.
func (s *Store) StartSession(ctx context.Context, sess *auth.Session, passwordHash string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ? AND password_hash = ?", sess.UserID, passwordHash).
			Update("last_sign_in_at", sess.CreatedAt.UTC())
		if err := affectedOne("record sign-in", res); err != nil {
			return err
		}
		row := sessionRow(*sess)
		return translate("create session", tx.Create(&row).Error)
	})
}
