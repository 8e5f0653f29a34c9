//go:build linux

package shared

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sharedSocket is one ICMP socket of the shared engine. Its descriptor stays in
// blocking mode, so the runtime's poller does not watch it (it would wake for every
// arriving reply); every call passes MSG_DONTWAIT instead. Sends are sendto, receives
// are batches of recvmmsg, on buffers made once, so neither allocates. Sends and
// receives come from the engine's one goroutine.
type sharedSocket struct {
	file   *os.File
	rc     syscall.RawConn
	ipHdr  bool // raw IPv4: received messages start with the IP header
	closed atomic.Bool

	// send side
	sendMsg       []byte
	sendV6        bool
	dst4          unix.RawSockaddrInet4
	dst6          unix.RawSockaddrInet6
	sendErr       error
	sendFn        func(fd uintptr)
	df, dfDefault int // IPv4: the IP_MTU_DISCOVER value set now, and the socket's own

	// receive side: one header, name, buffer and control buffer per batch entry
	hdrs    []unix.Mmsghdr
	names   []unix.RawSockaddrAny
	iovs    []unix.Iovec
	buf     []byte // sharedBatch slices of bufLen bytes
	bufLen  int
	oob     []byte // sharedBatch slices of sharedOOBLen bytes
	batch   int    // entries offered to the kernel this call
	n       int
	recvErr error
	recvFn  func(fd uintptr)
}

// sharedRcvBuf is the receive buffer asked for: room for a burst of replies from
// thousands of targets.
const sharedRcvBuf = 4 << 20

// sharedOOBLen is the control buffer of each received message (room for a
// timestamp and more).
const sharedOOBLen = 64

// sharedIPv4HeaderMax is the longest IPv4 header a raw socket hands over.
const sharedIPv4HeaderMax = 60

// openSharedSocket opens the ICMP socket of one family: a datagram ("ping") socket,
// or a raw one whose BPF filter passes only echo replies carrying id.
func openSharedSocket(v6, raw bool, id uint16) (sharedConn, error) {
	domain, proto, kind := unix.AF_INET, unix.IPPROTO_ICMP, "datagram"
	if v6 {
		domain, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	typ := unix.SOCK_DGRAM
	if raw {
		typ, kind = unix.SOCK_RAW, "raw"
	}
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("open %s socket: %w", kind, err)
	}
	if err := setupSharedSocket(fd, v6, raw, id); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("set up %s socket: %w", kind, err)
	}
	c := &sharedSocket{
		file:  os.NewFile(uintptr(fd), fmt.Sprintf("icmp-%s-v6=%t", kind, v6)),
		ipHdr: raw && !v6,
		hdrs:  make([]unix.Mmsghdr, sharedBatch),
		names: make([]unix.RawSockaddrAny, sharedBatch),
		iovs:  make([]unix.Iovec, sharedBatch),
		oob:   make([]byte, sharedBatch*sharedOOBLen),
	}
	if c.rc, err = c.file.SyscallConn(); err != nil {
		c.file.Close()
		return nil, fmt.Errorf("%s socket: %w", kind, err)
	}
	c.dst4.Family, c.dst6.Family = unix.AF_INET, unix.AF_INET6
	if !v6 {
		c.dfDefault, _ = unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
		c.df = c.dfDefault
	}
	c.grow(2048)
	for i := range c.hdrs {
		h := &c.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&c.names[i]))
		h.Iov, h.Iovlen = &c.iovs[i], 1
		h.Control = &c.oob[i*sharedOOBLen]
	}
	c.sendFn, c.recvFn = c.sendOnce, c.recvOnce
	return c, nil
}

// grow makes every receive buffer hold at least n bytes (rarely: when a target with a
// larger payload arrives).
func (c *sharedSocket) grow(n int) {
	if n <= c.bufLen {
		return
	}
	c.bufLen = n
	c.buf = make([]byte, sharedBatch*n)
	for i := range c.iovs {
		c.iovs[i].Base = &c.buf[i*n]
		c.iovs[i].SetLen(n)
	}
}

func setupSharedSocket(fd int, v6, raw bool, id uint16) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sharedRcvBuf) != nil {
		// Without CAP_NET_ADMIN the kernel caps this at net.core.rmem_max.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, sharedRcvBuf)
	}
	if !raw {
		return nil // the kernel hands a ping socket only the replies to its own id
	}
	if v6 {
		var f unix.ICMPv6Filter // a set bit blocks that type
		for i := range f.Data {
			f.Data[i] = ^uint32(0)
		}
		f.Data[sharedICMP6Reply>>5] &^= 1 << (sharedICMP6Reply & 31)
		if err := unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, sharedICMPv6FilterOpt, &f); err != nil {
			return fmt.Errorf("ICMP6_FILTER: %w", err)
		}
	}
	prog, err := sharedEchoFilter(v6, id)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
		return fmt.Errorf("attach BPF filter: %w", err)
	}
	return nil
}

// sharedICMPv6FilterOpt is ICMPV6_FILTER from <linux/icmpv6.h>, at level IPPROTO_ICMPV6.
const sharedICMPv6FilterOpt = 1

func (c *sharedSocket) writeTo(msg []byte, dst netip.Addr) error {
	c.sendMsg = msg
	c.sendV6 = dst.Is6()
	if c.sendV6 {
		c.dst6.Addr = dst.As16()
	} else {
		c.dst4.Addr = dst.As4()
	}
	if err := c.rc.Control(c.sendFn); err != nil {
		return err
	}
	return c.sendErr
}

// sharedSendWait bounds how long a send waits for room in a full socket buffer.
const sharedSendWait = 5 // ms

// sendOnce is one sendto; a full socket buffer is waited on briefly, once.
func (c *sharedSocket) sendOnce(fd uintptr) {
	addr, alen := unsafe.Pointer(&c.dst4), uintptr(unix.SizeofSockaddrInet4)
	if c.sendV6 {
		addr, alen = unsafe.Pointer(&c.dst6), uintptr(unix.SizeofSockaddrInet6)
	}
	if !c.sendV6 {
		c.fragmentation(fd, len(c.sendMsg))
	}
	waited := false
	for {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&c.sendMsg[0])),
			uintptr(len(c.sendMsg)), unix.MSG_DONTWAIT, uintptr(addr), alen)
		switch {
		case e == 0:
			c.sendErr = nil
			return
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN && !waited:
			waited = true
			pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			_, _ = unix.Poll(pfd[:], sharedSendWait)
			continue
		default:
			c.sendErr = e
			return
		}
	}
}

// sharedDFMax is the longest IPv4 echo request (IP header included) sent with Don't
// Fragment set: no IPv4 link carries less than 576 bytes in one piece in practice.
const sharedDFMax = 576

// fragmentation makes the socket set DF on IPv4 requests of n bytes (ICMP) that fit
// in sharedDFMax, and leave it to the kernel's default otherwise. With DF the kernel
// writes IP ID 0, where without it must draw an ID from its shared, hashed
// generator for every packet (2–3 % of the engine's CPU at 20,000 targets). A
// larger request keeps the default, so it is fragmented where the path needs it,
// as ping's would be. Sockets serving both sizes switch back and forth per send.
func (c *sharedSocket) fragmentation(fd uintptr, n int) {
	want := c.dfDefault
	if n+20 <= sharedDFMax {
		want = unix.IP_PMTUDISC_PROBE // DF set, the path MTU cache ignored
	}
	if want != c.df && unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, want) == nil {
		c.df = want
	}
}

func (c *sharedSocket) readBatch(ps []sharedPacket, maxMsg int) (int, error) {
	if c.ipHdr {
		maxMsg += sharedIPv4HeaderMax
	}
	c.grow(maxMsg)
	c.batch = min(len(ps), len(c.hdrs))
	if err := c.rc.Control(c.recvFn); err != nil {
		if c.closed.Load() {
			return 0, errSharedConnClosed
		}
		return 0, err
	}
	if c.recvErr != nil {
		return 0, c.recvErr
	}
	now := time.Now()
	n := 0
	for i := range c.n {
		h := &c.hdrs[i]
		data := c.buf[i*c.bufLen : i*c.bufLen+min(int(h.Len), c.bufLen)]
		if c.ipHdr {
			if len(data) < 20 || len(data) < int(data[0]&0x0f)*4 {
				continue // not a whole IPv4 header: not ours
			}
			data = data[int(data[0]&0x0f)*4:]
		}
		oob := c.oob[i*sharedOOBLen : i*sharedOOBLen+min(int(h.Hdr.Controllen), sharedOOBLen)]
		ps[n] = sharedPacket{msg: data, from: sharedSource(&c.names[i]), at: sharedArrival(oob, now)}
		n++
	}
	return n, nil
}

// recvOnce is one recvmmsg for up to c.batch messages, without waiting.
func (c *sharedSocket) recvOnce(fd uintptr) {
	for i := range c.batch {
		h := &c.hdrs[i].Hdr
		h.Namelen = unix.SizeofSockaddrAny
		h.SetControllen(sharedOOBLen)
		h.Flags = 0
		c.hdrs[i].Len = 0
	}
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.hdrs[0])), uintptr(c.batch),
			unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			c.n, c.recvErr = int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.n, c.recvErr = 0, nil
		default:
			c.n, c.recvErr = 0, e
		}
		return
	}
}

func sharedSource(name *unix.RawSockaddrAny) netip.Addr {
	switch name.Addr.Family {
	case unix.AF_INET:
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(name)).Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(name)).Addr)
	}
	return netip.Addr{}
}

// sharedArrival is when the kernel received a message, from its SO_TIMESTAMPNS
// control message in oob, carried over to the monotonic clock of now (read once per
// batch, after the messages were received) so RTTs do not jump with the wall clock;
// now itself if there is no stamp.
func sharedArrival(oob []byte, now time.Time) time.Time {
	for len(oob) >= unix.CmsgLen(0) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if int(h.Len) < unix.CmsgLen(0) || int(h.Len) > len(oob) {
			break
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS &&
			int(h.Len) >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			ts := (*unix.Timespec)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
			queued := now.Sub(time.Unix(int64(ts.Sec), int64(ts.Nsec)))
			if queued < 0 || queued > time.Minute {
				return now // the wall clock stepped: trust now over the stamp
			}
			return now.Add(-queued)
		}
		oob = oob[min(unix.CmsgSpace(int(h.Len)-unix.CmsgLen(0)), len(oob)):]
	}
	return now
}

func (c *sharedSocket) close() error {
	c.closed.Store(true)
	return c.file.Close()
}
