package live

import (
	"errors"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// writePump is the client's one writer (gorilla's chat example): it writes what is
// queued, in order, each message as one text message through NextWriter with a write
// deadline, pings every PingPeriod, and sends the close frame when the client is
// kicked. It ends when the reader has ended, a write fails, or after the close.
func (c *client) writePump() {
	h := c.hub
	defer h.clientsWG.Done()
	ping := time.NewTicker(h.opt.PingPeriod)
	defer ping.Stop()
	for {
		select {
		case <-c.readerDone:
			return
		case <-ping.C:
			_ = c.conn.SetWriteDeadline(time.Now().Add(h.opt.WriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.fail(err)
				return
			}
		case <-c.wake:
			if !c.writeQueued() {
				return
			}
		}
	}
}

// writeQueued writes what is queued until the queue is empty, and reports whether the
// writer goes on; when the client is closing it sends the close frame instead.
func (c *client) writeQueued() bool {
	for {
		c.qmu.Lock()
		if c.closing {
			code, reason := c.code, c.reason
			c.qmu.Unlock()
			if code != 0 {
				c.closeWith(code, reason)
			}
			c.conn.Close()
			return false
		}
		batch := c.queue
		if len(batch) == 0 {
			c.qmu.Unlock()
			return true
		}
		c.queue, c.spare = c.spare, nil
		c.qmu.Unlock()
		for i := range batch {
			err := c.write(&batch[i])
			closing := c.done(&batch[i])
			if err != nil {
				c.fail(err)
			}
			if err != nil || closing { // the rest is dropped
				for j := i + 1; j < len(batch); j++ {
					c.done(&batch[j])
				}
				break
			}
		}
		clear(batch)
		if cap(batch) <= keptQueueCap { // a burst's long slice goes; thousands of idle clients keep little
			c.qmu.Lock()
			c.spare = batch[:0]
			c.qmu.Unlock()
		}
	}
}

// keptQueueCap is the longest emptied queue a writer keeps for reuse.
const keptQueueCap = 4

// fail ends writing after a failed write: the reader's end follows from the closed
// connection. A write that took WriteWait is a client too slow to keep up, counted
// with those closed with 4429 (no close frame can follow it).
func (c *client) fail(err error) {
	var ne net.Error
	c.qmu.Lock()
	if !c.closing && errors.As(err, &ne) && ne.Timeout() {
		c.hub.m.slow.Inc()
	}
	c.closing, c.code = true, 0
	c.dropQueued()
	c.qmu.Unlock()
	c.conn.Close()
}

// write writes one message, within WriteWait. A group message is built now, from the
// group's state as it is now; one no longer wanted (the group was dropped, or a later
// request was merged into an earlier one) writes nothing.
func (c *client) write(o *outbound) error {
	if o.group != "" {
		built, ok := c.hub.takeGroupMessage(c, o.group)
		if !ok {
			return nil
		}
		built.bytes = o.bytes
		*o = built
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.opt.WriteWait))
	w, err := c.conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	n := 0
	for _, p := range o.parts {
		if _, err := w.Write(p); err != nil {
			w.Close()
			return err
		}
		n += len(p)
	}
	if err := w.Close(); err != nil {
		return err
	}
	c.hub.countSent(o, n)
	return nil
}

// closeWith sends the close frame and waits a little for the peer's answer, so the
// peer reads the code before the connection goes.
func (c *client) closeWith(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	if c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(kickWriteWait)) != nil {
		return
	}
	select {
	case <-c.readerDone:
	case <-time.After(c.hub.opt.CloseGrace):
	}
}
