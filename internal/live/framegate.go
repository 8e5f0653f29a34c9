package live

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"
)

// gatedConn is the TCP connection under a WebSocket. The flush loop writes results
// frames to it directly, in one nonblocking writev each, and such a frame may go out
// in parts (the rest written later by the socket's drain). Everything else reaches the
// socket through the WebSocket library, whose reader also writes on its own (pongs,
// close frames): those writes wait here while a frame is unfinished, so that no frame
// ever lands inside another, and no two writes run at once.
type gatedConn struct {
	net.Conn
	raw syscall.RawConn

	mu     sync.Mutex
	free   sync.Cond // signalled when busy or begun clears, or on close
	busy   bool      // a write is running
	begun  bool      // a frame was begun by a direct write and is not finished
	closed bool
}

func newGatedConn(nc net.Conn) (*gatedConn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, errors.New("live: connection has no file descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	g := &gatedConn{Conn: nc, raw: raw}
	g.free.L = &g.mu
	return g, nil
}

// Write is the WebSocket library's write: it waits until no write runs and no frame is
// unfinished.
func (g *gatedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	for (g.busy || g.begun) && !g.closed {
		g.free.Wait()
	}
	if g.closed {
		g.mu.Unlock()
		return 0, net.ErrClosed
	}
	g.busy = true
	g.mu.Unlock()
	defer g.release(false)
	return g.Conn.Write(p)
}

// Close closes the connection and lets every waiting write fail.
func (g *gatedConn) Close() error {
	g.mu.Lock()
	g.closed = true
	g.free.Broadcast()
	g.mu.Unlock()
	return g.Conn.Close()
}

// release ends a write; begun tells whether it left a frame unfinished.
func (g *gatedConn) release(begun bool) {
	g.mu.Lock()
	g.busy, g.begun = false, begun
	g.free.Broadcast()
	g.mu.Unlock()
}

// errGateBusy says a direct write found another write running; nothing was written.
var errGateBusy = errors.New("live: another write is running")

// beginFrame writes as much of a frame (header and payload, in pieces) as the kernel's
// send buffer takes now, without waiting, and returns how many bytes it took. A full
// buffer is not an error; a write already running is errGateBusy. When only part of the
// frame went out, the gate stays closed to other writes until finishFrame.
func (g *gatedConn) beginFrame(iovs []unix.Iovec, size int) (int, error) {
	g.mu.Lock()
	if g.busy || g.begun || g.closed {
		g.mu.Unlock()
		return 0, errGateBusy
	}
	g.busy = true
	g.mu.Unlock()
	var n uintptr
	var errno syscall.Errno
	// Control, not Write: the socket is nonblocking, and Write would refuse once the
	// last write deadline set for the library's writes has passed.
	err := g.raw.Control(func(fd uintptr) {
		n, _, errno = unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
	})
	if err == nil && errno != 0 && errno != unix.EAGAIN {
		err = errno
	}
	if err != nil || errno != 0 {
		n = 0
	}
	g.release(err == nil && n > 0 && int(n) < size)
	return int(n), err
}

// frameScratch is the flush loop's reusable vector for beginFrame, and a header.
type frameScratch struct {
	iovs []unix.Iovec
	hdr  [maxFrameHeader]byte
}

// iovMax is the most pieces one writev takes (IOV_MAX on Linux).
const iovMax = 1024

// vector points s's vector at o's frame: its header, then its parts, at most iovMax
// pieces (the drain writes the rest of a longer message, like any part the kernel did
// not take). release drops the references when the write is done.
func (s *frameScratch) vector(o *outbound) []unix.Iovec {
	s.iovs = s.iovs[:0]
	for b := range o.framePieces(&s.hdr) {
		if len(s.iovs) == iovMax {
			break
		}
		s.iovs = appendIovec(s.iovs, b)
	}
	return s.iovs
}

func appendIovec(iovs []unix.Iovec, b []byte) []unix.Iovec {
	if len(b) == 0 {
		return iovs
	}
	v := unix.Iovec{Base: &b[0]}
	v.SetLen(len(b))
	return append(iovs, v)
}

func (s *frameScratch) release() { clear(s.iovs) }

// finishFrame writes the rest of the frame beginFrame began, by deadline, and opens
// the gate again. On an error the caller closes the connection.
func (g *gatedConn) finishFrame(rest net.Buffers, deadline time.Time) error {
	g.mu.Lock()
	for g.busy && !g.closed {
		g.free.Wait()
	}
	if g.closed {
		g.mu.Unlock()
		return net.ErrClosed
	}
	g.busy = true
	g.mu.Unlock()
	_ = g.Conn.SetWriteDeadline(deadline)
	_, err := rest.WriteTo(g.Conn)
	g.release(err != nil) // a failed rest keeps the gate closed until Close
	return err
}

// gatedWriter hands the WebSocket upgrader the connection wrapped in a gatedConn.
type gatedWriter struct {
	http.ResponseWriter
	conn *gatedConn
}

func (w *gatedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("live: the response cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if w.conn, err = newGatedConn(nc); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return w.conn, brw, nil
}

// upgrade makes r a WebSocket over a gatedConn.
func (h *Hub) upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, *gatedConn, error) {
	gw := &gatedWriter{ResponseWriter: w}
	conn, err := h.upgrader.Upgrade(gw, r, nil)
	if err != nil {
		return nil, nil, err
	}
	return conn, gw.conn, nil
}
