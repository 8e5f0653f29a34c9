package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

type pinRow struct {
	UserID    string
	GroupID   string
	CreatedAt time.Time
}

func (pinRow) TableName() string { return "pins" }

// PutPin keeps a group on a user's dashboard; pinning twice is not an error. Whether the
// user may see the group is the caller's decision, and is checked again whenever the
// dashboard is read.
func (s *Store) PutPin(ctx context.Context, userID, groupID string, now time.Time) error {
	row := pinRow{UserID: userID, GroupID: groupID, CreatedAt: now.UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
	return translate("pin group", err)
}

// DeletePin takes a group off a user's dashboard; a pin that does not exist is not an error.
func (s *Store) DeletePin(ctx context.Context, userID, groupID string) error {
	err := s.db.WithContext(ctx).Where("user_id = ? AND group_id = ?", userID, groupID).Delete(&pinRow{}).Error
	return translate("unpin group", err)
}
