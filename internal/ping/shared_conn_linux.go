//go:build linux

package ping

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

// sharedSocket is one ICMP socket of the shared engine, driven through the runtime's
// poller with sendto/recvmsg syscalls on buffers made once, so that sending and
// receiving allocate nothing. Sends come from one goroutine and receives from
// another; each side has its own fields.
type sharedSocket struct {
	file   *os.File
	rc     syscall.RawConn
	ipHdr  bool // raw IPv4: received messages start with the IP header
	closed atomic.Bool

	// send side
	sendMsg []byte
	sendV6  bool
	dst4    unix.RawSockaddrInet4
	dst6    unix.RawSockaddrInet6
	sendErr error
	sendFn  func(fd uintptr) bool

	// receive side
	buf     []byte
	oob     []byte
	name    unix.RawSockaddrAny
	iov     unix.Iovec
	msg     unix.Msghdr
	n       int
	recvErr error
	recvFn  func(fd uintptr) bool
}

// sharedRcvBuf is the receive buffer asked for: room for a burst of replies from
// thousands of targets.
const sharedRcvBuf = 4 << 20

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
	fd, err := unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
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
		buf:   make([]byte, 1<<16),
		oob:   make([]byte, 128),
	}
	if c.rc, err = c.file.SyscallConn(); err != nil {
		c.file.Close()
		return nil, fmt.Errorf("poll %s socket: %w", kind, err)
	}
	c.dst4.Family, c.dst6.Family = unix.AF_INET, unix.AF_INET6
	c.iov.Base = &c.buf[0]
	c.msg.Name = (*byte)(unsafe.Pointer(&c.name))
	c.msg.Iov, c.msg.Iovlen = &c.iov, 1
	c.msg.Control = &c.oob[0]
	c.sendFn, c.recvFn = c.sendOnce, c.recvOnce
	return c, nil
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
	if err := c.rc.Write(c.sendFn); err != nil {
		return err
	}
	return c.sendErr
}

// sendOnce is the poller callback for one sendto; false means "wait until writable".
func (c *sharedSocket) sendOnce(fd uintptr) bool {
	addr, alen := unsafe.Pointer(&c.dst4), uintptr(unix.SizeofSockaddrInet4)
	if c.sendV6 {
		addr, alen = unsafe.Pointer(&c.dst6), uintptr(unix.SizeofSockaddrInet6)
	}
	for {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&c.sendMsg[0])),
			uintptr(len(c.sendMsg)), 0, uintptr(addr), alen)
		switch e {
		case 0:
			c.sendErr = nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			c.sendErr = e
			return true
		}
	}
}

func (c *sharedSocket) readFrom(p *sharedPacket) error {
	for {
		if err := c.rc.Read(c.recvFn); err != nil {
			if c.closed.Load() {
				return errSharedConnClosed
			}
			return err
		}
		if c.recvErr != nil {
			return c.recvErr
		}
		data := c.buf[:c.n]
		if c.ipHdr {
			if len(data) < 20 || len(data) < int(data[0]&0x0f)*4 {
				continue // not a whole IPv4 header: not ours
			}
			data = data[int(data[0]&0x0f)*4:]
		}
		p.msg, p.from, p.at = data, c.source(), c.arrival()
		return nil
	}
}

// recvOnce is the poller callback for one recvmsg; false means "wait until readable".
func (c *sharedSocket) recvOnce(fd uintptr) bool {
	for {
		c.msg.Namelen = unix.SizeofSockaddrAny
		c.msg.SetControllen(len(c.oob))
		c.msg.Flags = 0
		c.iov.SetLen(len(c.buf))
		n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), 0)
		switch e {
		case 0:
			c.n, c.recvErr = int(n), nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			c.recvErr = e
			return true
		}
	}
}

func (c *sharedSocket) source() netip.Addr {
	switch c.name.Addr.Family {
	case unix.AF_INET:
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(&c.name)).Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(&c.name)).Addr)
	}
	return netip.Addr{}
}

// arrival is when the kernel received the message (SO_TIMESTAMPNS), carried over to
// the monotonic clock so RTTs do not jump with the wall clock; now if there is none.
func (c *sharedSocket) arrival() time.Time {
	now := time.Now()
	oob := c.oob[:min(int(c.msg.Controllen), len(c.oob))]
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
