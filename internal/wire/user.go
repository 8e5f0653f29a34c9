package wire

import (
	"time"

	"pingdeck/internal/groups"
)

// Identity is who a user is: the live stream's hello carries it, and every user object
// of the REST API starts with it.
type Identity struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	IsAdmin     bool   `json:"is_admin"`
}

// User is a user as the REST API lists it.
type User struct {
	Identity
	CreatedAt time.Time `json:"created_at"`
}

// Notification is a notification, the same in GET /api/v1/notifications and in the
// live stream's notification message.
type Notification struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"` // groups.NotifyShared or groups.NotifyLook
	From      string     `json:"from"` // the sender's username
	GroupID   string     `json:"group_id"`
	GroupName string     `json:"group_name"`
	Message   string     `json:"message"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

// NotificationOf is n as it goes on the wire.
func NotificationOf(n *groups.Notification) Notification {
	return Notification{ID: n.ID, Kind: n.Kind, From: n.FromUsername, GroupID: n.GroupID, GroupName: n.GroupName,
		Message: n.Message, CreatedAt: n.CreatedAt.UTC(), ReadAt: n.ReadAt}
}
