package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"pingdeck/internal/notify"
)

type notifyChannelRow struct {
	ID            string
	OwnerUserID   *string
	OwnerGroupID  *string
	Kind          string
	Name          string
	Config        string
	Secret        string
	AllowInternal bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (notifyChannelRow) TableName() string { return "notify_channels" }

func notifyChannelRowOf(c *notify.Channel) *notifyChannelRow {
	return &notifyChannelRow{ID: c.ID, OwnerUserID: nonEmpty(c.OwnerUserID), OwnerGroupID: nonEmpty(c.OwnerGroupID),
		Kind: string(c.Kind), Name: c.Name, Config: string(c.Config), Secret: c.Secret, AllowInternal: c.AllowInternal,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func (r *notifyChannelRow) toDomain() notify.Channel {
	return notify.Channel{ID: r.ID, OwnerUserID: deref(r.OwnerUserID), OwnerGroupID: deref(r.OwnerGroupID),
		Kind: notify.Kind(r.Kind), Name: r.Name, Config: []byte(r.Config), Secret: r.Secret,
		AllowInternal: r.AllowInternal, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// CreateNotifyChannel stores a new channel. An owner deleted meanwhile is not-found.
func (s *Store) CreateNotifyChannel(ctx context.Context, c *notify.Channel) error {
	return translate("create notify channel", s.db.WithContext(ctx).Create(notifyChannelRowOf(c)).Error)
}

// UpdateNotifyChannel replaces a channel's name, config, secret and allow_internal; its
// owner and kind never change (they are in the WHERE clause).
func (s *Store) UpdateNotifyChannel(ctx context.Context, c *notify.Channel) error {
	r := notifyChannelRowOf(c)
	res := s.db.WithContext(ctx).Model(&notifyChannelRow{}).
		Where("id = ? AND kind = ?", c.ID, r.Kind).Where(ownerClause(r)).
		Updates(map[string]any{"name": r.Name, "config": r.Config, "secret": r.Secret,
			"allow_internal": r.AllowInternal, "updated_at": r.UpdatedAt})
	if res.Error != nil {
		return translate("update notify channel", res.Error)
	}
	if res.RowsAffected == 0 {
		return translate("update notify channel", gorm.ErrRecordNotFound)
	}
	return nil
}

// ownerClause matches the row's owner (a user or a group).
func ownerClause(r *notifyChannelRow) map[string]any {
	if r.OwnerUserID != nil {
		return map[string]any{"owner_user_id": *r.OwnerUserID}
	}
	return map[string]any{"owner_group_id": deref(r.OwnerGroupID)}
}

// DeleteNotifyChannel deletes a channel and, by cascade, its deliveries.
func (s *Store) DeleteNotifyChannel(ctx context.Context, id string) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&notifyChannelRow{})
	if res.Error != nil {
		return translate("delete notify channel", res.Error)
	}
	if res.RowsAffected == 0 {
		return translate("delete notify channel", gorm.ErrRecordNotFound)
	}
	return nil
}

// NotifyChannel returns one channel, secret included.
func (s *Store) NotifyChannel(ctx context.Context, id string) (*notify.Channel, error) {
	var r notifyChannelRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, translate("find notify channel", err)
	}
	c := r.toDomain()
	return &c, nil
}

// NotifyChannelsFor returns the channels owned by userID or by any of groupIDs, by name.
func (s *Store) NotifyChannelsFor(ctx context.Context, userID string, groupIDs []string) ([]notify.Channel, error) {
	q := s.db.WithContext(ctx).Where("owner_user_id = ?", userID)
	if len(groupIDs) > 0 {
		q = q.Or("owner_group_id IN ?", groupIDs)
	}
	var rows []notifyChannelRow
	if err := q.Order("name, id").Find(&rows).Error; err != nil {
		return nil, translate("list notify channels", err)
	}
	out := make([]notify.Channel, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}
