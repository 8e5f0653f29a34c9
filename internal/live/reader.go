package live

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

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
	limit := tokenBucket{rate: h.opt.InboundPerSecond, burst: float64(h.opt.InboundBurst)}
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
		case !limit.take(time.Now()):
			c.kick(websocket.ClosePolicyViolation, "too many messages: at most "+
				strconv.FormatFloat(h.opt.InboundPerSecond, 'f', -1, 64)+" a second")
		case kind != websocket.TextMessage:
			c.kick(websocket.CloseUnsupportedData, "binary messages are not supported: send JSON text")
		default:
			h.handle(c, data)
		}
	}
}

// tokenBucket limits one socket's inbound messages: burst at once, then rate a
// second. Only the socket's reader uses it.
type tokenBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// inbound is a message from the browser.
type inbound struct {
	Type   string   `json:"type"`
	Groups []string `json:"groups"`
	Token  string   `json:"token"`
	Since  *uint64  `json:"since"`
}

// handle acts on one message from the client. Errors never carry more of what the
// client sent than echoPrefix bytes of it.
func (h *Hub) handle(c *client, data []byte) {
	var m inbound
	if err := json.Unmarshal(data, &m); err != nil {
		c.sendError("invalid", `a message must be a JSON object with a "type" (`+clip(err.Error(), 80)+")", "")
		return
	}
	switch m.Type {
	case "ping":
		c.send(message(kindControl, pongMessage))
	case "subscribe":
		h.subscribe(c, m.Groups)
	case "unsubscribe":
		h.unsubscribe(c, m.Groups)
	case "resume":
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
	c.send(message(kindControl, controlMessage(errorMessage{Type: "error", Code: code, Message: msg, ID: id})))
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
