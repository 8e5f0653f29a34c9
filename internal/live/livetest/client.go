// Package livetest is a small WebSocket client for the live stream, for end-to-end
// tests and the live benchmark, so that the WebSocket library stays inside
// internal/live.
package livetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// Conn is one client connection to GET /api/v1/ws.
type Conn struct {
	ws *websocket.Conn
}

// Options tune a dial; the zero value is gorilla's defaults.
type Options struct {
	ReadBufferSize  int
	WriteBufferSize int
	// NetDial, if set, makes the TCP connection (e.g. with a small receive buffer).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial opens url (ws://host/api/v1/ws…) with the given request headers (cookie,
// Authorization, Origin). On a refused handshake the response tells the status.
func Dial(ctx context.Context, url string, header http.Header, o Options) (*Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: o.ReadBufferSize,
		WriteBufferSize: o.WriteBufferSize, NetDialContext: o.NetDial}
	ws, resp, err := d.DialContext(ctx, url, header)
	if err != nil {
		return nil, resp, err
	}
	return &Conn{ws: ws}, resp, nil
}

// Read returns the next message, waiting until deadline. When the server closed the
// socket, the error is a *CloseError.
func (c *Conn) Read(deadline time.Time) ([]byte, error) {
	return c.ReadInto(nil, deadline)
}

// ReadInto is Read into buf's storage (grown when too small), for readers that keep
// one buffer.
func (c *Conn) ReadInto(buf []byte, deadline time.Time) ([]byte, error) {
	_ = c.ws.SetReadDeadline(deadline)
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, closeError(err)
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
