//go:build linux

package pingtest

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// rcvBuf is the responder's socket receive buffer: enough for a few thousand
// requests arriving in one burst.
const rcvBuf = 8 << 20

// ICMP message types used here.
const (
	echoReply4   = 0
	echoRequest4 = 8
	echoRequest6 = 128
	echoReply6   = 129
)

// reply is one echo reply ready to send.
type reply struct {
	from, to netip.Addr // the simulated target, and the prober
	msg      []byte     // the ICMP message
}

// setup configures the namespace and starts the responder.
func (s *Sim) setup() error {
	lines := []string{
		"link set lo up",
		"route add local " + s.opts.Prefix4.String() + " dev lo", // family from the address
		"route add local " + s.opts.Prefix6.String() + " dev lo",
	}
	for _, p := range s.opts.Blackhole {
		// Table local: the AnyIP routes live there and it is consulted first.
		lines = append(lines, "route add blackhole "+p.String()+" table local")
	}
	if err := ipBatch(s.ns.name, lines); err != nil {
		return err
	}
	for _, kv := range [][2]string{
		{"net/ipv4/icmp_echo_ignore_all", "1"}, // the responder answers, not the kernel
		{"net/ipv6/icmp/echo_ignore_all", "1"},
		{"net/ipv4/ping_group_range", "0 2147483647"}, // unprivileged ICMP sockets work
	} {
		if err := s.ns.sysctl(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := s.ns.run(s.openSockets); err != nil {
		return err
	}
	s.wg.Add(3)
	go s.serve(s.rx4, false)
	go s.serve(s.rx6, true)
	go func() {
		defer s.wg.Done()
		s.sched.run()
	}()
	return nil
}

// openSockets opens the responder's raw sockets; it runs inside the namespace.
func (s *Sim) openSockets() error {
	c4, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return fmt.Errorf("raw ICMPv4 socket: %w", err)
	}
	if s.c4, err = ipv4.NewRawConn(c4); err != nil { // sets IP_HDRINCL
		c4.Close()
		return fmt.Errorf("raw ICMPv4 socket: %w", err)
	}
	var f4 ipv4.ICMPFilter
	f4.SetAll(true)
	f4.Accept(ipv4.ICMPTypeEcho) // not our own replies, nor other ICMP
	if err := s.c4.SetICMPFilter(&f4); err != nil {
		return fmt.Errorf("ICMPv4 filter: %w", err)
	}
	if s.rx4, err = rxOptions(c4); err != nil {
		return err
	}

	c6, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return fmt.Errorf("raw ICMPv6 socket: %w", err)
	}
	s.c6 = ipv6.NewPacketConn(c6)
	var f6 ipv6.ICMPFilter
	f6.SetAll(true)
	f6.Accept(ipv6.ICMPTypeEchoRequest)
	if err := s.c6.SetICMPFilter(&f6); err != nil {
		return fmt.Errorf("ICMPv6 filter: %w", err)
	}
	if err := s.c6.SetControlMessage(ipv6.FlagDst, true); err != nil { // IPV6_RECVPKTINFO
		return fmt.Errorf("ICMPv6 packet info: %w", err)
	}
	if s.rx6, err = rxOptions(c6); err != nil {
		return err
	}
	// The simulated addresses are routed locally but not configured on any
	// interface; FREEBIND lets IPV6_PKTINFO use them as the source anyway.
	return setsockopt(s.rx6, unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1)
}

// rxOptions gives a responder socket a large receive buffer and kernel receive
// timestamps, and returns its raw connection for reading.
func rxOptions(c net.PacketConn) (syscall.RawConn, error) {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, err
	}
	if err := setsockopt(rc, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		return nil, err
	}
	return rc, setsockopt(rc, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
}

// setsockopt sets an integer socket option.
func setsockopt(rc syscall.RawConn, level, opt, value int) error {
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, value) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt(%d, %d, %d): %w", level, opt, value, serr)
	}
	return nil
}

// ipBatch runs ip commands, one per line, in the namespace.
func ipBatch(ns string, lines []string) error {
	return ipStdin(strings.Join(lines, "\n")+"\n", "-n", ns, "-batch", "-")
}
