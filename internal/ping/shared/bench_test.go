package shared

import (
	"net/netip"
	"pingdeck/internal/ping"
	"testing"
	"time"
)

// benchConn keeps the last request sent so the benchmark can answer it in place.
type benchConn struct {
	last    []byte
	lastDst netip.Addr
}

func (c *benchConn) writeTo(msg []byte, dst netip.Addr) error {
	c.last, c.lastDst = append(c.last[:0], msg...), dst
	return nil
}
func (c *benchConn) readBatch([]sharedPacket, int) (int, error) { return 0, nil }
func (c *benchConn) close() error                               { return nil }

// BenchmarkSharedSendMatch is one probe's whole life in the engine's logic: scheduled,
// stamped, sent, its reply matched and credited, its deadline retired. It must not
// allocate.
func BenchmarkSharedSendMatch(b *testing.B) {
	clk := &fakeClock{t: sharedTestEpoch}
	conn := &benchConn{last: make([]byte, 0, 128)}
	core := newSharedCore(clk.now, testCookie, testID, true, ping.NewMetrics(nil))
	target := testTarget("bench", "198.18.0.1", time.Second, 500*time.Millisecond)
	core.update([]ping.Target{target})
	var credited int
	core.start([2]sharedConn{conn}, [2]error{}, func(r ping.Result) {
		if r.OK {
			credited++
		}
	})
	var p sharedPacket
	b.ReportAllocs()
	for b.Loop() {
		clk.t = clk.t.Add(time.Second) // one send due, and the last deadline
		core.runDue(clk.t)
		conn.last[0] = sharedICMP4Reply
		p = sharedPacket{msg: conn.last, from: target.Addr, at: clk.t.Add(time.Millisecond)}
		core.receive(&p)
	}
	if credited != b.N {
		b.Fatalf("%d of %d probes credited", credited, b.N)
	}
}
