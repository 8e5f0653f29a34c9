package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"pingdeck/internal/groups"
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
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return translate("pin group", res.Error)
	}
	if res.RowsAffected > 0 {
		s.publish(groups.Change{Kind: groups.ChangePin, UserID: userID, GroupID: groupID})
	}
	return nil
}

// DeletePin takes a group off a user's dashboard; a pin that does not exist is not an error.
func (s *Store) DeletePin(ctx context.Context, userID, groupID string) error {
	res := s.db.WithContext(ctx).Where("user_id = ? AND group_id = ?", userID, groupID).Delete(&pinRow{})
	if res.Error != nil {
		return translate("unpin group", res.Error)
	}
	if res.RowsAffected > 0 {
		s.publish(groups.Change{Kind: groups.ChangePin, UserID: userID, GroupID: groupID})
	}
	return nil
}
