package live

import (
	"errors"
	"io"
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
// most of them bytes shared with every other follower.
type outbound struct {
	parts   [][]byte
	kind    msgKind
	tick    time.Time // for results: when the tick was flushed
	counted bool      // a live results message, bounded by MaxQueuedTicks
	pooled  bool      // parts goes back to the hub's pool once written
}

func message(kind msgKind, b []byte) outbound { return outbound{parts: [][]byte{b}, kind: kind} }

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
	joined uint64 // the seq when the client started following the group
}

// client is one WebSocket. Its reader handles what the browser sends. Writing needs
// no goroutine of its own while there is nothing to write: whoever queues a message
// to an idle client starts a drain, the only goroutine writing at a time, which ends
// when the queue is empty. Thousands of idle sockets thus hold one goroutine each.
type client struct {
	hub    *Hub
	conn   *websocket.Conn
	viewer Viewer

	// Guarded by hub.mu.
	subs      map[string]*subscription // followed groups
	dashboard bool                     // following the dashboard (no subscribe sent yet)
	started   bool                     // hello sent; in a flush slot
	slot, at  int                      // flush slot and index in it
	sent      uint64                   // results up to this seq are queued
	ping      time.Time                // last ping queued

	qmu     sync.Mutex
	queue   []outbound
	ticks   int  // counted messages queued or being written
	writing bool // a drain is running (or the socket is finished)
	closing bool
	code    int
	reason  string

	readerDone chan struct{}
}

func newClient(h *Hub, conn *websocket.Conn, v Viewer) *client {
	return &client{hub: h, conn: conn, viewer: v, subs: map[string]*subscription{}, dashboard: true,
		readerDone: make(chan struct{})}
}

// send queues a message without blocking. A client with MaxQueuedTicks results
// messages unwritten is too slow: it is closed with 4429 and the message dropped.
func (c *client) send(o outbound) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		c.recycle(&o)
		return
	}
	if o.counted {
		if c.ticks >= c.hub.opt.MaxQueuedTicks {
			c.qmu.Unlock()
			c.recycle(&o)
			c.hub.m.slow.Inc()
			c.kick(CloseTooSlow, "too slow: the connection cannot keep up with the stream")
			return
		}
		c.ticks++
	}
	c.queue = append(c.queue, o)
	c.startDrain()
	c.qmu.Unlock()
}

// startDrain starts the writer unless one runs. c.qmu is held.
func (c *client) startDrain() {
	if c.writing {
		return
	}
	c.writing = true
	c.hub.clientsWG.Add(1)
	go c.drain()
}

// kick makes the writer close the socket with code, dropping what is queued. A writer
// stuck on a peer that does not read is cut loose within a second.
func (c *client) kick(code int, reason string) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		return
	}
	c.closing, c.code, c.reason = true, code, reason
	for i := range c.queue {
		c.recycle(&c.queue[i])
	}
	clear(c.queue)
	c.queue = nil
	c.startDrain()
	c.qmu.Unlock()
	if c.conn != nil && (code == CloseTooSlow || code == websocket.CloseGoingAway) { // nil: a routing test's client
		_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
	}
}

func (c *client) recycle(o *outbound) {
	if o.pooled {
		c.hub.putParts(o.parts)
		o.parts, o.pooled = nil, false
	}
}

// finish ends writing for good when the reader is done: no drain starts after this,
// and one still running fails on the closed connection.
func (c *client) finish() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.closing, c.writing = true, true
	for i := range c.queue {
		c.recycle(&c.queue[i])
	}
	clear(c.queue)
	c.queue = nil
}

func (c *client) isClosing() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.closing
}

// drain writes queued messages until the queue is empty; it closes the socket when the
// client is kicked or a write fails.
func (c *client) drain() {
	defer c.hub.clientsWG.Done()
	var batch []outbound
	for {
		c.qmu.Lock()
		if c.closing {
			code, reason := c.code, c.reason
			c.qmu.Unlock() // writing stays set: no writer after this one
			c.closeWith(code, reason)
			c.conn.Close()
			return
		}
		if len(c.queue) == 0 {
			if cap(c.queue) == 0 {
				c.queue = batch[:0] // keep one slice for the next messages
			}
			c.writing = false
			c.qmu.Unlock()
			return
		}
		batch, c.queue = c.queue, nil
		c.qmu.Unlock()
		for i := range batch {
			err := c.write(&batch[i])
			c.recycle(&batch[i])
			if err != nil {
				c.qmu.Lock()
				for j := i + 1; j < len(batch); j++ {
					c.recycle(&batch[j])
				}
				c.closing = true // no more writes; the reader's end closes the socket
				c.qmu.Unlock()
				c.conn.Close()
				return
			}
			if batch[i].counted {
				c.qmu.Lock()
				c.ticks--
				c.qmu.Unlock()
			}
			batch[i] = outbound{}
		}
	}
}

// closeWith sends the close frame and waits a little for the peer's answer, so the
// peer reads the code before the connection goes.
func (c *client) closeWith(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	if c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.hub.opt.WriteWait)) != nil {
		return
	}
	select {
	case <-c.readerDone:
	case <-time.After(c.hub.opt.CloseGrace):
	}
}

// write writes one message as one frame (a long one in fragments) straight from its
// parts into the connection's pooled write buffer.
func (c *client) write(o *outbound) error {
	h := c.hub
	deadline := time.Now().Add(h.opt.WriteWait)
	if o.kind == kindPing {
		return c.conn.WriteControl(websocket.PingMessage, nil, deadline)
	}
	_ = c.conn.SetWriteDeadline(deadline)
	n := 0
	var err error
	if len(o.parts) == 1 {
		n = len(o.parts[0])
		err = c.conn.WriteMessage(websocket.TextMessage, o.parts[0])
	} else {
		var w io.WriteCloser
		if w, err = c.conn.NextWriter(websocket.TextMessage); err == nil {
			for _, p := range o.parts {
				if _, err = w.Write(p); err != nil {
					break
				}
				n += len(p)
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		return err
	}
	h.m.messages[o.kind].Inc()
	h.m.bytes.Add(float64(n))
	if o.kind == kindResults {
		h.m.delivery.Observe(time.Since(o.tick).Seconds())
	}
	return nil
}

// readPump starts the client's stream, then handles what it sends until the socket
// closes; then it takes the client out of the hub.
func (c *client) readPump(r resumeRequest) {
	h := c.hub
	defer h.clientsWG.Done()
	defer close(c.readerDone)
	defer c.conn.Close()
	defer c.finish()
	defer h.unregister(c)
	c.conn.SetReadLimit(maxMessageBytes)
	extend := func() { _ = c.conn.SetReadDeadline(time.Now().Add(h.opt.PongWait)) }
	extend()
	c.conn.SetPongHandler(func(string) error { extend(); return nil })
	h.start(c, r)
	for {
		_, data, err := c.conn.ReadMessage()
		if errors.Is(err, websocket.ErrReadLimit) {
			// gorilla has sent 1009. Read what the peer is still sending for a moment:
			// closing with unread data would reset the connection before the peer
			// reads the close frame.
			_ = c.conn.NetConn().SetReadDeadline(time.Now().Add(h.opt.CloseGrace))
			_, _ = io.CopyN(io.Discard, c.conn.NetConn(), 4*maxMessageBytes)
		}
		if err != nil {
			return
		}
		extend()
		if !c.isClosing() {
			h.handle(c, data)
		}
	}
}
