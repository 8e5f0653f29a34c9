// Package netlimit bounds the connections a server holds, in total and per client
// address, so that no client — and no one address — can take every file descriptor.
package netlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Reason says why a connection was refused.
type Reason string

// Reasons.
const (
	// PerAddress: the client's address (IPv4 /32, IPv6 /64) already holds MaxPerAddress.
	PerAddress Reason = "per_address"
	// Total: the server already holds MaxTotal.
	Total Reason = "total"
)

// Options configure a Listener.
type Options struct {
	// MaxTotal is the most connections open at once, from everyone (at least 1).
	MaxTotal int
	// MaxPerAddress is the most from one client address (at least 1). IPv6 clients are
	// counted per /64, the smallest block a site is usually given, so one client cannot
	// step past the limit by changing the low bits of its address.
	MaxPerAddress int
	// Exempt addresses (trusted reverse proxies, which carry many clients' connections)
	// count toward MaxTotal only.
	Exempt []netip.Prefix
	// OnRefuse, if set, is called (on the accepting goroutine; keep it short) for each
	// refused connection.
	OnRefuse func(client netip.Addr, why Reason)
}

// Listener is a net.Listener that closes, at once, every connection over its limits
// instead of handing it to the server: a client over the per-address limit, or anyone
// while the total is reached. Refusing rather than waiting keeps the kernel's accept
// queue short, so a client that is let in is not stuck behind a flood, and tells a
// refused client at once (a reset) rather than after its own timeout.
type Listener struct {
	net.Listener
	opts Options

	mu     sync.Mutex
	open   int
	byAddr map[netip.Prefix]int

	refusedPerAddress, refusedTotal atomic.Uint64
}

// Wrap limits the connections ln accepts.
func Wrap(ln net.Listener, o Options) (*Listener, error) {
	if o.MaxTotal < 1 || o.MaxPerAddress < 1 {
		return nil, errors.New("netlimit: MaxTotal and MaxPerAddress must be at least 1")
	}
	return &Listener{Listener: ln, opts: o, byAddr: map[netip.Prefix]int{}}, nil
}

// Accept returns the next connection within the limits; closing it frees its place.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client, key, limited := l.key(c.RemoteAddr())
		if why := l.admit(key, limited); why != "" {
			refuse(c)
			if why == PerAddress {
				l.refusedPerAddress.Add(1)
			} else {
				l.refusedTotal.Add(1)
			}
			if l.opts.OnRefuse != nil {
				l.opts.OnRefuse(client, why)
			}
			continue
		}
		release := func() { l.release(key, limited) }
		if tc, ok := c.(*net.TCPConn); ok {
			return &tcpConn{TCPConn: tc, release: sync.OnceFunc(release)}, nil
		}
		return &conn{Conn: c, release: sync.OnceFunc(release)}, nil
	}
}

// key is the client's address and the block it is counted in; limited is false for
// exempt or unknown addresses, which count toward the total only.
func (l *Listener) key(addr net.Addr) (client netip.Addr, key netip.Prefix, limited bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, false
	}
	client = ap.Addr().Unmap().WithZone("")
	for _, p := range l.opts.Exempt {
		if p.Contains(client) {
			return client, netip.Prefix{}, false
		}
	}
	bits := 32
	if client.Is6() {
		bits = 64
	}
	key, _ = client.Prefix(bits)
	return client, key, true
}

// admit takes a place for a connection from key, or says why there is none: the check
// and the count are one step under the lock.
func (l *Listener) admit(key netip.Prefix, limited bool) Reason {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case limited && l.byAddr[key] >= l.opts.MaxPerAddress:
		return PerAddress
	case l.open >= l.opts.MaxTotal:
		return Total
	}
	l.open++
	if limited {
		l.byAddr[key]++
	}
	return ""
}

func (l *Listener) release(key netip.Prefix, limited bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if limited {
		if l.byAddr[key]--; l.byAddr[key] <= 0 {
			delete(l.byAddr, key)
		}
	}
}

// Open is how many accepted connections are open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused is how many connections were refused so far, by reason.
func (l *Listener) Refused(why Reason) uint64 {
	if why == PerAddress {
		return l.refusedPerAddress.Load()
	}
	return l.refusedTotal.Load()
}

// refuse closes a connection at once with a reset, so the refused socket does not linger
// in TIME_WAIT on our side during a flood.
func refuse(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// tcpConn is an accepted TCP connection that frees its place when closed. It embeds
// *net.TCPConn so that everything the server and the WebSocket layer use — the file
// descriptor (SyscallConn), CloseWrite, ReadFrom for sendfile — stays available.
type tcpConn struct {
	*net.TCPConn
	release func()
}

func (c *tcpConn) Close() error {
	err := c.TCPConn.Close()
	c.release()
	return err
}

// conn is any other accepted connection that frees its place when closed.
type conn struct {
	net.Conn
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
