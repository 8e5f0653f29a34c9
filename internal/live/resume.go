package live

import (
	"cmp"
	"slices"
	"time"
)

// Resume: a client that reconnects within the window gets exactly the results it
// missed, from each group's ring, instead of fresh snapshots. A results message's seq
// is a position: its cut's time (posUnit since 1970, made to grow), so positions of
// replicas whose clocks agree compare. With a token the replicas share
// (Options.ResumeToken) a client may resume on any of them: another replica replays
// from ResumeSkew before since (the client drops what it has already) the groups it
// has kept since then, and sends the others' snapshots.
// maxGonePerUser bounds how many closed sockets of one user are remembered.
const maxGonePerUser = 8

// goneSocket is what a closed socket followed, kept for the resume window so that a
// client resuming from it can tell groups it had from groups added during the gap.
type goneSocket struct {
	pos  uint64 // when it closed
	subs []goneSub
}

type goneSub struct {
	id     string
	joined uint64
}

// canReplay reports whether a client may resume from position since with token: the
// token is this hub's, since is not ahead (with a shared token: not past the wall
// clock and the skew, so no client can move positions far ahead), and what came after
// it is still kept. h.mu is held.
func (h *Hub) canReplay(token string, since uint64) bool {
	if token != h.token {
		return false
	}
	ahead := h.pos
	if h.skew > 0 {
		ahead = h.now() + h.skew
	}
	return since <= ahead && h.replayFrom(since) >= h.oldestKept()
}

// replayFrom is where a replay to a client that had everything up to since starts:
// since itself when only this hub makes positions, ResumeSkew earlier when since may
// be another replica's.
func (h *Hub) replayFrom(since uint64) uint64 { return since - min(since, h.skew) }

// now is the position of the wall clock, or past it when the cuts are. h.mu is held.
func (h *Hub) now() uint64 { return max(h.pos, h.floor, position(time.Now())) }

// remember keeps what a closing socket followed. h.mu is held.
func (h *Hub) remember(c *client) {
	if len(c.subs) == 0 {
		return
	}
	g := goneSocket{pos: h.pos, subs: make([]goneSub, 0, len(c.subs))}
	for id, s := range c.subs {
		g.subs = append(g.subs, goneSub{id: id, joined: s.joined})
	}
	list := h.gone[c.viewer.UserID]
	if len(list) >= maxGonePerUser {
		list = slices.Delete(list, 0, 1)
	}
	h.gone[c.viewer.UserID] = append(list, g)
}

// forgetGone drops closed sockets older than position pos. h.mu is held.
func (h *Hub) forgetGone(pos uint64) {
	for user, list := range h.gone {
		list = slices.DeleteFunc(list, func(g goneSocket) bool { return g.pos < pos })
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
		if g.pos < since {
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

// hadOnAnotherReplica reports, with a shared token, whether a client of userID resuming
// from since surely had group id, though it may have followed it on another replica:
// this hub has kept the group since before, and neither the user's dashboard nor who
// may see the group has changed since then (every replica hears every change). h.mu
// is held.
func (h *Hub) hadOnAnotherReplica(userID, id string, since uint64) bool {
	if h.skew == 0 {
		return false
	}
	from := h.replayFrom(since)
	g := h.groups[id]
	return g != nil && g.since <= from && h.dashChanged[userID] <= from && h.accessChanged[id] <= from
}

// forgetChanges drops the dashboard and viewer changes at or before position oldest:
// no resume reaches back to them. h.mu is held.
func (h *Hub) forgetChanges(oldest uint64) {
	for _, m := range []map[string]uint64{h.dashChanged, h.accessChanged} {
		for k, p := range m {
			if p <= oldest {
				delete(m, k)
			}
		}
	}
}

// noteChange records, with a shared token, that key's dashboard or viewers changed
// now. h.mu is held.
func (h *Hub) noteChange(m map[string]uint64, key string) {
	if h.skew > 0 {
		m[key] = h.now()
	}
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
// live stream after them. A group this hub has not kept since then gets a snapshot
// instead. It queues nothing and reports false when the replay would take more than
// replayBudget with what c has queued already. Groups whose snapshot is queued get
// nothing: the snapshot carries them. Every message's seq is past since and past the
// one before, so a client that drops what it has seen takes them all. h.mu is held.
func (h *Hub) replay(c *client, since uint64) bool {
	from := h.replayFrom(since)
	room := h.replayBudget() - c.queuedBytes()
	need := 0
	var kept, gone []*subscription
	for _, s := range c.subs {
		switch {
		case s.awaitingSnapshot:
		case s.g.since > from:
			gone = append(gone, s)
		default:
			kept = append(kept, s)
			for _, it := range s.g.after(from) {
				need += itemBytes(s.g, &it.liveItem)
			}
		}
	}
	if need > room {
		return false
	}
	type piece struct {
		seq  uint64
		pos  uint64
		frag []byte
	}
	var pieces []piece
	var cut []liveItem
	for _, s := range kept {
		items := s.g.after(from)
		for i := 0; i < len(items); {
			seq, pos := items[i].seq, items[i].pos
			for ; i < len(items) && items[i].seq == seq; i++ {
				cut = append(cut, items[i].liveItem)
			}
			pieces = append(pieces, piece{seq, pos, encodeItems(s.g, cut)})
			clear(cut)
			cut = cut[:0]
		}
		s.from = h.seq
	}
	for _, s := range gone {
		h.queueGroupMessage(c, s, groupSnapshot)
	}
	c.sent = h.seq
	slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(a.seq, b.seq) })
	label := since // the seq of the last message the client has
	for i := 0; i < len(pieces); {
		end := pieces[i].seq + uint64(h.slotCount) // this message: cuts before end
		var parts [][]byte
		last := pieces[i].pos
		for ; i < len(pieces) && pieces[i].seq < end; i++ {
			parts = append(parts, pieces[i].frag)
			last = pieces[i].pos
		}
		label = max(last, label+1)
		parts[0] = parts[0][1:]
		parts = append(append([][]byte{resultsPrefix(label)}, parts...), resultsSuffix)
		c.send(outbound{parts: parts, kind: kindReplay})
	}
	// The live stream goes on past what this client has seen, here or elsewhere.
	h.floor = max(h.floor, label+1)
	return true
}
