package live

import "time"

// Group messages (snapshot, group_updated) carry a group's every target with its live
// state: megabytes for a group of thousands of targets. They are not built when they
// are asked for but when the client's writer gets to them, so that a client holds at
// most one of them at a time however often it asks, and what it gets is the group as
// it is then. A client has at most one group message per group queued: asking again
// while one waits adds nothing (a snapshot asked for while a group_updated waits turns
// that into a snapshot).

// groupMsg is which group message a client is owed.
type groupMsg int

const (
	groupUpdate   groupMsg = iota + 1 // group_updated: settings or role changed
	groupSnapshot                     // snapshot: the group from scratch; results resume after it
)

// queueGroupMessage owes c message m about the group of s, unless one is already
// queued. h.mu is held.
func (h *Hub) queueGroupMessage(c *client, s *subscription, m groupMsg) {
	if m == groupSnapshot {
		s.awaitingSnapshot = true
	}
	id := s.g.id
	if queued, ok := c.groupMsgs[id]; ok {
		c.groupMsgs[id] = max(queued, m)
		return
	}
	if c.groupMsgs == nil {
		c.groupMsgs = map[string]groupMsg{}
	}
	c.groupMsgs[id] = m
	kind := kindControl
	if m == groupSnapshot {
		kind = kindSnapshot
	}
	c.send(outbound{group: id, kind: kind})
}

// takeGroupMessage builds the group message c is owed about group id, for its writer.
// It reports false when none is owed any more (c stopped following the group). After
// a snapshot, c's results of the group continue from the seq it was built at.
func (h *Hub) takeGroupMessage(c *client, id string) (outbound, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := c.groupMsgs[id]
	if !ok {
		return outbound{}, false
	}
	delete(c.groupMsgs, id)
	if len(c.groupMsgs) == 0 {
		c.groupMsgs = nil // most clients owe none most of the time: no map kept for them
	}
	s := c.subs[id]
	if s == nil {
		return outbound{}, false
	}
	if s.g.meta == nil { // not loaded: nothing to show, and the results go on
		s.awaitingSnapshot = false
		return outbound{}, false
	}
	if m == groupSnapshot {
		s.from, s.awaitingSnapshot = h.seq, false
		return h.groupMessage(s.g, s.view, snapshotPrefix, kindSnapshot), true
	}
	return h.groupMessage(s.g, s.view, updatedPrefix, kindControl), true
}

// groupMessage is a snapshot or group_updated for a follower with view v: the group
// object (encoded once per role and pin, as the REST API has it) and its targets with live state (encoded
// once per seq), shared by every follower. h.mu is held.
func (h *Hub) groupMessage(g *groupState, v view, prefix []byte, kind msgKind) outbound {
	head := g.headers[v]
	if head == nil {
		head = groupHead(g.meta, v)
		if g.headers == nil {
			g.headers = map[view][]byte{}
		}
		g.headers[v] = head
	}
	if !g.snapBuilt || g.snapSeq != h.seq || g.snapVer != g.metaVer {
		size := 2
		locs := h.locationsOf(g.meta)
		for _, t := range g.meta.Targets {
			for _, loc := range locs {
				size += 200
				if ts := g.targets[targetKey{t.ID, loc}]; ts != nil {
					size += ts.n * 48
				}
			}
		}
		g.snapTgts = appendTargets(make([]byte, 0, size), g, locs, h.online, time.Now())
		g.snapSeq, g.snapVer, g.snapBuilt = h.seq, g.metaVer, true
	}
	return outbound{parts: [][]byte{prefix, head, targetsKey, g.snapTgts, groupSuffix}, kind: kind}
}
