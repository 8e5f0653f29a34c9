package shared

import (
	"encoding/binary"
	"net/netip"
	"pingdeck/internal/ping"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeSharedConn stands in for an ICMP socket. It records what is sent, can refuse
// sends to chosen addresses, and with echo set answers every request itself, the way
// the kernel does for a local address (rewriting the id, as a ping socket would).
type fakeSharedConn struct {
	echo      bool
	rewriteID uint16 // datagram sockets: the id the kernel puts on the wire

	mu     sync.Mutex
	sent   []fakeSend
	refuse map[netip.Addr]error

	inbox chan sharedPacket
	done  chan struct{}
	once  sync.Once
}

type fakeSend struct {
	msg []byte
	dst netip.Addr
}

func newFakeSharedConn(echo bool) *fakeSharedConn {
	return &fakeSharedConn{echo: echo, refuse: map[netip.Addr]error{},
		inbox: make(chan sharedPacket, 4096), done: make(chan struct{})}
}

func (f *fakeSharedConn) writeTo(msg []byte, dst netip.Addr) error {
	f.mu.Lock()
	err := f.refuse[dst]
	if err == nil {
		f.sent = append(f.sent, fakeSend{msg: slices.Clone(msg), dst: dst})
	}
	f.mu.Unlock()
	if err != nil || !f.echo {
		return err
	}
	select {
	case f.inbox <- sharedPacket{msg: fakeReplyMsg(msg, f.rewriteID), from: dst, at: time.Now()}:
	default: // a full socket buffer drops
	}
	return nil
}

func (f *fakeSharedConn) readBatch(ps []sharedPacket, _ int) (int, error) {
	for n := range ps {
		select {
		case <-f.done:
			return n, errSharedConnClosed
		case ps[n] = <-f.inbox:
		default:
			return n, nil
		}
	}
	return len(ps), nil
}

func (f *fakeSharedConn) close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

func (f *fakeSharedConn) sends() []fakeSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// fakeReplyMsg turns an echo request into its reply; id 0 keeps the request's id.
func fakeReplyMsg(req []byte, id uint16) []byte {
	msg := slices.Clone(req)
	msg[0] = sharedICMP4Reply
	if req[0] == sharedICMP6Request {
		msg[0] = sharedICMP6Reply
	}
	if id != 0 {
		binary.BigEndian.PutUint16(msg[4:], id)
	}
	return msg
}

// fakeClock is the time as a core under test sees it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// coreHarness drives a sharedCore by hand: time moves only when the test says so,
// and every event is handled exactly when it is due.
type coreHarness struct {
	t       *testing.T
	clk     *fakeClock
	core    *sharedCore
	conn4   *fakeSharedConn
	conn6   *fakeSharedConn
	results []ping.Result
}

var sharedTestEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	testCookie = 0x5044_4b31
	testID     = 0x1234
)

func newCoreHarness(t *testing.T, raw bool, targets ...ping.Target) *coreHarness {
	t.Helper()
	h := &coreHarness{t: t, clk: &fakeClock{t: sharedTestEpoch},
		conn4: newFakeSharedConn(false), conn6: newFakeSharedConn(false)}
	h.core = newSharedCore(h.clk.now, testCookie, testID, raw, ping.NewMetrics(nil))
	h.core.update(targets)
	h.core.start([2]sharedConn{h.conn4, h.conn6}, [2]error{}, func(r ping.Result) { h.results = append(h.results, r) })
	return h
}

// runUntil handles every event due up to t, each at its own time, and leaves the
// clock at t.
func (h *coreHarness) runUntil(t time.Time) {
	h.t.Helper()
	for {
		next, ok := h.core.runDue(h.clk.t)
		if !ok || next.After(t) {
			break
		}
		h.clk.t = next
	}
	h.clk.t = t
	h.core.runDue(t)
}

func (h *coreHarness) run(d time.Duration) { h.runUntil(h.clk.t.Add(d)) }

// reply delivers the reply to send i of conn after delay, changed by edit if given.
func (h *coreHarness) reply(conn *fakeSharedConn, i int, delay time.Duration, edit func(*sharedPacket)) {
	h.t.Helper()
	sent := conn.sends()
	if i >= len(sent) {
		h.t.Fatalf("reply to send %d: only %d sent", i, len(sent))
	}
	st := readSharedStamp(sent[i].msg[sharedEchoHeaderLen:])
	p := sharedPacket{msg: fakeReplyMsg(sent[i].msg, 0), from: sent[i].dst,
		at: time.Unix(0, st.sentNs).Add(delay)}
	if edit != nil {
		edit(&p)
	}
	h.core.receive(&p)
}

// sentAt is when send i of conn left, by its stamp.
func (h *coreHarness) sentAt(conn *fakeSharedConn, i int) time.Time {
	h.t.Helper()
	sent := conn.sends()
	if i >= len(sent) {
		h.t.Fatalf("send %d: only %d sent", i, len(sent))
	}
	return time.Unix(0, readSharedStamp(sent[i].msg[sharedEchoHeaderLen:]).sentNs)
}

func (h *coreHarness) resultsFor(id string) []ping.Result {
	var out []ping.Result
	for _, r := range h.results {
		if r.TargetID == id {
			out = append(out, r)
		}
	}
	return out
}

func testTarget(id, addr string, interval, timeout time.Duration) ping.Target {
	return ping.Target{ID: id, GroupID: "g", Addr: netip.MustParseAddr(addr), Interval: interval, Timeout: timeout, Size: 56}
}
