package shared

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"pingdeck/internal/ping"
	"slices"
	"testing"
	"time"
)

// TestSharedMatch sends one probe and answers it in the ways a network (or another
// program on the host) might; exactly one result must come out, credited only when the
// reply is really ours and in time.
func TestSharedMatch(t *testing.T) {
	const timeout = 300 * time.Millisecond
	other := netip.MustParseAddr("198.18.0.99")
	tests := []struct {
		name    string
		raw     bool
		replies func(h *coreHarness)
		wantOK  bool
		wantRTT time.Duration
		stat    func(*sharedStats) uint64 // counts the ignored reply, if any
	}{
		{name: "reply in time", raw: true, wantOK: true, wantRTT: 3 * time.Millisecond,
			replies: func(h *coreHarness) { h.reply(h.conn4, 0, 3*time.Millisecond, nil) }},
		{name: "no reply", raw: true},
		{name: "reply after the deadline was reported", raw: true, stat: lateCount,
			replies: func(h *coreHarness) {
				h.run(timeout) // the deadline passes and is reported
				h.reply(h.conn4, 0, timeout+time.Millisecond, nil)
			}},
		{name: "reply after the deadline, before it was reported", raw: true, stat: lateCount,
			replies: func(h *coreHarness) { h.reply(h.conn4, 0, timeout+time.Millisecond, nil) }},
		{name: "duplicate reply", raw: true, wantOK: true, wantRTT: 2 * time.Millisecond, stat: duplicateCount,
			replies: func(h *coreHarness) {
				h.reply(h.conn4, 0, 2*time.Millisecond, nil)
				h.reply(h.conn4, 0, 4*time.Millisecond, nil)
			}},
		{name: "wrong id on a raw socket", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) { h.reply(h.conn4, 0, time.Millisecond, setID(testID+1)) }},
		{name: "id rewritten by a datagram socket", raw: false, wantOK: true, wantRTT: time.Millisecond,
			replies: func(h *coreHarness) { h.reply(h.conn4, 0, time.Millisecond, setID(777)) }},
		{name: "another program's cookie", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) { h.reply(h.conn4, 0, time.Millisecond, payloadByte(0, 0xff)) }},
		{name: "send time altered", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) { h.reply(h.conn4, 0, time.Millisecond, payloadByte(23, 0xff)) }},
		{name: "icmp sequence altered", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) {
				h.reply(h.conn4, 0, time.Millisecond, func(p *sharedPacket) { p.msg[7]++ })
			}},
		{name: "payload truncated", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) {
				h.reply(h.conn4, 0, time.Millisecond, func(p *sharedPacket) { p.msg = p.msg[:len(p.msg)-1] })
			}},
		{name: "from another address", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) {
				h.reply(h.conn4, 0, time.Millisecond, func(p *sharedPacket) { p.from = other })
			}},
		{name: "an echo request, not a reply", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) {
				h.reply(h.conn4, 0, time.Millisecond, func(p *sharedPacket) { p.msg[0] = sharedICMP4Request })
			}},
		{name: "too short to be ours", raw: true, stat: foreignCount,
			replies: func(h *coreHarness) {
				h.reply(h.conn4, 0, time.Millisecond, func(p *sharedPacket) { p.msg = p.msg[:12] })
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := testTarget("a", "198.18.0.1", time.Second, timeout)
			h := newCoreHarness(t, tc.raw, a)
			h.runUntil(sharedTestEpoch.Add(ping.Phase("a", time.Second))) // a's first probe goes out at its phase
			if n := len(h.conn4.sends()); n != 1 {
				t.Fatalf("sent %d probes at a's phase, want 1", n)
			}
			sentAt := h.sentAt(h.conn4, 0)
			if want := sharedTestEpoch.Add(ping.Phase("a", time.Second)); !sentAt.Equal(want) {
				t.Errorf("sent at %v, want its phase %v", sentAt, want)
			}
			if tc.replies != nil {
				tc.replies(h)
			}
			h.runUntil(sentAt.Add(timeout)) // the deadline passes; the next send is later

			if len(h.results) != 1 {
				t.Fatalf("got %d results, want exactly 1: %+v", len(h.results), h.results)
			}
			r := h.results[0]
			if r.TargetID != "a" || r.GroupID != "g" || !r.SentAt.Equal(sentAt) {
				t.Errorf("result %+v, want target a, group g, sent at %v", r, sentAt)
			}
			if r.OK != tc.wantOK || r.RTT != tc.wantRTT {
				t.Errorf("result OK=%v RTT=%v, want OK=%v RTT=%v", r.OK, r.RTT, tc.wantOK, tc.wantRTT)
			}
			if !r.OK && r.Err != ping.ErrTimeout {
				t.Errorf("lost probe has Err %q, want %q", r.Err, ping.ErrTimeout)
			}
			if tc.stat != nil && tc.stat(&h.core.stats) != 1 {
				t.Errorf("the ignored reply was not counted: stats %+v", statsOf(&h.core.stats))
			}
		})
	}
}

func lateCount(s *sharedStats) uint64      { return s.Late.Load() }
func duplicateCount(s *sharedStats) uint64 { return s.Duplicate.Load() }
func foreignCount(s *sharedStats) uint64   { return s.Foreign.Load() }

func statsOf(s *sharedStats) map[string]uint64 {
	return map[string]uint64{"sent": s.Sent.Load(), "received": s.Received.Load(), "lost": s.Lost.Load(),
		"send_errors": s.SendErrors.Load(), "late": s.Late.Load(), "duplicate": s.Duplicate.Load(),
		"foreign": s.Foreign.Load(), "abandoned": s.Abandoned.Load()}
}

func setID(id uint16) func(*sharedPacket) {
	return func(p *sharedPacket) { binary.BigEndian.PutUint16(p.msg[4:], id) }
}

func payloadByte(i int, v byte) func(*sharedPacket) {
	return func(p *sharedPacket) { p.msg[sharedEchoHeaderLen+i] = v }
}

// TestSharedSendErrors: a refused send is a failed result at once, never also a loss;
// a family without a socket fails its targets with the reason.
func TestSharedSendErrors(t *testing.T) {
	h := newCoreHarness(t, true,
		testTarget("v4", "198.18.0.1", time.Second, 500*time.Millisecond),
		testTarget("v6", "2001:db8::1", time.Second, 500*time.Millisecond))
	h.conn4.refuse[netip.MustParseAddr("198.18.0.1")] = errors.New("network is unreachable")
	h.core.conns[1], h.core.connErr[1] = nil, errors.New("IPv6 unavailable: address family not supported by protocol")

	h.run(3 * time.Second)
	for id, want := range map[string]string{
		"v4": "send: network is unreachable",
		"v6": "send: IPv6 unavailable: address family not supported by protocol",
	} {
		rs := h.resultsFor(id)
		if len(rs) != 3 {
			t.Fatalf("%s: %d results in 3 intervals, want 3: %+v", id, len(rs), rs)
		}
		for _, r := range rs {
			if r.OK || r.Err != want {
				t.Errorf("%s: result %+v, want Err %q", id, r, want)
			}
		}
	}
	if got := h.core.stats.SendErrors.Load(); got != 6 || h.core.stats.Lost.Load() != 0 {
		t.Errorf("stats %v, want 6 send errors and no losses", statsOf(&h.core.stats))
	}
}

// TestSharedSchedule: each target is probed once per interval at its phase; after a
// stall the engine does not burst to catch up; a timeout longer than the interval
// keeps several probes in flight, each answered or lost exactly once.
func TestSharedSchedule(t *testing.T) {
	t.Run("phase and pace", func(t *testing.T) {
		const interval = 200 * time.Millisecond
		ids := []string{"a", "b", "c"}
		var targets []ping.Target
		for i, id := range ids {
			targets = append(targets, testTarget(id, netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}).String(), interval, 100*time.Millisecond))
		}
		h := newCoreHarness(t, true, targets...)
		h.run(2 * time.Second)
		for _, id := range ids {
			rs := h.resultsFor(id)
			if len(rs) < 9 || len(rs) > 10 {
				t.Fatalf("%s: %d results in 10 intervals", id, len(rs))
			}
			for _, r := range rs {
				if off := r.SentAt.Sub(sharedTestEpoch) % interval; off != ping.Phase(id, interval) {
					t.Errorf("%s: sent %v into its interval, want its phase %v", id, off, ping.Phase(id, interval))
				}
			}
		}
	})
	t.Run("no burst after a stall", func(t *testing.T) {
		a := testTarget("a", "198.18.0.1", 100*time.Millisecond, 50*time.Millisecond)
		h := newCoreHarness(t, true, a)
		h.clk.t = h.clk.t.Add(time.Second) // the scheduler was stopped for ten intervals
		h.core.runDue(h.clk.t)
		if n := len(h.conn4.sends()); n != 1 {
			t.Fatalf("sent %d probes on waking, want 1", n)
		}
		h.run(time.Second)
		if n := len(h.conn4.sends()); n != 11 {
			t.Errorf("sent %d probes, want 11 (one late, then one per interval)", n)
		}
	})
	t.Run("timeout longer than interval", func(t *testing.T) {
		a := testTarget("a", "198.18.0.1", 100*time.Millisecond, 350*time.Millisecond)
		h := newCoreHarness(t, true, a)
		h.run(100 * time.Millisecond)
		for i := range 10 {
			h.runUntil(h.sentAt(h.conn4, i).Add(300 * time.Millisecond)) // three later probes are out
			if i%2 == 0 {
				h.reply(h.conn4, i, 300*time.Millisecond, nil)
			}
		}
		h.run(time.Second)
		rs := h.resultsFor("a")
		slices.SortFunc(rs, func(x, y ping.Result) int { return x.SentAt.Compare(y.SentAt) })
		for i, r := range rs[:10] {
			if !r.SentAt.Equal(h.sentAt(h.conn4, i)) || r.OK != (i%2 == 0) {
				t.Errorf("probe %d: %+v, want sent at %v, OK=%v", i, r, h.sentAt(h.conn4, i), i%2 == 0)
			}
		}
		if sent := len(h.conn4.sends()); len(rs) < sent-4 || len(rs) > sent {
			t.Errorf("%d results for %d probes (at most 4 still in flight)", len(rs), sent)
		}
	})
}
