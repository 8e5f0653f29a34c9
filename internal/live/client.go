package live

import (
	"encoding/binary"
	"errors"
	"io"
	"iter"
	"net"
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
	written int       // bytes of its frame an inline write sent; the drain sends the rest
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
// (enqueue, writeInline), in one nonblocking writev; the socket is then claimed the
// same way, so there is still one writer at a time, and what the kernel did not take
// goes to the drain (framegate.go keeps the frame whole).
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

	gate *gatedConn // the connection, for the flush loop's direct writes; nil: never written inline

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

func newClient(h *Hub, conn *websocket.Conn, gate *gatedConn, v Viewer) *client {
	return &client{hub: h, conn: conn, gate: gate, viewer: v, subs: map[string]*subscription{}, dashboard: true,
		readerDone: make(chan struct{})}
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
	if inline && c.gate != nil && !c.writing && len(c.queue) == 0 {
		c.writing = true
		c.qmu.Unlock()
		return true
	}
	c.queue = append(c.queue, o)
	c.startDrain()
	c.qmu.Unlock()
	return false
}

// writeInline writes o, claimed by enqueue, from the caller's goroutine: one
// nonblocking writev of the whole frame, so it never waits for the peer. What the
// kernel does not take at once (a full send buffer), and all of o when inTime is false,
// goes to the socket's drain, which writes the rest before anything else.
func (c *client) writeInline(o outbound, inTime bool, scratch *frameScratch) {
	var err error
	if inTime {
		o.written, err = c.writeNonblocking(&o, scratch)
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	over := err != nil || c.finished || o.written == frameSize(o.size()) || (c.closing && o.written == 0)
	if !over { // the rest first, then what was queued meanwhile (a close waits for a begun frame)
		c.writing = false
		c.queue = append([]outbound{o}, c.queue...)
		c.startDrain()
		return
	}
	c.ticks--
	c.recycle(&o)
	switch {
	case c.finished: // writing stays set
	case err != nil:
		c.closing = true // writing stays set: no writes after this; the reader's end closes the socket
		c.conn.Close()
	default: // written whole, or dropped because the socket is being closed (the drain sends the close)
		c.writing = false
		if len(c.queue) > 0 || c.closing {
			c.startDrain()
		}
	}
}

// writeNonblocking hands the kernel as much of o's frame (header and parts) as its send
// buffer takes now, in one writev that never waits, and returns how many bytes it
// took. A full buffer is not an error, nor a pong the reader is writing; a broken
// connection is.
func (c *client) writeNonblocking(o *outbound, scratch *frameScratch) (int, error) {
	size := frameSize(o.size())
	n, err := c.gate.beginFrame(scratch.vector(o), size)
	scratch.release()
	if errors.Is(err, errGateBusy) {
		return 0, nil
	}
	if err == nil && n == size {
		c.hub.countSent(o, o.size())
	}
	return n, err
}

// maxFrameHeader is the longest WebSocket frame header a server writes (no mask).
const maxFrameHeader = 10

// frameHeader is the header of one final, unmasked text frame of n payload bytes.
func frameHeader(buf *[maxFrameHeader]byte, n int) []byte {
	buf[0] = 0x80 | websocket.TextMessage // FIN
	switch {
	case n < 126:
		buf[1] = byte(n)
		return buf[:2]
	case n <= 0xffff:
		buf[1] = 126
		binary.BigEndian.PutUint16(buf[2:], uint16(n))
		return buf[:4]
	default:
		buf[1] = 127
		binary.BigEndian.PutUint64(buf[2:], uint64(n))
		return buf[:10]
	}
}

// framePieces yields o's frame in order: its header (built in hdr), then its parts.
func (o *outbound) framePieces(hdr *[maxFrameHeader]byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if !yield(frameHeader(hdr, o.size())) {
			return
		}
		for _, p := range o.parts {
			if !yield(p) {
				return
			}
		}
	}
}

// frameSize is the length of a text frame of n payload bytes, header included.
func frameSize(n int) int {
	var hdr [maxFrameHeader]byte
	return len(frameHeader(&hdr, n)) + n
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
	c.dropQueued()
	c.startDrain()
	c.qmu.Unlock()
	if c.conn != nil && (code == CloseTooSlow || code == websocket.CloseGoingAway) { // nil: a routing test's client
		_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
	}
}

// dropQueued drops what is queued but the rest of a frame already begun, which must
// still go out before a close frame can. c.qmu is held.
func (c *client) dropQueued() {
	keep := c.queue[:0]
	for i := range c.queue {
		if c.queue[i].written > 0 {
			keep = append(keep, c.queue[i])
		} else {
			c.recycle(&c.queue[i])
		}
	}
	clear(c.queue[len(keep):])
	c.queue = keep
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
			begun := c.queue // at most the rest of a frame begun inline (dropQueued)
			c.queue = nil
			c.qmu.Unlock() // writing stays set: no writer after this one
			if c.finishBegun(begun) {
				c.closeWith(code, reason)
			}
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

// finishBegun writes the rest of frames begun inline, within closeRestWait, so that
// a close frame can follow; it reports whether they went out.
func (c *client) finishBegun(begun []outbound) bool {
	ok := true
	for i := range begun {
		if ok && c.writeRest(&begun[i], time.Now().Add(closeRestWait)) != nil {
			ok = false
		}
		c.recycle(&begun[i])
	}
	return ok
}

// closeRestWait bounds finishing a begun frame on a socket being closed: a peer that
// does not read gets no close frame rather than holding its writer.
const closeRestWait = time.Second

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
	deadline := time.Now().Add(wait)
	if o.kind == kindPing {
		return c.conn.WriteControl(websocket.PingMessage, nil, deadline)
	}
	if o.written > 0 {
		return c.writeRest(o, deadline)
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
	c.hub.countSent(o, n)
	return nil
}

// writeRest writes what an inline write left of o's frame (o.written bytes of it went
// out), straight to the connection: the frame was begun outside the WebSocket writer.
func (c *client) writeRest(o *outbound, deadline time.Time) error {
	var hdr [maxFrameHeader]byte
	skip := o.written
	rest := make(net.Buffers, 0, len(o.parts)+1)
	for b := range o.framePieces(&hdr) {
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		rest = append(rest, b[skip:])
		skip = 0
	}
	if err := c.gate.finishFrame(rest, deadline); err != nil {
		return err
	}
	c.hub.countSent(o, o.size())
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
