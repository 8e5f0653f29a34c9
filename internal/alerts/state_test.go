package alerts

import (
	"testing"
	"time"

	"pingdeck/internal/ping"
)

// feed sends one result a second for target t from location loc: ok or lost, with rtt.
type feed struct {
	e   *Engine
	th  Thresholds
	at  time.Time
	got []Transition
}

func (f *feed) probe(ok bool, rtt time.Duration) {
	f.at = f.at.Add(time.Second)
	r := ping.Result{TargetID: "t", GroupID: "g", Location: "fra", SentAt: f.at, OK: ok, RTT: rtt}
	if !ok {
		r.Err = ping.ErrTimeout
	}
	if tr, ok := f.e.Observe(r, f.th); ok {
		f.got = append(f.got, tr)
	}
}

func (f *feed) run(n int, ok bool, rtt time.Duration) {
	for range n {
		f.probe(ok, rtt)
	}
}

func newFeed(th Thresholds) *feed {
	return &feed{e: NewEngine(), th: th, at: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
}

func states(trs []Transition) []State {
	out := make([]State, len(trs))
	for i, tr := range trs {
		out[i] = tr.To
	}
	return out
}

func TestUpThenDownThenUpWithHysteresis(t *testing.T) {
	f := newFeed(Thresholds{})
	f.run(2, true, 5*time.Millisecond)
	if len(f.got) != 0 {
		t.Fatalf("a state after 2 probes: %+v", f.got)
	}
	f.run(1, true, 5*time.Millisecond)
	if len(f.got) != 1 || f.got[0].From != Unknown || f.got[0].To != Up || *f.got[0].RTTMs != 5 {
		t.Fatalf("after 3 answered probes: %+v", f.got)
	}
	// Blackholed: loss climbs; 1 lost of 10 is degraded (10 %), all 10 lost is down.
	f.run(20, false, 0)
	if got := states(f.got); len(got) != 3 || got[1] != Degraded || got[2] != Down {
		t.Fatalf("blackholed: %v", got)
	}
	down := f.got[2]
	if down.LossPct != 100 || down.RTTMs != nil || down.Flapping {
		t.Fatalf("down with %+v", down)
	}
	// Restored: loss falls below 10 % only when the window is clean again.
	f.run(20, true, 5*time.Millisecond)
	if got := states(f.got); len(got) != 5 || got[3] != Degraded || got[4] != Up {
		t.Fatalf("restored: %v", got)
	}
}

func TestOneLostProbeStaysUnderTheThreshold(t *testing.T) {
	f := newFeed(Thresholds{DegradedLossPct: 20})
	f.run(10, true, time.Millisecond)
	f.run(1, false, 0) // 10 % of the window < 20 %
	f.run(10, true, time.Millisecond)
	if got := states(f.got); len(got) != 1 || got[0] != Up {
		t.Fatalf("one lost probe changed the state: %v", got)
	}
}

func TestAStateNeedsConsecutiveEvaluations(t *testing.T) {
	f := newFeed(Thresholds{Window: 1, Consecutive: 3})
	f.run(3, true, time.Millisecond)
	f.run(2, false, 0) // two evaluations say down
	f.run(1, true, time.Millisecond)
	f.run(2, false, 0)
	if got := states(f.got); len(got) != 1 {
		t.Fatalf("two evaluations changed the state: %v", got)
	}
	f.run(1, false, 0) // the third in a row
	if got := states(f.got); len(got) != 2 || got[1] != Down {
		t.Fatalf("three evaluations: %v", got)
	}
}

func TestSlowAnswersDegrade(t *testing.T) {
	f := newFeed(Thresholds{DegradedRTTMs: 50, RTTPercentile: 95})
	f.run(10, true, 10*time.Millisecond)
	f.run(10, true, 80*time.Millisecond)
	if got := states(f.got); len(got) != 2 || got[1] != Degraded || *f.got[1].RTTMs != 80 {
		t.Fatalf("slow: %+v", f.got)
	}
}

func TestProbesThatNeverLeftAreNoEvidence(t *testing.T) {
	f := newFeed(Thresholds{})
	f.run(5, true, time.Millisecond)
	for range 20 {
		f.at = f.at.Add(time.Second)
		f.e.Observe(ping.Result{TargetID: "t", Location: "fra", SentAt: f.at, Err: "resolve x: no such host"}, f.th)
	}
	if got := states(f.got); len(got) != 1 || got[0] != Up {
		t.Fatalf("unsent probes changed the state: %v", got)
	}
}

func TestFlappingIsSaidOnce(t *testing.T) {
	f := newFeed(Thresholds{Window: 3, Consecutive: 1, FlapChanges: 4, FlapWindow: time.Minute})
	for range 4 {
		f.run(3, true, time.Millisecond)
		f.run(3, false, 0)
	}
	var flapping int
	for _, tr := range f.got {
		if tr.Flapping {
			flapping++
		}
	}
	if flapping == 0 || !f.got[len(f.got)-1].Flapping || f.got[0].Flapping {
		t.Fatalf("flapping marks: %+v", f.got)
	}
}

func TestOfflineMakesUnknown(t *testing.T) {
	f := newFeed(Thresholds{})
	f.run(5, true, time.Millisecond)
	trs := f.e.SetUnknown("fra", "", f.at)
	if len(trs) != 1 || trs[0].From != Up || trs[0].To != Unknown {
		t.Fatalf("offline: %+v", trs)
	}
	if again := f.e.SetUnknown("fra", "", f.at); len(again) != 0 {
		t.Fatalf("unknown twice: %+v", again)
	}
	f.got = nil
	f.run(3, true, time.Millisecond)
	if got := states(f.got); len(got) != 1 || got[0] != Up {
		t.Fatalf("back: %v", got)
	}
}
