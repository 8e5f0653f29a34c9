package shared

import (
	"pingdeck/internal/ping"
	"testing"
	"time"
)

// TestSharedHotPathDoesNotAllocate: a probe's whole life in the engine's logic
// (scheduled, stamped, sent, its reply matched and credited, its deadline retired; and
// a probe that is lost) allocates nothing, so probing 20,000 targets a second leaves
// the garbage collector idle.
func TestSharedHotPathDoesNotAllocate(t *testing.T) {
	clk := &fakeClock{t: sharedTestEpoch}
	conn := &benchConn{last: make([]byte, 0, 128)}
	core := newSharedCore(clk.now, testCookie, testID, true, ping.NewMetrics(nil))
	answered := testTarget("answered", "198.18.0.1", time.Second, 500*time.Millisecond)
	lost := testTarget("lost", "198.18.0.2", time.Second, 500*time.Millisecond)
	core.update([]ping.Target{answered, lost})
	var ok, timedOut int
	core.start([2]sharedConn{conn}, [2]error{}, func(r ping.Result) {
		if r.OK {
			ok++
		} else if r.Err == ping.ErrTimeout {
			timedOut++
		}
	})
	core.runDue(clk.t.Add(2 * time.Second)) // first sends and their slots' rings set up
	clk.t = clk.t.Add(2 * time.Second)

	var p sharedPacket
	round := func() {
		// One interval: each target's probe goes out; the answered one's reply comes
		// back, the other's deadline passes.
		for i := range 2 {
			clk.t = clk.t.Add(500 * time.Millisecond)
			core.runDue(clk.t)
			if i == 0 && len(conn.last) > 0 && conn.lastDst == answered.Addr {
				conn.last[0] = sharedICMP4Reply
				p = sharedPacket{msg: conn.last, from: answered.Addr, at: clk.t}
				core.receive(&p)
			}
		}
	}
	ok, timedOut = 0, 0
	allocs := testing.AllocsPerRun(200, round)
	if allocs != 0 {
		t.Errorf("%v allocations per probe round, want 0", allocs)
	}
	if ok == 0 || timedOut == 0 {
		t.Fatalf("the rounds did not exercise both paths: %d answered, %d lost", ok, timedOut)
	}
}
