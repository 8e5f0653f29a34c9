package alerts

import (
	"context"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/notify"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// clockedRules drives rules with a fake clock, one evaluation a second.
type clockedRules struct {
	t  *testing.T
	m  *memRules
	r  *rules
	e  *Engine
	at time.Time
}

func newClockedRules(t *testing.T, rs ...store.AlertRule) *clockedRules {
	m := &memRules{alerts: map[string]*store.Alert{}, rules: rs}
	return &clockedRules{t: t, m: m, r: &rules{store: m, notifier: m, open: map[string]store.Alert{}, since: map[string]time.Time{}},
		e: NewEngine(), at: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
}

// probe feeds each target one result (ok or lost) and evaluates a second later.
func (c *clockedRules) tick(ok map[string]bool) {
	for target, up := range ok {
		res := ping.Result{TargetID: target, GroupID: "g", Location: "local", SentAt: c.at, OK: up, RTT: time.Millisecond}
		if !up {
			res.Err = ping.ErrTimeout
		}
		c.e.Observe(res, Thresholds{Window: 3, Consecutive: 1})
	}
	c.at = c.at.Add(time.Second)
	c.r.evaluate(context.Background(), c.e, c.at, func(string, ...any) {})
}

func (c *clockedRules) ticks(n int, ok map[string]bool) {
	for range n {
		c.tick(ok)
	}
}

func (c *clockedRules) states() []notify.State {
	out := make([]notify.State, len(c.m.notes))
	for i, n := range c.m.notes {
		out[i] = n.State
	}
	return out
}

func (c *clockedRules) firing() int {
	n := 0
	for _, a := range c.m.alerts {
		if a.ResolvedAt == nil {
			n++
		}
	}
	return n
}

// TestAGroupSilenceKeepsItsRulesQuiet: while a group-wide maintenance window is on, a
// blackholed target neither fires the rule nor notifies (channels or bell); once it
// ends, the rule fires after its duration.
func TestAGroupSilenceKeepsItsRulesQuiet(t *testing.T) {
	c := newClockedRules(t, store.AlertRule{ID: "r", GroupID: "g", GroupName: "edge", Name: "edge down", State: "down",
		MinTargets: 1, For: 2 * time.Second, ChannelIDs: []string{"c"}})
	c.m.silences = []store.Silence{{ID: "s", GroupID: "g", From: c.at, To: c.at.Add(30 * time.Second)}}
	c.ticks(3, map[string]bool{"a": true, "b": true})
	c.ticks(20, map[string]bool{"a": false, "b": true})
	if len(c.m.notes) != 0 || len(c.m.bell) != 0 || c.firing() != 0 {
		t.Fatalf("during the window: notes %v, bell %+v, firing %d", c.states(), c.m.bell, c.firing())
	}
	c.ticks(10, map[string]bool{"a": false, "b": true}) // the window ends at +30 s
	if got := c.states(); len(got) != 1 || got[0] != notify.Firing || c.firing() != 1 {
		t.Fatalf("after the window: %v, firing %d", got, c.firing())
	}
	if len(c.m.bell) != 1 || c.m.bell[0].Kind != groups.NotifyAlert || c.m.bell[0].GroupID != "g" {
		t.Fatalf("the bell: %+v", c.m.bell)
	}
	if firstFiring := c.at; firstFiring.Before(time.Date(2026, 12, 7, 10, 0, 32, 0, time.UTC)) {
		t.Fatalf("fired at %v, before the window's end + 2 s", firstFiring)
	}
}

// TestATargetSilence: a silenced target does not count (the rule does not fire for
// it, though another target's going down still fires it); a firing rule whose target
// is then silenced stays firing, without a word, until the target is really back.
func TestATargetSilence(t *testing.T) {
	c := newClockedRules(t, store.AlertRule{ID: "r", GroupID: "g", GroupName: "edge", Name: "any down", State: "down",
		MinTargets: 1, ChannelIDs: []string{"c"}})
	c.m.silences = []store.Silence{{ID: "s", GroupID: "g", TargetID: "a", From: c.at, To: c.at.Add(20 * time.Second)}}
	c.ticks(3, map[string]bool{"a": true, "b": true})
	c.ticks(5, map[string]bool{"a": false, "b": true})
	if len(c.m.notes) != 0 || c.firing() != 0 {
		t.Fatalf("a silenced target fired the rule: %v", c.states())
	}
	c.ticks(5, map[string]bool{"a": false, "b": false})
	if got := c.states(); len(got) != 1 || got[0] != notify.Firing || c.m.notes[0].Figures["targets"] != 1 {
		t.Fatalf("b down: %+v", c.m.notes)
	}
	// b comes back while a (silenced) is still down: the alert stays as it is.
	c.ticks(5, map[string]bool{"a": false, "b": true})
	if len(c.m.notes) != 1 || c.firing() != 1 {
		t.Fatalf("resolved while a silenced target still holds it: %v", c.states())
	}
	// The window ends with a still down: a counts again; the alert keeps firing, now
	// for a, without a second firing.
	c.ticks(10, map[string]bool{"a": false, "b": true})
	if len(c.m.notes) != 1 || c.firing() != 1 {
		t.Fatalf("after the window: %v", c.states())
	}
	c.ticks(5, map[string]bool{"a": true, "b": true})
	if got := c.states(); len(got) != 2 || got[1] != notify.Resolved || len(c.m.bell) != 2 {
		t.Fatalf("all back: %v, bell %+v", got, c.m.bell)
	}
}

// memThresholds serves overrides from memory.
type memThresholds struct {
	groups  map[string]groups.ThresholdOverride
	targets map[string]store.TargetThresholds
}

func (m *memThresholds) AllThresholds(context.Context) (map[string]groups.ThresholdOverride, map[string]store.TargetThresholds, error) {
	return m.groups, m.targets, nil
}

// TestThresholdsDecideStates: the same slow answers are up under the built-in
// thresholds and degraded once the target's override sets degraded_rtt_ms; a group's
// window and consecutive apply to its targets; a change is read within seconds.
func TestThresholdsDecideStates(t *testing.T) {
	rtt80 := 80.0
	st := &memThresholds{}
	th := &thresholds{store: st}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	th.reload(context.Background(), at, t.Logf)
	e := NewEngine()
	var got []State
	feed := func(n int, target string, ok bool, rtt time.Duration) {
		for range n {
			at = at.Add(time.Second)
			r := ping.Result{TargetID: target, GroupID: "g", Location: "local", SentAt: at, OK: ok, RTT: rtt}
			if !ok {
				r.Err = ping.ErrTimeout
			}
			if tr, changed := e.Observe(r, th.of("g", target)); changed {
				got = append(got, tr.To)
			}
		}
	}
	feed(20, "t", true, 100*time.Millisecond)
	if len(got) != 1 || got[0] != Up {
		t.Fatalf("built-in thresholds: %v", got)
	}
	th.reload(context.Background(), at, t.Logf) // read (nothing new) just now
	one, window := 1, 3
	st.groups = map[string]groups.ThresholdOverride{"g": {Window: &window, Consecutive: &one}}
	st.targets = map[string]store.TargetThresholds{"t": {GroupID: "g", Override: groups.ThresholdOverride{DegradedRTTMs: &rtt80}}}
	th.reload(context.Background(), at.Add(time.Second), t.Logf) // too soon: not read yet
	feed(1, "t", true, 100*time.Millisecond)
	if len(got) != 1 {
		t.Fatalf("a change applied before it was read: %v", got)
	}
	th.reload(context.Background(), at.Add(reloadThresholdsEvery), t.Logf)
	if eff := th.of("g", "t"); eff.Window != 3 || eff.Consecutive != 1 || eff.DegradedRTTMs != 80 || eff.DownLossPct != 100 {
		t.Fatalf("effective: %+v", eff)
	}
	feed(1, "t", true, 100*time.Millisecond)
	if len(got) != 2 || got[1] != Degraded {
		t.Fatalf("with degraded_rtt_ms 80: %v", got)
	}
	// Another target of the group takes the group's window of 3 and consecutive 1: one
	// lost probe of 3 (33 %) is degraded at once.
	feed(3, "u", true, time.Millisecond)
	feed(1, "u", false, 0)
	if len(got) != 4 || got[2] != Up || got[3] != Degraded {
		t.Fatalf("the group's thresholds: %v", got)
	}
}
