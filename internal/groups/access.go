package groups

// Role is what a user is to a group.
type Role string

// Roles, from least to most powerful. RoleNone means the group is invisible to the user.
const (
	RoleNone   Role = ""
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
)

// ValidShareRole reports whether r may be granted through a share.
func ValidShareRole(r Role) bool { return r == RoleViewer || r == RoleEditor }

// Action is a class of things a user does to a group.
type Action int

// Actions.
const (
	ActionView   Action = iota // see, stream, report
	ActionEdit                 // add/pause/remove targets, change probe settings, prune
	ActionManage               // share, change visibility, delete
)

// Actor is the signed-in user a permission is decided for.
type Actor struct {
	UserID  string
	IsAdmin bool
}

// RoleFor decides what actor is to g, given the role a share grants them (RoleNone if
// there is no share). Owners and admins can do everything; public groups are visible to all.
func RoleFor(a Actor, g *Group, shared Role) Role {
	switch {
	case a.UserID != "" && a.UserID == g.OwnerID:
		return RoleOwner
	case a.IsAdmin:
		return RoleAdmin
	case ValidShareRole(shared):
		return shared
	case g.Visibility == Public:
		return RoleViewer
	}
	return RoleNone
}

// Can reports whether the role allows the action.
func (r Role) Can(a Action) bool {
	switch r {
	case RoleOwner, RoleAdmin:
		return true
	case RoleEditor:
		return a <= ActionEdit
	case RoleViewer:
		return a == ActionView
	}
	return false
}

// Authorize returns nil when r allows a; otherwise a not-found error when the group is
// invisible to the user (so its existence is not revealed) and forbidden when it is visible.
func Authorize(r Role, a Action) error {
	switch {
	case r == RoleNone:
		return NotFound("group")
	case !r.Can(a):
		return Forbidden("your role on this group (%s) does not allow this", r)
	}
	return nil
}
