package groups

import "time"

// Notification kinds.
const (
	NotifyShared = "shared" // a group was shared with the recipient
	NotifyLook   = "look"   // another user asks the recipient to look at a group
	NotifyAlert  = "alert"  // one of the group's alert rules fired or resolved
)

// Notification tells a user about a group: that it was shared with them, or that someone
// wants them to look at it. The API lists them and the live stream pushes them.
//
// The JSON names are how a notification travels on the bus inside a Change (the API and
// the live stream use internal/wire's shape instead).
type Notification struct {
	ID           string     `json:"id"`
	UserID       string     `json:"user_id"` // recipient
	FromUserID   string     `json:"from_user_id,omitempty"`
	FromUsername string     `json:"from_username,omitempty"`
	Kind         string     `json:"kind"`
	GroupID      string     `json:"group_id,omitempty"`
	GroupName    string     `json:"group_name,omitempty"`
	Message      string     `json:"message,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	ReadAt       *time.Time `json:"read_at,omitempty"`
}
