package groups

import "sync"

// ChangeKind says what a committed change did. The values are stable names (they can
// travel between processes).
type ChangeKind string

// Change kinds, and the fields each sets.
const (
	// ChangeGroupCreated: GroupID was created, owned by UserID.
	ChangeGroupCreated ChangeKind = "group_created"
	// ChangeGroupUpdated: GroupID's settings changed (name, timing, paused…).
	// AccessChanged is set when its visibility changed too.
	ChangeGroupUpdated ChangeKind = "group_updated"
	// ChangeGroupDeleted: GroupID is gone, with its targets, shares and pins.
	ChangeGroupDeleted ChangeKind = "group_deleted"
	// ChangeTargets: targets of GroupID were added, paused, resumed, deleted or given a
	// newly resolved address; TargetIDs names them.
	ChangeTargets ChangeKind = "targets_changed"
	// ChangeShare: UserID was given a role on GroupID, had it changed, or lost it.
	// Notification is the notice stored with a grant, if any.
	ChangeShare ChangeKind = "share_changed"
	// ChangePin: UserID pinned GroupID to their dashboard or unpinned it.
	ChangePin ChangeKind = "pin_changed"
	// ChangeNotification: Notification was stored for its UserID.
	ChangeNotification ChangeKind = "notification"
	// ChangeCredentialsEnded: the sessions or API tokens CredentialIDs of UserID (when
	// known) ended: signed out, revoked, or ended by a password change.
	ChangeCredentialsEnded ChangeKind = "credentials_ended"
	// ChangeUserDeleted: UserID's account is gone, with the groups GroupIDs it owned.
	ChangeUserDeleted ChangeKind = "user_deleted"
	// ChangeUserRights: UserID was made or unmade an administrator, so what they may
	// see changed.
	ChangeUserRights ChangeKind = "user_rights_changed"
)

// Change is one committed change to what someone sees or what is probed, announced
// once after its commit by the layer that committed it. Only the fields its Kind
// names are set.
type Change struct {
	Kind          ChangeKind    `json:"kind"`
	GroupID       string        `json:"group_id,omitempty"`
	UserID        string        `json:"user_id,omitempty"`
	GroupIDs      []string      `json:"group_ids,omitempty"`
	TargetIDs     []string      `json:"target_ids,omitempty"`
	CredentialIDs []string      `json:"credential_ids,omitempty"`
	AccessChanged bool          `json:"access_changed,omitempty"`
	Notification  *Notification `json:"notification,omitempty"`
}

// Subscriber is told of every change. HandleChange is called on the publisher's
// goroutine, right after the commit: it must not block (queue the work, bounded, and
// say what happens when the queue is full).
type Subscriber interface {
	HandleChange(Change)
}

// SubscriberFunc is a function as a Subscriber.
type SubscriberFunc func(Change)

// HandleChange calls f.
func (f SubscriberFunc) HandleChange(c Change) { f(c) }

// Fanout is the in-process publisher: Publish hands each change to every subscriber,
// in the order they subscribed, and returns when they all have it. Subscribers are
// added as the server starts; a change goes to those subscribed when it is published.
type Fanout struct {
	mu   sync.RWMutex
	subs []Subscriber
}

// Subscribe adds s; it is told of every change published from now on.
func (f *Fanout) Subscribe(s Subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, s)
}

// Publish hands c to every subscriber. It never blocks beyond what they do.
func (f *Fanout) Publish(c Change) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, s := range f.subs {
		s.HandleChange(c)
	}
}
