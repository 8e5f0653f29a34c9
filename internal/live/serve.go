package live

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"pingdeck/internal/groups"
)

// resumeRequest is a client's wish to continue from a previous connection.
type resumeRequest struct {
	token string
	since uint64
	ok    bool
}

// ServeWS upgrades an authenticated request (the caller has checked the credential
// and the Origin) and runs the client until the socket closes. It returns at once;
// the socket's goroutines belong to the hub and end by Shutdown at the latest.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, v Viewer) {
	var res resumeRequest
	if tok := r.URL.Query().Get("resume"); tok != "" {
		since, err := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
		res = resumeRequest{token: tok, since: since, ok: err == nil}
	}
	conn, gate, err := h.upgrade(w, r)
	if err != nil {
		return // the upgrader has answered
	}
	c := newClient(h, conn, gate, v)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	h.clients[c] = struct{}{}
	h.clientsWG.Add(1)
	h.mu.Unlock()
	h.m.clients.Inc()
	go c.readPump(res)
}

// unregister takes a client whose socket has closed out of every set.
func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
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

// start sends hello and follows the viewer's dashboard: a snapshot per group, or, for
// a client resuming within the window, the results it missed.
func (h *Hub) start(c *client, r resumeRequest) {
	ctx, cancel := h.dbContext()
	defer cancel()
	ids, err := h.opt.Store.DashboardGroupIDs(ctx, c.viewer.UserID, c.viewer.IsAdmin)
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
		Type: "hello", ServerTime: time.Now().UTC().Format(time.RFC3339Nano), ResumeToken: h.token, Seq: h.seq,
		User: helloUser{ID: c.viewer.UserID, Username: c.viewer.Username, DisplayName: c.viewer.DisplayName, IsAdmin: c.viewer.IsAdmin},
	})))
	if !r.ok || !h.canReplay(r.token, r.since) {
		h.follow(c, grants, true)
		return
	}
	// Resuming: the groups the previous socket followed get what they missed, groups
	// that joined the dashboard during the gap a snapshot.
	known := h.knownGroups(c, r.since)
	var had, added []grant
	for _, gr := range grants {
		if known[gr.id] {
			had = append(had, gr)
		} else {
			added = append(added, gr)
		}
	}
	h.follow(c, had, false)
	h.replay(c, r.since)
	h.follow(c, added, true)
}

// inbound is a message from the browser.
type inbound struct {
	Type   string   `json:"type"`
	Groups []string `json:"groups"`
	Token  string   `json:"token"`
	Since  *uint64  `json:"since"`
}

// handle acts on one message from the client.
func (h *Hub) handle(c *client, data []byte) {
	var m inbound
	if err := json.Unmarshal(data, &m); err != nil {
		c.sendError("invalid", "a message must be a JSON object with a \"type\": "+err.Error(), "")
		return
	}
	switch m.Type {
	case "ping":
		c.send(message(kindControl, pongMessage))
	case "subscribe":
		h.subscribe(c, m.Groups)
	case "unsubscribe":
		h.unsubscribe(c, m.Groups)
	case "resume":
		if m.Since == nil {
			c.sendError("invalid", `resume needs "since": the last results seq seen`, "")
			return
		}
		h.resume(c, m.Token, *m.Since)
	default:
		c.sendError("invalid", "unknown message type "+strconv.Quote(m.Type)+" (subscribe, unsubscribe, resume or ping)", "")
	}
}

func (c *client) sendError(code, msg, id string) {
	c.send(message(kindControl, controlMessage(errorMessage{Type: "error", Code: code, Message: msg, ID: id})))
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
		c.sendError("not_found", "group not found", id)
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
}

// resolve decides which of ids the viewer may see (the single rule, groups.RoleFor),
// loading the targets of groups the hub has not loaded yet. Unknown and invisible
// groups come back in denied; err is for failures to read.
func (h *Hub) resolve(ctx context.Context, v *Viewer, ids []string) (grants []grant, denied []string, err error) {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		gv, err := h.opt.Store.GroupFor(ctx, id, v.UserID)
		if errors.Is(err, groups.ErrNotFound) || errors.Is(err, groups.ErrInvalid) {
			denied = append(denied, id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		role := groups.RoleFor(v.actor(), gv.Group, gv.ShareRole)
		if role == groups.RoleNone {
			denied = append(denied, id)
			continue
		}
		meta := h.cachedMeta(id)
		if meta == nil {
			if gv.Group.Targets, err = h.opt.Store.Targets(ctx, id); err != nil {
				return nil, nil, err
			}
			meta = gv.Group
		}
		grants = append(grants, grant{id: id, view: view{role: role, pinned: gv.Pinned}, meta: meta})
	}
	return grants, denied, nil
}

func (h *Hub) cachedMeta(id string) *groups.Group {
	h.mu.Lock()
	defer h.mu.Unlock()
	if g := h.groups[id]; g != nil {
		return g.meta
	}
	return nil
}

// follow subscribes c to the granted groups, with a snapshot of each when snapshot is
// set. h.mu is held.
func (h *Hub) follow(c *client, grants []grant, snapshot bool) {
	for _, gr := range grants {
		g := h.groups[gr.id]
		if g == nil {
			g = newGroupState(gr.id)
			h.groups[gr.id] = g
		}
		if g.meta == nil {
			g.setMeta(gr.meta)
		}
		if s := c.subs[gr.id]; s != nil && s.g != g { // the group was deleted and made anew
			delete(s.g.subs, c)
		}
		c.subs[gr.id] = &subscription{g: g, view: gr.view, from: h.seq, joined: h.seq}
		g.subs[c] = struct{}{}
		if snapshot {
			c.send(h.groupMessage(g, gr.view, snapshotPrefix, kindSnapshot))
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

// groupMessage is a snapshot or group_updated for a follower with view v: the group
// object (encoded once per role and pin) and its targets with live state (encoded
// once per tick), shared by every follower. h.mu is held.
func (h *Hub) groupMessage(g *groupState, v view, prefix []byte, kind msgKind) outbound {
	head := g.headers[v]
	if head == nil {
		b, err := h.opt.EncodeGroup(g.meta, v.role, v.pinned, len(g.meta.Targets))
		if err != nil || len(b) < 2 || b[len(b)-1] != '}' {
			h.log.Error("live: encoding a group", "group", g.id, "err", err)
			b = append(append([]byte(`{"id":`), g.quoted...), '}')
		}
		head = b[:len(b)-1]
		if g.headers == nil {
			g.headers = map[view][]byte{}
		}
		g.headers[v] = head
	}
	if !g.snapBuilt || g.snapSeq != h.seq || g.snapVer != g.metaVer {
		size := 2
		for _, t := range g.meta.Targets {
			size += 200
			if ts := g.targets[t.ID]; ts != nil {
				size += ts.n * 48
			}
		}
		g.snapTgts = appendTargets(make([]byte, 0, size), g, time.Now())
		g.snapSeq, g.snapVer, g.snapBuilt = h.seq, g.metaVer, true
	}
	return outbound{parts: [][]byte{prefix, head, targetsKey, g.snapTgts, groupSuffix}, kind: kind}
}
