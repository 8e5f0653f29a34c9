package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"pingdeck/internal/groups"
)

type shareRow struct {
	GroupID   string
	UserID    string
	Role      string
	CreatedAt time.Time
}

func (shareRow) TableName() string { return "shares" }

// shareView is a share with the grantee's names joined in.
type shareView struct {
	Row         shareRow `gorm:"embedded"`
	Username    string
	DisplayName string
}

func (v *shareView) toDomain() groups.Share {
	return groups.Share{GroupID: v.Row.GroupID, UserID: v.Row.UserID, Username: v.Username,
		DisplayName: v.DisplayName, Role: groups.Role(v.Row.Role), CreatedAt: v.Row.CreatedAt.UTC()}
}

func (s *Store) shareQuery(db *gorm.DB) *gorm.DB {
	return db.Table("shares AS sh").
		Select("sh.*, u.username, u.display_name").
		Joins("JOIN users u ON u.id = sh.user_id")
}

// PutShare grants sh.UserID sh.Role on sh.GroupID, creating the share or changing its
// role, and reports whether anything changed. When it did and notify is not nil, the
// notification is stored in the same transaction, so a grant and its notice go together.
// A group or user deleted meanwhile is not-found.
func (s *Store) PutShare(ctx context.Context, sh groups.Share, notify *groups.Notification) (*groups.Share, bool, error) {
	var out groups.Share
	var changed bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := shareRow{GroupID: sh.GroupID, UserID: sh.UserID, Role: string(sh.Role), CreatedAt: sh.CreatedAt.UTC()}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return translate("create share", res.Error)
		}
		changed = res.RowsAffected == 1
		if !changed {
			res = tx.Model(&shareRow{}).Where("group_id = ? AND user_id = ? AND role <> ?", sh.GroupID, sh.UserID, row.Role).
				Update("role", row.Role)
			if res.Error != nil {
				return translate("change share role", res.Error)
			}
			changed = res.RowsAffected == 1
		}
		if changed && notify != nil {
			if err := tx.Create(notificationRowOf(notify)).Error; err != nil {
				return translate("create share notification", err)
			}
		}
		var v shareView
		if err := s.shareQuery(tx).Where("sh.group_id = ? AND sh.user_id = ?", sh.GroupID, sh.UserID).Take(&v).Error; err != nil {
			return translate("read share", err)
		}
		out = v.toDomain()
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if changed {
		c := groups.Change{Kind: groups.ChangeShare, GroupID: sh.GroupID, UserID: sh.UserID}
		if notify != nil {
			n := *notify
			c.Notification = &n
		}
		s.publish(c)
	}
	return &out, changed, nil
}

// Shares lists who a group is shared with, in the order they were given it.
func (s *Store) Shares(ctx context.Context, groupID string) ([]groups.Share, error) {
	var views []shareView
	err := s.shareQuery(s.db.WithContext(ctx)).Where("sh.group_id = ?", groupID).
		Order("sh.created_at, u.username").Find(&views).Error
	if err != nil {
		return nil, translate("list shares", err)
	}
	out := make([]groups.Share, len(views))
	for i := range views {
		out[i] = views[i].toDomain()
	}
	return out, nil
}

// DeleteShare takes a share away; a share that does not exist is not-found. The user's
// pin, if any, stays, but no longer shows the group (see DashboardGroupIDs).
func (s *Store) DeleteShare(ctx context.Context, groupID, userID string) error {
	res := s.db.WithContext(ctx).Where("group_id = ? AND user_id = ?", groupID, userID).Delete(&shareRow{})
	if err := affectedOne("delete share", res); err != nil {
		return err
	}
	s.publish(groups.Change{Kind: groups.ChangeShare, GroupID: groupID, UserID: userID})
	return nil
}
