package groups

import "time"

// Notification kinds.
const (
	NotifyShared = "shared" // a group was shared with the recipient
	NotifyLook   = "look"   // another user asks the recipient to look at a group
)

// Notification tells a user about a group: that it was shared with them, or that someone
// wants them to look at it. The API lists them and the live stream pushes them.
type Notification struct {
	ID           string
	UserID       string // recipient
	FromUserID   string
	FromUsername string
	Kind         string
	GroupID      string
	GroupName    string
	Message      string
	CreatedAt    time.Time
	ReadAt       *time.Time
}
