package live

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

// Viewer is who a socket belongs to, as the HTTP layer authenticated them.
type Viewer struct {
	UserID      string
	Username    string
	DisplayName string
	IsAdmin     bool
	Credential  auth.Credential
}

func (v *Viewer) actor() groups.Actor { return groups.Actor{UserID: v.UserID, IsAdmin: v.IsAdmin} }

// outbound is one message waiting for a client's writer: the concatenation of parts,
// most of them bytes shared with every other follower. A group message (snapshot or
// group_updated) has no parts while it waits: it names its group, and the writer has
// it built when it gets to it (groupmsg.go).
type outbound struct {
	parts   [][]byte
	kind    msgKind
	group   string    // a group message to build when written; parts is nil
	flushed time.Time // for results: when its slot was flushed
	pooled  bool      // parts goes back to the hub's pool once written
	bytes   int       // what it counts toward the client's MaxQueuedBytes
}

func message(kind msgKind, b []byte) outbound { return outbound{parts: [][]byte{b}, kind: kind} }

func (o *outbound) size() int {
	n := 0
	for _, p := range o.parts {
		n += len(p)
	}
	return n
}

// groupMessageBytes is what a queued group message counts toward MaxQueuedBytes before
// it is built: about its own bookkeeping, since its bytes do not exist yet.
const groupMessageBytes = 128

// view is how one user sees a group: their role and whether they pinned it.
type view struct {
	role   groups.Role
	pinned bool
}

// subscription is one group a client follows.
type subscription struct {
	g *groupState
	view
	from   uint64 // the client has the group's results up to this seq (in a snapshot)
	joined uint64 // the position when the client started following the group
	// awaitingSnapshot: a snapshot of the group is queued and not built yet; the
	// group's results wait for it (the snapshot carries them).
	awaitingSnapshot bool
}

// client is one WebSocket, in the shape of gorilla's chat example: a reader goroutine
// (reader.go) handles what the browser sends, and one writer goroutine (writer.go) is
// the only one to write to the connection, from a queue bounded in bytes. Whoever has
// something for the client queues it with send, which never blocks: a client whose
// queue would pass MaxQueuedBytes is too slow and is closed with 4429.
type client struct {
	hub    *Hub
	conn   *websocket.Conn // nil in routing tests, which read the queue instead
	viewer Viewer

	// Guarded by hub.mu.
	subs      map[string]*subscription // followed groups
	groupMsgs map[string]groupMsg      // group messages queued and not built yet, by group; nil when none
	dashboard bool                     // following the dashboard (no subscribe sent yet)
	started   bool                     // hello sent; in a flush slot
	slot, at  int                      // flush slot and index in it
	sent      uint64                   // results up to this seq are queued

	qmu     sync.Mutex
	queue   []outbound
	spare   []outbound // the writer's emptied batch, reused as the next queue when small
	queued  int        // bytes of the messages queued or being written (outbound.bytes)
	closing bool       // no more messages: the writer sends the close frame, if any, and ends
	code    int        // the close code to send; 0 sends none
	reason  string

	wake       chan struct{} // something was queued, or the client is closing (1 buffered)
	readerDone chan struct{} // closed when the reader has ended
}

func newClient(h *Hub, conn *websocket.Conn, v Viewer) *client {
	return &client{hub: h, conn: conn, viewer: v, subs: map[string]*subscription{}, dashboard: true,
		wake: make(chan struct{}, 1), readerDone: make(chan struct{})}
}

// send queues a message for the writer without blocking. Every kind counts toward one
// bound in bytes (MaxQueuedBytes), from the moment it is queued until its write
// returns: a client that would pass it cannot keep up and is closed with 4429, and the
// message is dropped.
func (c *client) send(o outbound) {
	o.bytes = o.size()
	if o.group != "" {
		o.bytes = groupMessageBytes
	}
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		c.recycle(&o)
		return
	}
	if c.queued+o.bytes > c.hub.opt.MaxQueuedBytes {
		c.qmu.Unlock()
		c.recycle(&o)
		c.hub.m.slow.Inc()
		c.kick(CloseTooSlow, "too slow: the connection cannot keep up with the stream")
		return
	}
	c.queued += o.bytes
	c.queue = append(c.queue, o)
	c.qmu.Unlock()
	c.signal()
}

// signal wakes the writer.
func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// kick makes the writer close the socket with code, dropping what is queued. A write
// stuck on a peer that does not read is cut loose within kickWriteWait.
func (c *client) kick(code int, reason string) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		return
	}
	c.closing, c.code, c.reason = true, code, reason
	c.dropQueued()
	c.qmu.Unlock()
	c.signal()
	if c.conn != nil {
		// The underlying connection's deadline: gorilla's own is the writer's to set.
		_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(kickWriteWait))
	}
}

// kickWriteWait bounds the write under way when its client is closed (a peer that
// does not read gets no close frame rather than holding the writer), and the close
// frame after it.
const kickWriteWait = 2 * time.Second

// dropQueued forgets every queued message. c.qmu is held.
func (c *client) dropQueued() {
	for i := range c.queue {
		c.queued -= c.queue[i].bytes
		c.recycle(&c.queue[i])
	}
	clear(c.queue)
	c.queue = c.queue[:0]
}

// done accounts for a message the writer has written (or given up on): its bytes leave
// the bound and its parts go back to the pool. It reports whether the client is closing.
func (c *client) done(o *outbound) bool {
	c.recycle(o)
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.queued -= o.bytes
	return c.closing
}

func (c *client) recycle(o *outbound) {
	if o.pooled {
		c.hub.putParts(o.parts)
		o.parts, o.pooled = nil, false
	}
}

// finish ends the client for good when the reader is done: nothing is queued or
// written after this.
func (c *client) finish() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.closing, c.code = true, 0
	c.dropQueued()
}

func (c *client) isClosing() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.closing
}

// queuedBytes is what the client has waiting, in bytes.
func (c *client) queuedBytes() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.queued
}
