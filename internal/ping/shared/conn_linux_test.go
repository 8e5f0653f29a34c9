//go:build linux

package shared

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSharedSocketFilter: a raw socket's BPF filter passes echo replies carrying its
// id and nothing else, for IPv4 (where it must skip the IP header) and IPv6; the
// received message is the ICMP message, from the address that answered, stamped by
// the kernel.
func TestSharedSocketFilter(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		dst  netip.Addr
	}{
		{"IPv4", netip.MustParseAddr("127.9.0.1")},
		{"IPv6", netip.IPv6Loopback()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v6 := tc.dst.Is6()
			id := uint16(rand.Uint32()) | 1 // other runs of this test may be pinging too
			otherID := id + 1
			mine, err := openSharedSocket(v6, true, id)
			if err != nil {
				if v6 {
					t.Skipf("no raw ICMPv6 socket: %v", err)
				}
				t.Fatal(err)
			}
			other, err := openSharedSocket(v6, true, otherID)
			if err != nil {
				mine.close()
				t.Fatal(err)
			}
			st := sharedStamp{cookie: rand.Uint32(), seq: 1, sentNs: time.Now().UnixNano()}
			got := readOne(mine, time.Second, func(p sharedPacket) bool { // our reply, or anything malformed
				e, ok := parseSharedEcho(p.msg)
				return !ok || len(e.payload) < sharedStampLen || readSharedStamp(e.payload).cookie == st.cookie
			})
			stray := readOne(other, 300*time.Millisecond, func(sharedPacket) bool { return true })

			buf := make([]byte, sharedEchoHeaderLen+sharedPayloadMax)
			sentAt := time.Now()
			if err := mine.writeTo(buildSharedEcho(buf, v6, id, 9, st, 64), tc.dst); err != nil {
				t.Fatalf("send: %v", err)
			}
			p, ok := <-got
			if !ok {
				t.Fatal("no reply within 1 s on the socket with the matching id")
			}
			e, _ := parseSharedEcho(p.msg)
			wantType := uint8(sharedICMP4Reply)
			if v6 {
				wantType = sharedICMP6Reply
			}
			if e.typ != wantType || e.id != id || e.seq != 9 || len(e.payload) != 64 || readSharedStamp(e.payload) != st {
				t.Errorf("reply %+v, want an echo reply (type %d) with id %#x, seq 9 and our 64-byte payload", e, wantType, id)
			}
			if p.from != tc.dst {
				t.Errorf("reply from %v, want %v", p.from, tc.dst)
			}
			if rtt := p.at.Sub(sentAt); rtt <= 0 || rtt > 5*time.Millisecond {
				t.Errorf("arrival %v after the send, want a kernel stamp within 5 ms", rtt)
			}
			if p, ok := <-stray; ok {
				t.Errorf("the socket with another id received %x from %v", p.msg, p.from)
			}
		})
	}
}

// readOne reads from c, for up to d, until a message that want accepts, then closes
// c. The channel yields that message, or closes empty if none came.
func readOne(c sharedConn, d time.Duration, want func(sharedPacket) bool) <-chan sharedPacket {
	out := make(chan sharedPacket, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		var ps [4]sharedPacket
		for {
			n, err := c.readBatch(ps[:], 1500)
			if err != nil {
				return
			}
			for _, p := range ps[:n] {
				if want(p) {
					p.msg = append([]byte(nil), p.msg...)
					out <- p
					return
				}
			}
			if n == 0 {
				time.Sleep(time.Millisecond) // readBatch does not wait
			}
		}
	}()
	go func() {
		select {
		case <-done:
		case <-time.After(d):
		}
		c.close()
	}()
	return out
}

// TestSharedSocketDontFragment: small IPv4 echo requests go out with Don't Fragment
// and IP ID 0 (the kernel then skips its per-packet ID generator), and a request too
// long for that goes out as before, so it can still be fragmented on a narrow path.
func TestSharedSocketDontFragment(t *testing.T) {
	requireRoot(t)
	// A raw socket without a filter sees every ICMP packet on the host, our requests
	// to 127.x included, with their IP headers.
	spy, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(spy)
	if err := unix.SetsockoptTimeval(spy, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200_000}); err != nil {
		t.Fatal(err)
	}
	id := uint16(rand.Uint32()) | 1
	c, err := openSharedSocket(false, true, id)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	buf := make([]byte, sharedEchoHeaderLen+sharedPayloadMax)
	dst := netip.MustParseAddr("127.9.0.2")
	for i, tc := range []struct {
		size   int
		wantDF bool
	}{{56, true}, {2000, false}, {2000, false}, {56, true}} {
		seq := uint16(100 + i)
		if err := c.writeTo(buildSharedEcho(buf, false, id, seq, sharedStamp{seq: uint32(i)}, tc.size), dst); err != nil {
			t.Fatalf("send %d bytes: %v", tc.size, err)
		}
		hdr, ok := readOwnRequest(t, spy, id, seq)
		if !ok {
			t.Fatalf("request %d (%d bytes) not seen on lo", i, tc.size)
		}
		df, ipID := hdr[6]&0x40 != 0, binary.BigEndian.Uint16(hdr[4:])
		if tc.wantDF && (!df || ipID != 0) {
			t.Errorf("%d-byte request: DF %t, IP ID %d; want DF and ID 0", tc.size, df, ipID)
		}
		if !tc.wantDF && df && ipID == 0 {
			t.Errorf("%d-byte request: DF with ID 0; want the socket's default (an ID drawn, fragmentable)", tc.size)
		}
	}
}

// readOwnRequest reads spy until our echo request with id and seq, and returns its
// IP header (first fragment).
func readOwnRequest(t *testing.T, spy int, id, seq uint16) ([]byte, bool) {
	t.Helper()
	b := make([]byte, 65536)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		n, _, err := unix.Recvfrom(spy, b, 0)
		if err != nil {
			continue // timeout or EINTR: look again until the deadline
		}
		pkt := b[:n]
		ihl := int(pkt[0]&0x0f) * 4
		if n < ihl+8 || pkt[ihl] != sharedICMP4Request {
			continue
		}
		if binary.BigEndian.Uint16(pkt[ihl+4:]) == id && binary.BigEndian.Uint16(pkt[ihl+6:]) == seq {
			return append([]byte(nil), pkt[:ihl]...), true
		}
	}
	return nil, false
}
