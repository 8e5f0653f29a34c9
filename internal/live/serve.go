package live

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// resumeRequest is a client's wish to continue from a previous connection.
type resumeRequest struct {
	token string
	since uint64
	ok    bool
}

// ServeWS upgrades an authenticated request (the caller has checked the credential
// and the Origin) and runs the client until the socket closes. It returns at once;
// the socket's goroutines belong to the hub and end by Shutdown at the latest. A user
// who already has MaxStreamsPerUser sockets open is refused before the upgrade with a
// groups.ErrRateLimited error, for the caller to answer (429); any other refusal has
// been answered by the upgrader, and ServeWS returns nil.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, v Viewer) error {
	var res resumeRequest
	if tok := r.URL.Query().Get("resume"); tok != "" {
		since, err := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
		res = resumeRequest{token: tok, since: since, ok: err == nil}
	}
	if err := h.reserveStream(v.UserID); err != nil {
		return err
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.releaseStream(v.UserID)
		return nil // the upgrader has answered
	}
	c := newClient(h, conn, v)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.releaseStream(v.UserID)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return nil
	}
	h.clients[c] = struct{}{}
	h.clientsWG.Add(2)
	h.mu.Unlock()
	h.m.clients.Inc()
	go c.readPump(res)
	go c.writePump()
	return nil
}

// reserveStream counts one more open socket of userID, unless they have
// MaxStreamsPerUser already: the check and the count are one step, so that parallel
// handshakes cannot overshoot.
func (h *Hub) reserveStream(userID string) error {
	refused := func() error {
		h.m.refused.Inc()
		return &groups.Error{Kind: groups.ErrRateLimited, Message: fmt.Sprintf(
			"%d live streams are open for this user, the most allowed (--max-streams-per-user); close a dashboard tab and try again",
			h.opt.MaxStreamsPerUser)}
	}
	h.mu.Lock()
	if h.streams[userID] >= h.opt.MaxStreamsPerUser {
		h.mu.Unlock()
		return refused()
	}
	h.streams[userID]++
	h.mu.Unlock()
	if h.opt.Streams == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(h.clientCtx, 2*time.Second)
	defer cancel()
	if !h.opt.Streams.Open(ctx, userID, h.opt.MaxStreamsPerUser) {
		h.mu.Lock()
		if h.streams[userID]--; h.streams[userID] <= 0 {
			delete(h.streams, userID)
		}
		h.mu.Unlock()
		return refused()
	}
	return nil
}

// releaseStream uncounts a socket reserveStream counted.
func (h *Hub) releaseStream(userID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseStreamLocked(userID)
}

func (h *Hub) releaseStreamLocked(userID string) {
	if h.streams[userID]--; h.streams[userID] <= 0 {
		delete(h.streams, userID)
	}
	if h.opt.Streams != nil {
		h.opt.Streams.Close(userID)
	}
}

// unregister takes a client whose socket has closed out of every set.
func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.releaseStreamLocked(c.viewer.UserID)
	if set := h.byUser[c.viewer.UserID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.byUser, c.viewer.UserID)
		}
	}
	for _, s := range c.subs {
		delete(s.g.subs, c)
	}
	if c.started {
		h.leaveSlot(c)
		h.remember(c)
	}
	c.subs = nil
	h.mu.Unlock()
	h.m.clients.Dec()
}

func (h *Hub) dbContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.clientCtx, dbTimeout)
}

// start sends hello and follows the viewer's dashboard (its first maxGroupsPerClient
// groups): a snapshot per group, or, for a client resuming within the window, the
// results it missed.
func (h *Hub) start(c *client, r resumeRequest) {
	ctx, cancel := h.dbContext()
	defer cancel()
	ids, err := h.opt.Store.DashboardGroupIDs(ctx, c.viewer.UserID, c.viewer.IsAdmin)
	onDashboard := len(ids)
	ids = ids[:min(len(ids), maxGroupsPerClient)]
	var grants []grant
	if err == nil {
		grants, _, err = h.resolve(ctx, &c.viewer, ids)
	}
	if err != nil {
		if h.clientCtx.Err() == nil {
			h.log.Error("live: starting a stream", "user", c.viewer.Username, "err", err)
			c.kick(websocket.CloseInternalServerErr, "internal error")
		}
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.subs == nil { // closed meanwhile
		return
	}
	h.joinSlot(c)
	set := h.byUser[c.viewer.UserID]
	if set == nil {
		set = map[*client]struct{}{}
		h.byUser[c.viewer.UserID] = set
	}
	set[c] = struct{}{}
	c.send(message(kindControl, controlMessage(helloMessage{
		Type: "hello", ServerTime: time.Now().UTC().Format(time.RFC3339Nano), ResumeToken: h.token, Seq: h.pos,
		User:     helloUser{ID: c.viewer.UserID, Username: c.viewer.Username, DisplayName: c.viewer.DisplayName, IsAdmin: c.viewer.IsAdmin},
		Location: h.opt.Location,
	})))
	if h.locationsMsg != nil {
		c.send(message(kindControl, h.locationsMsg))
	}
	if onDashboard > maxGroupsPerClient {
		c.sendError("invalid", dashboardCapped(onDashboard), "")
	}
	if !r.ok || !h.canReplay(r.token, r.since) {
		h.follow(c, grants, true)
		return
	}
	// Resuming: the groups the previous socket followed get what they missed (or a
	// snapshot when that is more than the client may have queued), groups that joined
	// the dashboard during the gap a snapshot.
	known := h.knownGroups(c, r.since)
	var had, added []grant
	for _, gr := range grants {
		if known[gr.id] || h.hadOnAnotherReplica(c.viewer.UserID, gr.id, r.since) {
			had = append(had, gr)
		} else {
			added = append(added, gr)
		}
	}
	h.follow(c, had, false)
	if !h.replay(c, r.since) {
		h.snapshotAll(c)
	}
	h.follow(c, added, true)
}

func dashboardCapped(n int) string {
	return fmt.Sprintf("the dashboard has %d groups; this stream follows the first %d (subscribe to choose others)", n, maxGroupsPerClient)
}

// subscribe follows more groups; the client stops following its dashboard.
func (h *Hub) subscribe(c *client, ids []string) {
	h.mu.Lock()
	have := len(c.subs)
	c.dashboard = false
	h.mu.Unlock()
	if have+len(ids) > maxGroupsPerClient {
		c.sendError("invalid", "one socket follows at most "+strconv.Itoa(maxGroupsPerClient)+" groups", "")
		return
	}
	ctx, cancel := h.dbContext()
	defer cancel()
	grants, denied, err := h.resolve(ctx, &c.viewer, ids)
	if err != nil {
		if h.clientCtx.Err() == nil {
			h.log.Error("live: subscribe", "user", c.viewer.Username, "err", err)
			c.sendError("internal", "internal error", "")
		}
		return
	}
	for _, id := range denied {
		c.sendError("not_found", "group not found", echoID(id))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.subs != nil {
		h.follow(c, grants, true)
	}
}

// unsubscribe stops following groups; the client stops following its dashboard.
func (h *Hub) unsubscribe(c *client, ids []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.dashboard = false
	for _, id := range ids {
		h.drop(c, id)
	}
}

// grant is a group a viewer may follow, with the settings and targets to show.
type grant struct {
	id string
	view
	meta *groups.Group
	// recent is the group's stored results of the last minute, read when the hub did
	// not follow the group yet, so that its state starts from them.
	recent []ping.Result
}

// resolve decides which of ids the viewer may see (the single rule, groups.RoleFor),
// loading the targets of groups the hub has not loaded yet: one query for the groups
// and at most one for their targets, however many ids. Unknown and invisible groups
// come back in denied; err is for failures to read.
func (h *Hub) resolve(ctx context.Context, v *Viewer, ids []string) (grants []grant, denied []string, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	views, err := h.opt.Store.GroupsByID(ctx, ids, v.UserID)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		gv, ok := views[id]
		role := groups.RoleNone
		if ok {
			role = groups.RoleFor(v.actor(), gv.Group, gv.ShareRole)
		}
		if role == groups.RoleNone {
			denied = append(denied, id)
			continue
		}
		grants = append(grants, grant{id: id, view: view{role: role, pinned: gv.Pinned}, meta: gv.Group})
	}
	var load []string // groups whose settings and targets the hub has not loaded
	h.mu.Lock()
	for i := range grants {
		if g := h.groups[grants[i].id]; g != nil && g.meta != nil {
			grants[i].meta = g.meta
		} else {
			load = append(load, grants[i].id)
		}
	}
	h.mu.Unlock()
	if len(load) == 0 {
		return grants, denied, nil
	}
	targets, err := h.opt.Store.TargetsOfGroups(ctx, load)
	if err != nil {
		return nil, nil, err
	}
	loaded := make(map[string]bool, len(load))
	for _, id := range load {
		loaded[id] = true
	}
	for i := range grants {
		if loaded[grants[i].id] {
			grants[i].meta.Targets = append([]groups.Target{}, targets[grants[i].id]...)
		}
	}
	if h.opt.Feed != nil {
		if err := h.readRecent(ctx, grants, loaded); err != nil {
			// The cards open empty and fill as results come: not worth failing for.
			h.log.Warn("live: reading the last minute of results failed; the groups start empty", "err", err)
		}
	}
	return grants, denied, nil
}

// Seeding a group the hub starts to follow: its stored results of the last seedWindow,
// at most seedLimit of them (the newest).
const (
	seedWindow = time.Minute
	seedLimit  = 100_000
)

// readRecent reads the last minute's stored results of the loaded groups among
// grants, in one query, into their grants. (Results published in the moments before
// the hub follows a group and not yet stored are not among them.)
func (h *Hub) readRecent(ctx context.Context, grants []grant, loaded map[string]bool) error {
	var ids []string
	groupOf := map[string]int{}
	for i := range grants {
		if !loaded[grants[i].id] {
			continue
		}
		for _, t := range grants[i].meta.Targets {
			ids = append(ids, t.ID)
			groupOf[t.ID] = i
		}
	}
	if len(ids) == 0 {
		return nil
	}
	recent, err := h.opt.Store.RecentResults(ctx, ids, time.Now().Add(-seedWindow), seedLimit)
	if err != nil {
		return err
	}
	for _, r := range recent {
		i := groupOf[r.TargetID]
		r.GroupID = grants[i].id
		grants[i].recent = append(grants[i].recent, r)
	}
	return nil
}

// follow subscribes c to the granted groups, with a snapshot of each when snapshot is
// set (one already queued is not queued again). h.mu is held.
func (h *Hub) follow(c *client, grants []grant, snapshot bool) {
	for _, gr := range grants {
		g := h.groups[gr.id]
		if g == nil {
			g = newGroupState(gr.id, h.now())
			h.groups[gr.id] = g
			for i := range gr.recent {
				loc := gr.recent[i].Location
				if loc == "" {
					loc = h.opt.Location
				}
				t := g.target(gr.recent[i].TargetID, loc)
				t.record(itemOf(&gr.recent[i], t))
			}
		}
		if g.meta == nil {
			g.setMeta(gr.meta)
		}
		s := c.subs[gr.id]
		switch {
		case s != nil && s.g == g:
			s.view = gr.view
		default:
			if s != nil { // the group was deleted and made anew
				delete(s.g.subs, c)
			}
			s = &subscription{g: g, view: gr.view, from: h.seq, joined: h.pos}
			c.subs[gr.id] = s
			g.subs[c] = struct{}{}
			h.followGroup(g)
		}
		if snapshot {
			h.queueGroupMessage(c, s, groupSnapshot)
		}
	}
}

// snapshotAll queues a snapshot of every group c follows. h.mu is held.
func (h *Hub) snapshotAll(c *client) {
	for _, s := range c.subs {
		if s.g.meta != nil {
			h.queueGroupMessage(c, s, groupSnapshot)
		}
	}
}

// drop unsubscribes c from a group. h.mu is held.
func (h *Hub) drop(c *client, id string) {
	if s := c.subs[id]; s != nil {
		delete(s.g.subs, c)
		delete(c.subs, id)
	}
}

// joinSlot starts c's results: it goes into the emptiest flush slot and is sent the
// results after the current seq. h.mu is held.
func (h *Hub) joinSlot(c *client) {
	c.started, c.sent = true, h.seq
	c.slot = 0
	for i := range h.slots {
		if len(h.slots[i]) < len(h.slots[c.slot]) {
			c.slot = i
		}
	}
	c.at = len(h.slots[c.slot])
	h.slots[c.slot] = append(h.slots[c.slot], c)
}

// leaveSlot takes c out of its flush slot. h.mu is held.
func (h *Hub) leaveSlot(c *client) {
	s := h.slots[c.slot]
	last := len(s) - 1
	s[c.at] = s[last]
	s[c.at].at = c.at
	s[last] = nil
	h.slots[c.slot] = s[:last]
}
