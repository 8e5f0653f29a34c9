//go:build linux

package ping

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
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
