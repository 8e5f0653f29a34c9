//go:build linux

package pingtest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// serve answers the echo requests arriving on rc until its socket is closed. IPv4
// raw sockets deliver the IP header; IPv6 ones only the ICMPv6 message, the
// destination then comes from IPV6_PKTINFO.
func (s *Sim) serve(rc syscall.RawConn, v6 bool) {
	defer s.wg.Done()
	buf := make([]byte, 1<<16)
	oob := make([]byte, 256)
	for {
		var n, oobn int
		var from unix.Sockaddr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
			return rerr != unix.EAGAIN
		})
		now := time.Now()
		if err != nil {
			return // closed
		}
		if rerr != nil {
			continue
		}
		arrived, pktDst := control(oob[:oobn], now)
		var r reply
		var ok bool
		if v6 {
			r, ok = s.parse6(buf[:n], from, pktDst)
		} else {
			r, ok = s.parse4(buf[:n])
		}
		if ok {
			s.handle(arrived, r)
		}
	}
}

// control extracts the kernel's receive time (SO_TIMESTAMPNS, so the delay counts
// from arrival, not from when this goroutine got to run) and the IPv6 destination.
func control(oob []byte, now time.Time) (arrived time.Time, dst netip.Addr) {
	arrived = now
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS:
			var ts time.Time
			switch len(m.Data) {
			case 16:
				ts = time.Unix(int64(binary.NativeEndian.Uint64(m.Data)), int64(binary.NativeEndian.Uint64(m.Data[8:])))
			case 8:
				ts = time.Unix(int64(int32(binary.NativeEndian.Uint32(m.Data))), int64(int32(binary.NativeEndian.Uint32(m.Data[4:]))))
			default:
				continue
			}
			// The stamp is wall-clock time; keep now's monotonic reading.
			if age := now.Sub(ts); age >= 0 && age < time.Second {
				arrived = now.Add(-age)
			}
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 16:
			dst = netip.AddrFrom16([16]byte(m.Data[:16]))
		}
	}
	return arrived, dst
}

// parse4 turns an IPv4 echo request to a simulated address into its reply.
func (s *Sim) parse4(b []byte) (reply, bool) {
	if len(b) < ipv4.HeaderLen || b[0]>>4 != 4 || b[9] != 1 {
		return reply{}, false
	}
	hl := int(b[0]&0x0f) << 2
	if hl < ipv4.HeaderLen || len(b) < hl+8 {
		return reply{}, false
	}
	src, dst := netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	p := b[hl:]
	if !s.opts.Prefix4.Contains(dst) || p[0] != echoRequest4 || p[1] != 0 {
		return reply{}, false
	}
	msg := append([]byte(nil), p...)
	msg[0] = echoReply4
	msg[2], msg[3] = 0, 0
	binary.BigEndian.PutUint16(msg[2:], checksum(msg))
	return reply{from: dst, to: src, msg: msg}, true
}

// parse6 turns an ICMPv6 echo request to a simulated address into its reply.
func (s *Sim) parse6(b []byte, from unix.Sockaddr, dst netip.Addr) (reply, bool) {
	sa, ok := from.(*unix.SockaddrInet6)
	if !ok || len(b) < 8 || b[0] != echoRequest6 || b[1] != 0 || !s.opts.Prefix6.Contains(dst) {
		return reply{}, false
	}
	src := netip.AddrFrom16(sa.Addr)
	if sa.ZoneId != 0 {
		src = src.WithZone(strconv.Itoa(int(sa.ZoneId)))
	}
	msg := append([]byte(nil), b...)
	msg[0] = echoReply6
	msg[2], msg[3] = 0, 0 // the kernel computes ICMPv6 checksums on raw sockets
	return reply{from: dst, to: src, msg: msg}, true
}

// handle applies the target's behaviour to a request that arrived at `at`.
func (s *Sim) handle(at time.Time, r reply) {
	s.received.Add(1)
	delay, ok := s.decide(r.from)
	if !ok {
		return
	}
	if delay <= 0 {
		s.send(r)
		return
	}
	s.sched.add(at.Add(delay), r)
}

// send writes a reply from the target's address. Failures count as unanswered.
func (s *Sim) send(r reply) {
	var err error
	if r.from.Is4() {
		h := &ipv4.Header{
			Version:  ipv4.Version,
			Len:      ipv4.HeaderLen,
			TotalLen: ipv4.HeaderLen + len(r.msg),
			TTL:      64,
			Protocol: 1, // ICMP
			Src:      r.from.AsSlice(),
			Dst:      r.to.AsSlice(),
		}
		err = s.c4.WriteTo(h, r.msg, nil)
	} else {
		cm := &ipv6.ControlMessage{Src: r.from.AsSlice()}
		_, err = s.c6.WriteTo(r.msg, cm, &net.IPAddr{IP: r.to.AsSlice(), Zone: r.to.Zone()})
	}
	if err == nil {
		s.answered.Add(1)
	}
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
