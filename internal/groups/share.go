package groups

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Share grants one user a role on another user's group.
type Share struct {
	GroupID     string
	UserID      string
	Username    string
	DisplayName string
	Role        Role
	CreatedAt   time.Time
}

// ValidateShare checks that role may be granted, and that the grantee is not the group's
// owner (who has every right already).
func ValidateShare(g *Group, granteeID string, role Role) error {
	switch {
	case !ValidShareRole(role):
		return Invalid("role", "must be %q or %q", RoleViewer, RoleEditor)
	case granteeID == g.OwnerID:
		return Invalid("username", "is the group's owner, who can do everything already")
	}
	return nil
}

// MaxMessageLength bounds the message of a "look at this" notification, in characters.
const MaxMessageLength = 500

// CleanMessage trims a notification message and checks its length and characters: as
// a name (CleanName) but optional, and line breaks and tabs are allowed.
func CleanMessage(msg string) (string, error) {
	msg = strings.TrimSpace(msg)
	if utf8.RuneCountInString(msg) > MaxMessageLength {
		return "", Invalid("message", "is longer than %d characters", MaxMessageLength)
	}
	if err := checkText("message", msg, true); err != nil {
		return "", err
	}
	return msg, nil
}
