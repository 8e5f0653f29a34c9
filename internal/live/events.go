package live

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"

	"github.com/gorilla/websocket"
)

var _ groups.Subscriber = (*Hub)(nil)

// HandleChange applies a committed change to the open streams (see Apply). The store
// publishes every change once after its commit; the hub subscribes. It never blocks.
func (h *Hub) HandleChange(c groups.Change) { Apply(h, c) }

// Effects are what changes do to open streams; Hub implements them. Those that need
// the database are queued for the hub's event goroutine (a bounded queue of distinct
// changes; past it, changes are dropped and logged); the rest act at once. None blocks.
type Effects interface {
	// GroupChanged: a group's settings or targets changed (group_updated, new snapshot).
	GroupChanged(groupID string)
	// GroupDeleted: a group is gone (group_deleted to everyone following it).
	GroupDeleted(groupID string)
	// AccessChanged: who may see a group changed (share removed or role changed,
	// visibility switched); followers who lost access get access_revoked or 4403.
	AccessChanged(groupID string)
	// DashboardChanged: a user's dashboard (own groups or pins) changed; their default
	// subscriptions follow it.
	DashboardChanged(userID string)
	// CredentialRevoked: sockets opened with that session or token close with 4401.
	CredentialRevoked(credentialID string)
	// UserDeleted: every socket of that user closes with 4401.
	UserDeleted(userID string)
	// RightsChanged: the user was made or unmade an administrator; their sockets close
	// with 1012 and the browser reconnects with its new rights.
	RightsChanged(userID string)
	// Notify: a notification for n.UserID, pushed to their open sockets.
	Notify(n groups.Notification)
}

var _ Effects = (*Hub)(nil)

// Apply does to e what the change c means for open streams.
func Apply(e Effects, c groups.Change) {
	switch c.Kind {
	case groups.ChangeGroupCreated:
		e.DashboardChanged(c.UserID)
	case groups.ChangeGroupUpdated:
		if c.AccessChanged {
			// Followers' access is checked first (AccessChanged also refreshes those who
			// keep it), so nobody who lost the group is sent its new settings.
			e.AccessChanged(c.GroupID)
		} else {
			e.GroupChanged(c.GroupID)
		}
	case groups.ChangeTargets:
		e.GroupChanged(c.GroupID)
	case groups.ChangeGroupDeleted:
		e.GroupDeleted(c.GroupID)
	case groups.ChangeShare:
		e.AccessChanged(c.GroupID)
		e.DashboardChanged(c.UserID) // a pin made before may show again, or go
		if c.Notification != nil {
			e.Notify(*c.Notification)
		}
	case groups.ChangePin:
		e.DashboardChanged(c.UserID)
	case groups.ChangeNotification:
		if c.Notification != nil {
			e.Notify(*c.Notification)
		}
	case groups.ChangeCredentialsEnded:
		for _, id := range c.CredentialIDs {
			e.CredentialRevoked(id)
		}
	case groups.ChangeUserDeleted:
		for _, id := range c.GroupIDs {
			e.GroupDeleted(id)
		}
		e.UserDeleted(c.UserID)
	case groups.ChangeUserRights:
		e.RightsChanged(c.UserID)
	}
}

// GroupChanged sends every follower a fresh group_updated.
func (h *Hub) GroupChanged(groupID string) { h.events.push(event{kind: evGroupChanged, id: groupID}) }

// AccessChanged checks every follower's role again; those who lost the group get
// access_revoked, or 4403 when no group they follow remains; the others get a fresh
// group_updated (the group's visibility or their role changed).
func (h *Hub) AccessChanged(groupID string) {
	h.mu.Lock()
	h.noteChange(h.accessChanged, groupID)
	h.mu.Unlock()
	h.events.push(event{kind: evAccessChanged, id: groupID})
}

// DashboardChanged makes the user's sockets that follow their dashboard follow it as
// it now is.
func (h *Hub) DashboardChanged(userID string) {
	h.mu.Lock()
	h.noteChange(h.dashChanged, userID)
	h.mu.Unlock()
	h.events.push(event{kind: evDashboardChanged, id: userID})
}

// GroupDeleted tells the group's followers it is gone and unsubscribes them.
func (h *Hub) GroupDeleted(groupID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[groupID]
	if g == nil {
		return
	}
	msg := message(kindControl, controlMessage(idMessage{Type: "group_deleted", ID: groupID}))
	for c := range g.subs {
		delete(c.subs, groupID)
		c.send(msg)
	}
	h.forgetGroup(g)
}

// CredentialRevoked closes, with 4401, the sockets opened with that session or token.
func (h *Hub) CredentialRevoked(credentialID string) {
	h.closeWhere(func(c *client) bool { return c.viewer.Credential.ID == credentialID }, CloseUnauthenticated, "signed out or API token revoked")
}

// UserDeleted closes every socket of the user with 4401.
func (h *Hub) UserDeleted(userID string) {
	h.closeWhere(func(c *client) bool { return c.viewer.UserID == userID }, CloseUnauthenticated, "account deleted")
}

// RightsChanged closes every socket of the user with 1012 (restart): a socket sees
// with the rights it was opened with, so the browser reconnects and follows what the
// user may see now (an administrator made a user no longer sees others' private groups).
func (h *Hub) RightsChanged(userID string) {
	h.closeWhere(func(c *client) bool { return c.viewer.UserID == userID }, websocket.CloseServiceRestart, "your rights changed: reconnect")
}

func (h *Hub) closeWhere(match func(*client) bool, code int, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if match(c) {
			c.kick(code, reason)
		}
	}
}

// Notify pushes a notification to the recipient's open sockets.
func (h *Hub) Notify(n groups.Notification) {
	msg := message(kindControl, controlMessage(notificationOf(n)))
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.byUser[n.UserID] {
		c.send(msg)
	}
}

type eventKind int

const (
	evGroupChanged eventKind = iota
	evAccessChanged
	evDashboardChanged
)

type event struct {
	kind eventKind
	id   string
}

// eventQueue holds changes for the event goroutine in order, each at most once: a
// change already waiting is not queued twice. Past max waiting changes, new ones are
// dropped and logged (the stream then shows stale settings until the next change).
type eventQueue struct {
	mu      sync.Mutex
	items   []event
	waiting map[event]bool
	max     int
	dropped int
	wake    chan struct{}
}

func newEventQueue(max int) *eventQueue {
	return &eventQueue{waiting: map[event]bool{}, max: max, wake: make(chan struct{}, 1)}
}

func (q *eventQueue) push(e event) {
	q.mu.Lock()
	switch {
	case q.waiting[e]:
	case len(q.items) >= q.max:
		q.dropped++
	default:
		q.waiting[e] = true
		q.items = append(q.items, e)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest change and how many were dropped since the last pop.
func (q *eventQueue) pop() (event, int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	dropped := q.dropped
	q.dropped = 0
	if len(q.items) == 0 {
		return event{}, dropped, false
	}
	e := q.items[0]
	q.items[0] = event{}
	q.items = q.items[1:]
	delete(q.waiting, e)
	return e, dropped, true
}

// runEvents applies queued changes and checks credentials again every RecheckEvery.
func (h *Hub) runEvents(ctx context.Context) {
	recheck := time.NewTicker(h.opt.RecheckEvery)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.events.wake:
			for ctx.Err() == nil {
				e, dropped, ok := h.events.pop()
				if dropped > 0 {
					h.log.Warn("live: change notifications dropped; open dashboards may show stale settings", "count", dropped)
				}
				if !ok {
					break
				}
				h.apply(ctx, e)
			}
		case <-recheck.C:
			h.recheckCredentials(ctx)
		}
	}
}

func (h *Hub) apply(ctx context.Context, e event) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	var err error
	switch e.kind {
	case evGroupChanged:
		err = h.applyGroupChanged(ctx, e.id)
	case evAccessChanged:
		err = h.applyAccessChanged(ctx, e.id)
	case evDashboardChanged:
		err = h.applyDashboardChanged(ctx, e.id)
	}
	if err != nil && ctx.Err() == nil {
		h.log.Warn("live: applying a change", "kind", e.kind, "id", e.id, "err", err)
	}
}

// followers lists a group's followers; without any, the group's settings are
// forgotten so the next follower loads them fresh.
func (h *Hub) followers(id string) []*client {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[id]
	if g == nil {
		return nil
	}
	if len(g.subs) == 0 {
		g.setMeta(nil)
		return nil
	}
	out := make([]*client, 0, len(g.subs))
	for c := range g.subs {
		out = append(out, c)
	}
	return out
}

// loadMeta reads a group's settings and targets; a deleted group is reported to its
// followers as deleted.
func (h *Hub) loadMeta(ctx context.Context, id string) (*groups.Group, error) {
	gv, err := h.opt.Store.GroupFor(ctx, id, "")
	if err == nil {
		gv.Group.Targets, err = h.opt.Store.Targets(ctx, id)
	}
	if errors.Is(err, groups.ErrNotFound) {
		h.GroupDeleted(id)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return gv.Group, nil
}

func (h *Hub) applyGroupChanged(ctx context.Context, id string) error {
	if len(h.followers(id)) == 0 {
		return nil
	}
	meta, err := h.loadMeta(ctx, id)
	if meta == nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[id]
	if g == nil {
		return nil
	}
	g.setMeta(meta)
	for c := range g.subs {
		if s := c.subs[id]; s != nil {
			h.queueGroupMessage(c, s, groupUpdate)
		}
	}
	return nil
}

func (h *Hub) applyAccessChanged(ctx context.Context, id string) error {
	fs := h.followers(id)
	if len(fs) == 0 {
		return nil
	}
	meta, err := h.loadMeta(ctx, id)
	if meta == nil {
		return err
	}
	users := make([]string, 0, len(fs))
	for _, c := range fs {
		users = append(users, c.viewer.UserID)
	}
	states, err := h.opt.Store.ViewersOf(ctx, id, users) // one read for every follower
	if err != nil {
		return err
	}
	views := make(map[*client]view, len(fs))
	for _, c := range fs {
		st := states[c.viewer.UserID]
		views[c] = view{role: groups.RoleFor(c.viewer.actor(), meta, st.ShareRole), pinned: st.Pinned}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[id]
	if g == nil {
		return nil
	}
	g.setMeta(meta)
	revoked := message(kindControl, controlMessage(idMessage{Type: "access_revoked", ID: id}))
	for c, v := range views {
		s := c.subs[id]
		switch {
		case s == nil:
		case v.role == groups.RoleNone:
			h.drop(c, id)
			if len(c.subs) == 0 {
				c.kick(CloseAccessRevoked, "access revoked")
			} else {
				c.send(revoked)
			}
		default:
			s.view = v
			h.queueGroupMessage(c, s, groupUpdate)
		}
	}
	return nil
}

// applyDashboardChanged makes the user's sockets that follow their dashboard follow it
// as it now is, and sends every socket of the user a group_updated for each followed
// group they pinned or unpinned.
func (h *Hub) applyDashboardChanged(ctx context.Context, userID string) error {
	h.mu.Lock()
	var all, cs []*client
	followed := map[string]bool{}
	for c := range h.byUser[userID] {
		all = append(all, c)
		if c.dashboard {
			cs = append(cs, c)
		}
		for id := range c.subs {
			followed[id] = true
		}
	}
	h.mu.Unlock()
	if len(all) == 0 {
		return nil
	}
	v := all[0].viewer
	pinned, err := h.pinned(ctx, userID, followed)
	if err != nil {
		return err
	}
	var grants []grant
	want := map[string]bool{}
	onDashboard := 0
	if len(cs) > 0 {
		if grants, want, onDashboard, err = h.dashboardGrants(ctx, &v, cs); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range cs {
		if !c.dashboard || c.subs == nil {
			continue
		}
		for id := range c.subs {
			if !want[id] {
				h.drop(c, id)
			}
		}
		if onDashboard > maxGroupsPerClient {
			c.sendError("invalid", dashboardCapped(onDashboard), "")
		}
		var add []grant
		for _, gr := range grants {
			if _, ok := c.subs[gr.id]; !ok {
				add = append(add, gr)
			}
		}
		h.follow(c, add, true)
	}
	for _, c := range all {
		for id, s := range c.subs {
			if p, known := pinned[id]; known && p != s.pinned {
				s.pinned = p
				h.queueGroupMessage(c, s, groupUpdate)
			}
		}
	}
	return nil
}

// pinned tells, for each of ids that still exists, whether the user pinned it: one
// query for them all.
func (h *Hub) pinned(ctx context.Context, userID string, ids map[string]bool) (map[string]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	views, err := h.opt.Store.GroupsByID(ctx, slices.Collect(maps.Keys(ids)), userID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(views))
	for id, gv := range views {
		out[id] = gv.Pinned
	}
	return out, nil
}

// dashboardGrants reads the user's dashboard, its first maxGroupsPerClient groups: those
// some of cs do not follow yet, the set of all of them, and how many the dashboard has.
func (h *Hub) dashboardGrants(ctx context.Context, v *Viewer, cs []*client) ([]grant, map[string]bool, int, error) {
	ids, err := h.opt.Store.DashboardGroupIDs(ctx, v.UserID, v.IsAdmin)
	if err != nil {
		return nil, nil, 0, err
	}
	onDashboard := len(ids)
	ids = ids[:min(len(ids), maxGroupsPerClient)]
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	h.mu.Lock()
	var fresh []string
	for _, id := range ids {
		for _, c := range cs {
			if _, ok := c.subs[id]; !ok {
				fresh = append(fresh, id)
				break
			}
		}
	}
	h.mu.Unlock()
	grants, _, err := h.resolve(ctx, v, fresh)
	return grants, want, onDashboard, err
}

// recheckCredentials closes with 4401 the sockets whose session or token has ended
// (expired, signed out elsewhere, user deleted), one lookup per distinct credential.
// A failure to look up (database down) closes nothing.
func (h *Hub) recheckCredentials(ctx context.Context) {
	h.mu.Lock()
	creds := map[string]auth.Credential{}
	admin := map[string]bool{} // by credential: the rights its sockets were opened with
	for c := range h.clients {
		creds[c.viewer.Credential.ID] = c.viewer.Credential
		admin[c.viewer.Credential.ID] = c.viewer.IsAdmin
	}
	h.mu.Unlock()
	for id, cred := range creds {
		if ctx.Err() != nil {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, dbTimeout)
		u, err := h.opt.Credentials.Recheck(cctx, cred)
		cancel()
		switch {
		case errors.Is(err, groups.ErrUnauthenticated):
			h.CredentialRevoked(id)
		case err == nil && u.IsAdmin != admin[id]: // a change this replica was not told of
			h.RightsChanged(u.ID)
		}
	}
}
