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
	tick    time.Time // for results: when the tick was cut
	counted bool      // a live results message, bounded by MaxQueuedTicks
}

func message(kind msgKind, b []byte) outbound { return outbound{parts: [][]byte{b}, kind: kind} }

// client is one WebSocket. Its reader handles what the browser sends; its writer is the
// only goroutine that writes messages. Between them and the hub sits a bounded queue.
type client struct {
	hub    *Hub
	conn   *websocket.Conn
	viewer Viewer

	// Guarded by hub.mu.
	subs      map[string]groups.Role // followed groups and the viewer's role in each
	dashboard bool                   // following the dashboard (no subscribe sent yet)
	started   bool                   // hello sent
	parts     [][]byte               // the tick being cut

	qmu     sync.Mutex
	queue   []outbound
	ticks   int // counted messages queued or being written
	closing bool
	code    int
	reason  string

	wake       chan struct{} // cap 1: the queue has something or closing was set
	readerDone chan struct{}
}

func newClient(h *Hub, conn *websocket.Conn, v Viewer) *client {
	return &client{hub: h, conn: conn, viewer: v, subs: map[string]groups.Role{}, dashboard: true,
		wake: make(chan struct{}, 1), readerDone: make(chan struct{})}
}

// send queues a message without blocking. A client with MaxQueuedTicks results
// messages unwritten is too slow: it is closed with 4429 and the message dropped.
func (c *client) send(o outbound) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		return
	}
	if o.counted {
		if c.ticks >= c.hub.opt.MaxQueuedTicks {
			c.qmu.Unlock()
			c.hub.m.slow.Inc()
			c.kick(CloseTooSlow, "too slow: the connection cannot keep up with the stream")
			return
		}
		c.ticks++
	}
	c.queue = append(c.queue, o)
	c.qmu.Unlock()
	c.signal()
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
	clear(c.queue)
	c.queue = nil
	c.qmu.Unlock()
	c.signal()
	if code == CloseTooSlow || code == websocket.CloseGoingAway {
		_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
	}
}

// take swaps the queue out for the writer.
func (c *client) take(spare []outbound) (batch []outbound, closing bool, code int, reason string) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	batch, c.queue = c.queue, spare[:0]
	return batch, c.closing, c.code, c.reason
}

func (c *client) written(o *outbound) {
	if o.counted {
		c.qmu.Lock()
		c.ticks--
		c.qmu.Unlock()
	}
}

func (c *client) isClosing() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.closing
}

// writePump writes queued messages and pings until the socket closes.
func (c *client) writePump() {
	h := c.hub
	defer h.clientsWG.Done()
	defer c.conn.Close()
	ping := time.NewTicker(h.opt.PingPeriod)
	defer ping.Stop()
	var spare []outbound
	for {
		select {
		case <-c.wake:
		case <-ping.C:
			if c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.opt.WriteWait)) != nil {
				return
			}
			continue
		case <-c.readerDone:
			return
		}
		batch, closing, code, reason := c.take(spare)
		if closing {
			c.closeWith(code, reason)
			return
		}
		for i := range batch {
			if err := c.write(&batch[i]); err != nil {
				return
			}
			c.written(&batch[i])
			batch[i] = outbound{}
		}
		spare = batch
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

// write assembles one message in a pooled buffer and writes it as one frame.
func (c *client) write(o *outbound) error {
	h := c.hub
	data := o.parts[0]
	var buf *[]byte
	if len(o.parts) > 1 {
		buf, _ = h.bufs.Get().(*[]byte)
		if buf == nil {
			buf = new([]byte)
		}
		b := (*buf)[:0]
		for _, p := range o.parts {
			b = append(b, p...)
		}
		data, *buf = b, b
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(h.opt.WriteWait))
	err := c.conn.WriteMessage(websocket.TextMessage, data)
	if buf != nil && cap(*buf) <= maxPooledWriteBytes {
		h.bufs.Put(buf)
	}
	if err != nil {
		return err
	}
	h.m.messages[o.kind].Inc()
	h.m.bytes.Add(float64(len(data)))
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
