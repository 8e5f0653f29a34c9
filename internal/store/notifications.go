package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"pingdeck/internal/groups"
)

type notificationRow struct {
	ID         string
	UserID     string
	FromUserID *string
	Kind       string
	GroupID    *string
	Message    string
	CreatedAt  time.Time
	ReadAt     *time.Time
}

func (notificationRow) TableName() string { return "notifications" }

func notificationRowOf(n *groups.Notification) *notificationRow {
	return &notificationRow{ID: n.ID, UserID: n.UserID, FromUserID: nonEmpty(n.FromUserID), Kind: n.Kind,
		GroupID: nonEmpty(n.GroupID), Message: n.Message, CreatedAt: n.CreatedAt.UTC(), ReadAt: utcPtr(n.ReadAt)}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// notificationView is a notification with the sender's username and the group's name
// joined in (empty when the sender's account has been deleted).
type notificationView struct {
	Row          notificationRow `gorm:"embedded"`
	FromUsername *string
	GroupName    *string
}

func (v *notificationView) toDomain() groups.Notification {
	r := &v.Row
	return groups.Notification{ID: r.ID, UserID: r.UserID, FromUserID: deref(r.FromUserID),
		FromUsername: deref(v.FromUsername), Kind: r.Kind, GroupID: deref(r.GroupID), GroupName: deref(v.GroupName),
		Message: r.Message, CreatedAt: r.CreatedAt.UTC(), ReadAt: utcPtr(r.ReadAt)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// notificationQuery selects userID's notifications with names joined in: the recipient
// is in the WHERE clause, so nobody reads another user's notifications.
func (s *Store) notificationQuery(ctx context.Context, userID string) *gorm.DB {
	return s.db.WithContext(ctx).Table("notifications AS n").
		Select("n.*, u.username AS from_username, g.name AS group_name").
		Joins("LEFT JOIN users u ON u.id = n.from_user_id").
		Joins("LEFT JOIN groups g ON g.id = n.group_id").
		Where("n.user_id = ?", userID)
}

// CreateNotification stores a notification for n.UserID. A recipient or group deleted
// meanwhile is not-found.
func (s *Store) CreateNotification(ctx context.Context, n *groups.Notification) error {
	if err := s.db.WithContext(ctx).Create(notificationRowOf(n)).Error; err != nil {
		return translate("create notification", err)
	}
	stored := *n
	s.publish(groups.Change{Kind: groups.ChangeNotification, UserID: n.UserID, GroupID: n.GroupID, Notification: &stored})
	return nil
}

// Notifications returns a user's newest notifications (at most limit; only unread ones
// when unreadOnly), newest first, and how many of all their notifications are unread.
func (s *Store) Notifications(ctx context.Context, userID string, unreadOnly bool, limit int) ([]groups.Notification, int, error) {
	q := s.notificationQuery(ctx, userID)
	if unreadOnly {
		q = q.Where("n.read_at IS NULL")
	}
	var views []notificationView
	if err := q.Order("n.created_at DESC, n.id DESC").Limit(limit).Find(&views).Error; err != nil {
		return nil, 0, translate("list notifications", err)
	}
	var unread int64
	err := s.db.WithContext(ctx).Model(&notificationRow{}).Where("user_id = ? AND read_at IS NULL", userID).Count(&unread).Error
	if err != nil {
		return nil, 0, translate("count unread notifications", err)
	}
	out := make([]groups.Notification, len(views))
	for i := range views {
		out[i] = views[i].toDomain()
	}
	return out, int(unread), nil
}

// MarkNotificationRead marks one of userID's notifications read at now (keeping the
// first time if it was read already) and returns it; another user's is not-found.
func (s *Store) MarkNotificationRead(ctx context.Context, userID, id string, now time.Time) (*groups.Notification, error) {
	err := s.db.WithContext(ctx).Model(&notificationRow{}).
		Where("id = ? AND user_id = ? AND read_at IS NULL", id, userID).Update("read_at", now.UTC()).Error
	if err != nil {
		return nil, translate("mark notification read", err)
	}
	var v notificationView
	if err := s.notificationQuery(ctx, userID).Where("n.id = ?", id).Take(&v).Error; err != nil {
		return nil, translate("find notification", err)
	}
	n := v.toDomain()
	return &n, nil
}
