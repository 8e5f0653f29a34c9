package live

import (
	"cmp"
	"slices"
)

// Resume: a client that reconnects within the window gets exactly the results it
// missed, from each group's ring, instead of fresh snapshots.

// maxGonePerUser bounds how many closed sockets of one user are remembered.
const maxGonePerUser = 8

// goneSocket is what a closed socket followed, kept for the resume window so that a
// client resuming from it can tell groups it had from groups added during the gap.
type goneSocket struct {
	seq  uint64 // when it closed
	subs []goneSub
}

type goneSub struct {
	id     string
	joined uint64
}

// canReplay reports whether the cuts after since are all still kept.
func (h *Hub) canReplay(token string, since uint64) bool {
	return token == h.token && since <= h.seq && h.seq-since <= h.ringCuts
}

// remember keeps what a closing socket followed. h.mu is held.
func (h *Hub) remember(c *client) {
	if len(c.subs) == 0 {
		return
	}
	g := goneSocket{seq: h.seq, subs: make([]goneSub, 0, len(c.subs))}
	for id, s := range c.subs {
		g.subs = append(g.subs, goneSub{id: id, joined: s.joined})
	}
	list := h.gone[c.viewer.UserID]
	if len(list) >= maxGonePerUser {
		list = slices.Delete(list, 0, 1)
	}
	h.gone[c.viewer.UserID] = append(list, g)
}

// forgetGone drops closed sockets older than seq. h.mu is held.
func (h *Hub) forgetGone(seq uint64) {
	for user, list := range h.gone {
		list = slices.DeleteFunc(list, func(g goneSocket) bool { return g.seq < seq })
		if len(list) == 0 {
			delete(h.gone, user)
		} else {
			h.gone[user] = list
		}
	}
}

// maxOpenScanned bounds how many of a user's open sockets a resume looks at: a wall
// of screens sharing one account must not make every resume cost all of them.
const maxOpenScanned = 32

// knownGroups is the set of groups that c's user followed, on some socket open at
// since, from before since: the groups a client resuming from since has already.
// (A user's sockets are not told apart: with several tabs following different
// groups, a group another tab had counts as known. A group left out only costs a
// snapshot.) h.mu is held.
func (h *Hub) knownGroups(c *client, since uint64) map[string]bool {
	known := map[string]bool{}
	for _, g := range h.gone[c.viewer.UserID] {
		if g.seq < since {
			continue
		}
		for _, s := range g.subs {
			if s.joined < since { // at since itself: it may not have had it yet
				known[s.id] = true
			}
		}
	}
	scanned := 0
	for other := range h.byUser[c.viewer.UserID] {
		if other == c {
			continue
		}
		if scanned++; scanned > maxOpenScanned {
			break
		}
		for id, s := range other.subs {
			if s.joined < since { // at since itself: it may not have had it yet
				known[id] = true
			}
		}
	}
	return known
}

// resume replays the results after since, or sends fresh snapshots when they are gone
// or more than the client may have queued. A snapshot already queued is not queued
// again, so asking over and over adds nothing.
func (h *Hub) resume(c *client, token string, since uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.subs == nil {
		return
	}
	if h.canReplay(token, since) && h.replay(c, since) {
		return
	}
	h.snapshotAll(c)
}

// replayBudget is the share of MaxQueuedBytes a replay may fill: past it the client
// gets snapshots instead, and the live stream after the replay still has room.
func (h *Hub) replayBudget() int { return h.opt.MaxQueuedBytes / 2 }

// replay queues the kept results after since for c's groups, in messages of up to
// slotCount consecutive cuts each (as the live stream sends them), and continues the
// live stream after them. It queues nothing and reports false when they would take
// more than replayBudget with what c has queued already. Groups whose snapshot is
// queued get nothing: the snapshot carries them. h.mu is held.
func (h *Hub) replay(c *client, since uint64) bool {
	room := h.replayBudget() - c.queuedBytes()
	need := 0
	for _, s := range c.subs {
		if s.awaitingSnapshot {
			continue
		}
		for _, it := range s.g.after(since) {
			need += itemBytes(s.g, &it.liveItem)
		}
	}
	if need > room {
		return false
	}
	type piece struct {
		seq  uint64
		frag []byte
	}
	var pieces []piece
	var cut []liveItem
	for _, s := range c.subs {
		if s.awaitingSnapshot {
			continue
		}
		kept := s.g.after(since)
		for i := 0; i < len(kept); {
			seq := kept[i].seq
			for ; i < len(kept) && kept[i].seq == seq; i++ {
				cut = append(cut, kept[i].liveItem)
			}
			pieces = append(pieces, piece{seq, encodeItems(s.g, cut)})
			clear(cut)
			cut = cut[:0]
		}
		s.from = h.seq
	}
	c.sent = h.seq
	slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(a.seq, b.seq) })
	for i := 0; i < len(pieces); {
		end := pieces[i].seq + uint64(h.slotCount) // this message: cuts before end
		var parts [][]byte
		last := pieces[i].seq
		for ; i < len(pieces) && pieces[i].seq < end; i++ {
			parts = append(parts, pieces[i].frag)
			last = pieces[i].seq
		}
		parts[0] = parts[0][1:]
		parts = append(append([][]byte{resultsPrefix(last)}, parts...), resultsSuffix)
		c.send(outbound{parts: parts, kind: kindReplay})
	}
	return true
}
