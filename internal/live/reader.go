package live

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"pingdeck/internal/ratelimit"
	"pingdeck/internal/wire"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// readPump starts the client's stream, then handles what it sends until the socket
// closes; then it takes the client out of the hub. Every message is read whole within
// maxMessageBytes (1009 past it), a binary one closes the socket with 1003, and more
// than InboundBurst messages at once, or more than InboundPerSecond a second after
// that, close it with 1008.
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
	limit := ratelimit.NewBucket(h.opt.InboundBurst, time.Duration(float64(time.Second)/h.opt.InboundPerSecond))
	for {
		kind, data, err := c.conn.ReadMessage()
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
		switch {
		case c.isClosing(): // read on until the peer answers the close frame
		case !limit.Allow(time.Now()):
			c.kick(websocket.ClosePolicyViolation, "too many messages: at most "+
				strconv.FormatFloat(h.opt.InboundPerSecond, 'f', -1, 64)+" a second")
		case kind != websocket.TextMessage:
			c.kick(websocket.CloseUnsupportedData, "binary messages are not supported: send JSON text")
		default:
			h.handle(c, data)
		}
	}
}

// handle acts on one message from the client. Errors never carry more of what the
// client sent than echoPrefix bytes of it.
func (h *Hub) handle(c *client, data []byte) {
	var m wire.ClientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.sendError("invalid", `a message must be a JSON object with a "type" (`+clip(err.Error(), 80)+")", "")
		return
	}
	switch m.Type {
	case wire.TypePing:
		c.send(message(kindControl, pongMessage))
	case wire.TypeSubscribe:
		h.subscribe(c, m.Groups)
	case wire.TypeUnsubscribe:
		h.unsubscribe(c, m.Groups)
	case wire.TypeResume:
		if m.Since == nil {
			c.sendError("invalid", `resume needs "since": the last results seq seen`, "")
			return
		}
		h.resume(c, m.Token, *m.Since)
	default:
		c.sendError("invalid", "unknown message type "+echo(m.Type)+" (subscribe, unsubscribe, resume or ping)", "")
	}
}

func (c *client) sendError(code, msg, id string) {
	c.send(message(kindControl, controlMessage(wire.Error{Type: wire.TypeError, Code: code, Message: msg, ID: id})))
}

// echoPrefix is the most of a client's input an error message repeats.
const echoPrefix = 32

// echo quotes at most echoPrefix bytes of s, marking a cut with "…".
func echo(s string) string {
	if len(s) <= echoPrefix {
		return strconv.Quote(s)
	}
	return strconv.Quote(clip(s, echoPrefix)) + "…"
}

// clip is s cut to at most n bytes, at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// echoID is a group ID from the client as an error's "id": a UUID as it is (so the
// client can tell which of its groups is meant), anything else cut like echo.
func echoID(id string) string {
	if len(id) == 36 && uuid.Validate(id) == nil {
		return id
	}
	return clip(id, echoPrefix)
}
