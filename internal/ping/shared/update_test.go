package shared

import (
	"net/netip"
	"pingdeck/internal/ping"
	"testing"
	"time"
)

// TestSharedUpdate: a removed target stops at once and its in-flight reply is not
// credited to anyone; an unchanged target keeps its schedule; a new one starts within
// an interval at its phase; a changed one restarts.
func TestSharedUpdate(t *testing.T) {
	const interval, timeout = time.Second, 500 * time.Millisecond
	a := testTarget("a", "198.18.0.1", interval, timeout)
	b := testTarget("b", "198.18.0.2", interval, timeout)
	h := newCoreHarness(t, true, a, b)
	h.run(interval)

	sendsTo := func(addr string) []time.Time {
		var at []time.Time
		for i, s := range h.conn4.sends() {
			if s.dst == netip.MustParseAddr(addr) {
				at = append(at, h.sentAt(h.conn4, i))
			}
		}
		return at
	}
	// Leave a's next probe in flight, then replace a by c at the same address: the
	// slot is reused, and a's reply must not be credited to c.
	h.runUntil(sharedTestEpoch.Add(interval + ping.Phase("a", interval) + time.Millisecond))
	aInFlight := len(h.conn4.sends()) - 1
	if h.conn4.sends()[aInFlight].dst != a.Addr {
		t.Fatal("test setup: a's second probe is not the last sent")
	}
	c := testTarget("c", "198.18.0.1", interval, timeout)
	updatedAt := h.clk.t
	h.core.update([]ping.Target{b, c})
	h.reply(h.conn4, aInFlight, 2*time.Millisecond, nil)
	h.run(3 * interval)

	if rs := h.resultsFor("a"); len(rs) != 1 {
		t.Errorf("a: %d results, want only the one before the update: %+v", len(rs), rs)
	}
	if h.core.stats.Abandoned.Load() != 1 || h.core.stats.Late.Load() != 1 {
		t.Errorf("a's probe in flight: stats %v, want it abandoned and its reply ignored", statsOf(&h.core.stats))
	}
	var cs []time.Time
	for _, at := range sendsTo("198.18.0.1") {
		if at.After(updatedAt) {
			cs = append(cs, at)
		}
	}
	if len(cs) != 3 || cs[0].Sub(updatedAt) > interval {
		t.Errorf("c: probes at %v after an update at %v; want 3, the first within an interval", cs, updatedAt)
	}
	bs := sendsTo("198.18.0.2")
	for i := 1; i < len(bs); i++ {
		if bs[i].Sub(bs[i-1]) != interval {
			t.Errorf("b's schedule moved across the update: sends at %v", bs)
		}
	}
	wantB := 4 // one per interval, and one more if b's phase came before the end
	if ping.Phase("b", interval) <= ping.Phase("a", interval)+time.Millisecond {
		wantB++
	}
	if len(bs) != wantB {
		t.Errorf("b: %d probes, want %d", len(bs), wantB)
	}

	// A changed setting restarts the target (its probes so far still count).
	b2 := b
	b2.Timeout = 200 * time.Millisecond
	h.core.update([]ping.Target{b2, c})
	h.run(interval)
	if got := len(sendsTo("198.18.0.2")); got != wantB+1 {
		t.Errorf("b after its change: %d probes, want %d", got, wantB+1)
	}
	h.core.update(nil)
	before := len(h.conn4.sends())
	h.run(3 * interval)
	if after := len(h.conn4.sends()); after != before {
		t.Errorf("%d probes sent after every target was removed", after-before)
	}
}

// TestSharedPacket: the payload is Target.Size bytes (clamped so the stamp fits), the
// IPv4 checksum verifies, and IPv6 requests are ICMPv6 echo requests.
func TestSharedPacket(t *testing.T) {
	buf := make([]byte, sharedEchoHeaderLen+sharedPayloadMax)
	for _, tc := range []struct{ size, want int }{{0, 24}, {24, 24}, {56, 56}, {1472, 1472}, {1 << 20, sharedPayloadMax}} {
		tt := normalizeSharedTarget(ping.Target{ID: "x", Addr: netip.MustParseAddr("::ffff:198.18.0.1"), Size: tc.size})
		if tt.Size != tc.want || !tt.Addr.Is4() {
			t.Errorf("size %d: normalized to %d (addr %v), want %d and an IPv4 address", tc.size, tt.Size, tt.Addr, tc.want)
		}
		st := sharedStamp{cookie: 1, slot: 2, gen: 3, seq: 4, sentNs: 5}
		msg := buildSharedEcho(buf, false, 0xbeef, 7, st, tt.Size)
		if len(msg) != sharedEchoHeaderLen+tc.want || sharedChecksum(msg) != 0 {
			t.Errorf("size %d: message of %d bytes, checksum over it %#x; want %d bytes, 0", tc.size, len(msg), sharedChecksum(msg), sharedEchoHeaderLen+tc.want)
		}
		e, ok := parseSharedEcho(msg)
		if !ok || e.typ != sharedICMP4Request || e.id != 0xbeef || e.seq != 7 || readSharedStamp(e.payload) != st {
			t.Errorf("size %d: parsed %+v", tc.size, e)
		}
	}
	if msg := buildSharedEcho(buf, true, 1, 1, sharedStamp{}, 24); msg[0] != sharedICMP6Request {
		t.Errorf("IPv6 request has type %d", msg[0])
	}
}

// TestSharedUpdateChurn: targets changed over and over (a user editing a group) do not
// grow the schedule without bound, and the schedule still yields events in order.
func TestSharedUpdateChurn(t *testing.T) {
	h := newCoreHarness(t, true)
	for i := range 5000 {
		a := testTarget("a", "198.18.0.1", time.Hour, time.Duration(i+1)*time.Millisecond)
		h.core.update([]ping.Target{a, testTarget("b", "198.18.0.2", time.Second, time.Second)})
	}
	if n := len(h.core.events); n > 2000 {
		t.Errorf("%d events scheduled for 2 targets after 5000 updates", n)
	}
	last := int64(-1 << 63)
	for len(h.core.events) > 0 {
		e := h.core.events.pop()
		if e.at < last {
			t.Fatalf("schedule out of order: %d after %d", e.at, last)
		}
		last = e.at
	}
}
