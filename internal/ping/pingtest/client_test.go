//go:build linux

package pingtest_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"pingdeck/internal/ping/pingtest"
)

// rawID is the echo ID the raw-socket client puts on the wire. Datagram ("udp")
// ICMP sockets get theirs from the kernel: the socket's local port.
const rawID = 0xbeef

// probe is one echo request for the test client to send.
type probe struct {
	dst  netip.Addr
	seq  int
	data []byte
}

// outcome is what became of one probe.
type outcome struct {
	sendErr error
	replies int           // matching replies received (want 0 or 1)
	rtt     time.Duration // of the first reply
	bad     string        // why a reply did not echo the request exactly, if one did not
}

// key identifies a probe by where it went and its sequence number.
type key struct {
	addr netip.Addr
	seq  int
}

// client is a minimal ICMP echo client with one socket opened inside a Sim.
type client struct {
	network string // "udp4", "udp6" (datagram ICMP sockets), "ip4:icmp", "ip6:ipv6-icmp" (raw)
	conn    *icmp.PacketConn
	id      int
	reply   icmp.Type
	proto   int

	mu     sync.Mutex
	all    chan struct{} // closed when every probe has a reply
	nrep   int           // probes with a reply
	sent   map[key]int   // index into probes
	probes []probe
	out    []outcome
	sentAt []time.Time
	strays []string // replies that match no probe
}

// newClient opens a socket of the given network inside s; t.Cleanup closes it.
func newClient(t *testing.T, s *pingtest.Sim, network string) *client {
	t.Helper()
	c := &client{network: network, id: rawID, reply: ipv4.ICMPTypeEchoReply, proto: 1}
	addr := "0.0.0.0"
	if network == "udp6" || network == "ip6:ipv6-icmp" {
		addr, c.reply, c.proto = "::", ipv6.ICMPTypeEchoReply, 58
	}
	err := s.Run(func() error {
		var err error
		c.conn, err = icmp.ListenPacket(network, addr)
		return err
	})
	if err != nil {
		t.Fatalf("open %s socket in %s: %v", network, s.Name(), err)
	}
	t.Cleanup(func() { c.conn.Close() })
	var pc net.PacketConn
	if c.proto == 1 {
		pc = c.conn.IPv4PacketConn().PacketConn
	} else {
		pc = c.conn.IPv6PacketConn().PacketConn
	}
	rc, err := pc.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if cerr := rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("SO_RCVBUFFORCE: %v", err)
	}
	if ua, ok := c.conn.LocalAddr().(*net.UDPAddr); ok {
		c.id = ua.Port
	}
	return c
}

// ping sends the probes, one every gap, waits for replies until wait after the last
// send (or until every probe has one, plus a little for duplicates), and closes the
// socket. It returns one outcome per probe.
func (c *client) ping(t *testing.T, probes []probe, gap, wait time.Duration) []outcome {
	t.Helper()
	c.all, c.nrep = make(chan struct{}), 0
	c.probes, c.out = probes, make([]outcome, len(probes))
	c.sent, c.sentAt = make(map[key]int, len(probes)), make([]time.Time, len(probes))
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.read()
	}()
	start := time.Now()
	for i, p := range probes {
		if gap > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
		}
		msg := icmp.Message{Code: 0, Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: c.id, Seq: p.seq, Data: p.data}}
		var dst net.Addr = &net.IPAddr{IP: p.dst.AsSlice()}
		if c.proto == 58 {
			msg.Type = ipv6.ICMPTypeEchoRequest
		}
		if c.network[:3] == "udp" {
			dst = &net.UDPAddr{IP: p.dst.AsSlice()}
		}
		b, err := msg.Marshal(nil) // the kernel fills the ICMPv6 checksum
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.sent[key{p.dst, p.seq}] = i
		c.sentAt[i] = time.Now()
		c.mu.Unlock()
		if _, err := c.conn.WriteTo(b, dst); err != nil {
			c.mu.Lock()
			c.out[i].sendErr = err
			c.mu.Unlock()
		}
	}
	select {
	case <-c.all:
		time.Sleep(10 * time.Millisecond)
	case <-time.After(wait):
	}
	c.conn.Close()
	<-done
	for _, s := range c.strays {
		t.Errorf("%s: stray reply: %s", c.network, s)
	}
	return c.out
}

// read matches replies to probes until the socket is closed.
func (c *client) read() {
	buf := make([]byte, 1<<16)
	for {
		n, from, err := c.conn.ReadFrom(buf)
		at := time.Now()
		if err != nil {
			return
		}
		m, err := icmp.ParseMessage(c.proto, buf[:n])
		if err != nil || m.Type != c.reply {
			continue // a raw socket also sees requests, ours included
		}
		echo, ok := m.Body.(*icmp.Echo)
		if !ok {
			continue
		}
		var ip net.IP
		switch a := from.(type) {
		case *net.IPAddr:
			ip = a.IP
		case *net.UDPAddr:
			ip = a.IP
		}
		src, _ := netip.AddrFromSlice(ip)
		src = src.Unmap()
		c.mu.Lock()
		i, ok := c.sent[key{src, echo.Seq}]
		switch {
		case !ok && c.network[:2] == "ip" && echo.ID != c.id:
			// another raw client's traffic: not ours to judge
		case !ok:
			c.strays = append(c.strays, fmt.Sprintf("from %s id %d seq %d", src, echo.ID, echo.Seq))
		default:
			o := &c.out[i]
			o.replies++
			if o.replies == 1 {
				o.rtt = at.Sub(c.sentAt[i])
				if c.nrep++; c.nrep == len(c.probes) {
					close(c.all)
				}
			}
			if echo.ID != c.id || !bytes.Equal(echo.Data, c.probes[i].data) {
				o.bad = fmt.Sprintf("reply id %d data %x, sent id %d data %x", echo.ID, echo.Data, c.id, c.probes[i].data)
			}
		}
		c.mu.Unlock()
	}
}

// payload is a recognisable payload of n bytes for probe i.
func payload(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j*7 + i>>8)
	}
	return b
}
