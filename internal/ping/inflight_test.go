package ping

import (
	"errors"
	"testing"
	"time"
)

func TestInflightOneResultPerProbe(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tg := Target{ID: "t", GroupID: "g", Interval: time.Second, Timeout: 500 * time.Millisecond}
	var got []Result
	f := newInflight(tg, "probing", NewMetrics(nil), func(r Result) { got = append(got, r) }, t0)

	f.sent(0, t0)
	f.received(0, 20*time.Millisecond)  // answered
	f.received(0, 20*time.Millisecond)  // duplicate: ignored
	f.sent(1, t0.Add(time.Second))      // no reply
	f.sent(2, t0.Add(2*time.Second))    // expires probe 1
	f.received(2, 600*time.Millisecond) // reply after the timeout
	f.received(1, 10*time.Millisecond)  // reply for an expired probe
	f.sendFailed(t0.Add(3*time.Second), errors.New("network is unreachable"))
	f.sent(4, time.Now()) // in flight at shutdown
	f.finish(true)

	want := []Result{
		{TargetID: "t", GroupID: "g", SentAt: t0, RTT: 20 * time.Millisecond, OK: true},
		{TargetID: "t", GroupID: "g", SentAt: t0.Add(time.Second), Err: ErrTimeout},
		{TargetID: "t", GroupID: "g", SentAt: t0.Add(2 * time.Second), Err: ErrTimeout},
		{TargetID: "t", GroupID: "g", SentAt: t0.Add(3 * time.Second), Err: "send: network is unreachable"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// Without shutdown, whatever is still pending when a pinger ends is lost.
	got = nil
	f = newInflight(tg, "probing", nil, func(r Result) { got = append(got, r) }, t0)
	f.sent(7, t0)
	f.finish(false)
	if len(got) != 1 || got[0].OK || got[0].Err != ErrTimeout {
		t.Fatalf("pending probe at the end of a pinger: %+v", got)
	}
}
