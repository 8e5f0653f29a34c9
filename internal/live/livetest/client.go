// Package livetest is the WebSocket client for the live stream that tests and the live
// benchmark share, so that the WebSocket library stays inside internal/live and every
// test reads the stream the same way: as wire types (Message).
package livetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Conn is one client connection to GET /api/v1/ws. Like a gorilla connection, it
// takes one reader and one writer at a time.
type Conn struct {
	ws *websocket.Conn
}

// Options tune a dial; the zero value is gorilla's defaults.
type Options struct {
	ReadBufferSize  int
	WriteBufferSize int
	// ReceiveBuffer, if set, is the socket's TCP receive buffer (SO_RCVBUF): a client
	// that reads slowly pushes back on the server soon.
	ReceiveBuffer int
	// NetDial, if set, makes the TCP connection (ReceiveBuffer then does nothing).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial opens url (ws://host/api/v1/ws…) with the given request headers (cookie,
// Authorization, Origin). On a refused handshake the response tells the status.
func Dial(ctx context.Context, url string, header http.Header, o Options) (*Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: o.ReadBufferSize,
		WriteBufferSize: o.WriteBufferSize, NetDialContext: o.NetDial}
	if d.NetDialContext == nil && o.ReceiveBuffer > 0 {
		// Set before connecting, so the window TCP advertises fits the buffer from the
		// start: shrunk later, the buffer drops the segments the peer was told it could
		// send, and the peer's retransmissions back off for seconds.
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = setReceiveBuffer(fd, o.ReceiveBuffer) })
			return errors.Join(err, serr)
		}}
		d.NetDialContext = nd.DialContext
	}
	ws, resp, err := d.DialContext(ctx, url, header)
	if err != nil {
		return nil, resp, err
	}
	return &Conn{ws: ws}, resp, nil
}

// Read returns the next message, waiting until deadline. When the server closed the
// socket, the error is a *CloseError; a binary message (the server sends none) is an
// error too.
func (c *Conn) Read(deadline time.Time) ([]byte, error) {
	return c.ReadInto(nil, deadline)
}

// ReadInto is Read into buf's storage (grown when too small), for readers that keep
// one buffer.
func (c *Conn) ReadInto(buf []byte, deadline time.Time) ([]byte, error) {
	_ = c.ws.SetReadDeadline(deadline)
	kind, r, err := c.ws.NextReader()
	if err != nil {
		return nil, closeError(err)
	}
	if kind != websocket.TextMessage {
		return nil, fmt.Errorf("livetest: a message of frame type %d, want text", kind)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, closeError(err)
		}
	}
}

// Next reads the next message and decodes it.
func (c *Conn) Next(deadline time.Time) (Message, error) {
	data, err := c.Read(deadline)
	if err != nil {
		return Message{}, err
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("livetest: a message that is not a JSON object: %w: %.200s", err, data)
	}
	m.Raw = data
	return m, nil
}

// CloseCode reads (and drops) messages until the server closes the socket, and returns
// its close code: websocket.CloseAbnormalClosure (1006) when the connection ended
// without a close frame, an error when it is still open at deadline.
func (c *Conn) CloseCode(deadline time.Time) (int, error) {
	_ = c.ws.SetReadDeadline(deadline)
	for {
		_, _, err := c.ws.NextReader()
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ce):
			return ce.Code, nil
		case errors.As(err, &ne) && ne.Timeout():
			return 0, errors.New("livetest: the socket is still open")
		default:
			return websocket.CloseAbnormalClosure, nil
		}
	}
}

func closeError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: ce.Code, Text: ce.Text}
	}
	return err
}

// WriteJSON sends one message.
func (c *Conn) WriteJSON(v any) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(v)
}

// WriteText sends data as one text message, as it is (malformed JSON included).
func (c *Conn) WriteText(data []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// WriteBinary sends data as one binary message, which the stream refuses.
func (c *Conn) WriteBinary(data []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.BinaryMessage, data)
}

// Ping sends a WebSocket ping (the server answers with a pong while it reads).
func (c *Conn) Ping() error {
	return c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second))
}

// OnPing has every ping of the server answered with its pong, as a browser does, and
// reported to f; it runs while the connection is being read.
func (c *Conn) OnPing(f func()) {
	c.ws.SetPingHandler(func(data string) error {
		f()
		return c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(10*time.Second))
	})
}

// Close closes the connection without a close handshake (like a network failure).
func (c *Conn) Close() error { return c.ws.Close() }

// CloseError is the close frame the server sent.
type CloseError struct {
	Code int
	Text string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket closed with %d %s", e.Code, e.Text)
}

// Close codes of RFC 6455 that tests expect (the stream's own are in internal/live).
const (
	CloseGoingAway       = websocket.CloseGoingAway
	CloseUnsupportedData = websocket.CloseUnsupportedData
	ClosePolicyViolation = websocket.ClosePolicyViolation
	CloseMessageTooBig   = websocket.CloseMessageTooBig
	CloseAbnormal        = websocket.CloseAbnormalClosure
)
