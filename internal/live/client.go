package live

import (
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

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
// when the queue is empty. Thousands of idle sockets thus hold one goroutine each. The
// flush loop may instead write a results message itself when nothing else is queued
// and the send buffer has room (enqueue, writeInline); the socket is then claimed the
// same way, so there is still one writer at a time.
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

	raw syscall.RawConn // for asking the kernel how full the send buffer is; nil: never written inline

	qmu      sync.Mutex
	queue    []outbound
	ticks    int  // counted messages queued or being written
	writing  bool // a drain or an inline write is running (or the socket is finished)
	finished bool // the reader is done: nothing is written any more
	closing  bool
	code     int
	reason   string

	readerDone chan struct{}
}

func newClient(h *Hub, conn *websocket.Conn, v Viewer) *client {
	c := &client{hub: h, conn: conn, viewer: v, subs: map[string]*subscription{}, dashboard: true,
		readerDone: make(chan struct{})}
	if conn != nil {
		if sc, ok := conn.NetConn().(syscall.Conn); ok {
			c.raw, _ = sc.SyscallConn()
		}
	}
	return c
}

// send queues a message without blocking. A client with MaxQueuedTicks results
// messages unwritten is too slow: it is closed with 4429 and the message dropped.
func (c *client) send(o outbound) { c.enqueue(o, false) }

// enqueue queues o like send; but when inline is asked for and nothing else is being
// written or waiting, it instead claims the socket for the caller to write o itself
// (writeInline) and reports true.
func (c *client) enqueue(o outbound, inline bool) bool {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		c.recycle(&o)
		return false
	}
	if o.counted {
		if c.ticks >= c.hub.opt.MaxQueuedTicks {
			c.qmu.Unlock()
			c.recycle(&o)
			c.hub.m.slow.Inc()
			c.kick(CloseTooSlow, "too slow: the connection cannot keep up with the stream")
			return false
		}
		c.ticks++
	}
	if inline && c.raw != nil && !c.writing && len(c.queue) == 0 {
		c.writing = true
		c.qmu.Unlock()
		return true
	}
	c.queue = append(c.queue, o)
	c.startDrain()
	c.qmu.Unlock()
	return false
}

// writeInline writes o, claimed by enqueue, from the caller's goroutine if the socket's
// send buffer has room for it, so the write does not wait for the peer; otherwise, or
// when inTime is false, o goes to a drain like any queued message.
func (c *client) writeInline(o outbound, inTime bool) {
	if !inTime || !c.hasRoom(o.size()) {
		c.qmu.Lock()
		defer c.qmu.Unlock()
		switch {
		case c.finished: // writing stays set
			c.ticks--
			c.recycle(&o)
		case c.closing: // kicked meanwhile: the drain sends the close
			c.ticks--
			c.recycle(&o)
			c.writing = false
			c.startDrain()
		default:
			c.writing = false
			c.queue = append([]outbound{o}, c.queue...)
			c.startDrain()
		}
		return
	}
	err := c.write(&o, inlineWriteWait)
	c.recycle(&o)
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.ticks--
	switch {
	case c.finished:
	case err != nil:
		c.closing = true // writing stays set: no writes after this; the reader's end closes the socket
		c.conn.Close()
	default:
		c.writing = false
		if len(c.queue) > 0 || c.closing {
			c.startDrain()
		}
	}
}

// inlineWriteWait bounds an inline write: it had room in the send buffer, so it only
// waits for the kernel to copy it (well under a millisecond). A write that blocks anyway
// fails and closes the socket (the client reconnects and resumes) rather than holding up
// the flush loop for longer; the bound is loose so that a busy machine descheduling the
// loop's thread for a moment does not cut healthy sockets.
const inlineWriteWait = time.Second

// hasRoom tells whether n more bytes fit the socket's send buffer without waiting: the
// bytes not yet acknowledged (SIOCOUTQ) plus n, with room for the kernel's per-buffer
// overhead, stay under half of SO_SNDBUF (the kernel counts buffers at up to twice their
// payload).
func (c *client) hasRoom(n int) bool {
	room := false
	_ = c.raw.Control(func(fd uintptr) {
		queued, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		if err != nil {
			return
		}
		size, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		room = err == nil && queued+n+4096 < size/2
	})
	return room
}

func (o *outbound) size() int {
	n := 0
	for _, p := range o.parts {
		n += len(p)
	}
	return n
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
	c.closing, c.writing, c.finished = true, true, true
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
			err := c.write(&batch[i], c.hub.opt.WriteWait)
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
// parts into the connection's pooled write buffer, within wait.
func (c *client) write(o *outbound, wait time.Duration) error {
	h := c.hub
	deadline := time.Now().Add(wait)
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
