package alerts

import (
	"context"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/notify"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// memRules keeps rules and alerts in memory; notes records notifications.
type memRules struct {
	mu       sync.Mutex
	rules    []store.AlertRule
	alerts   map[string]*store.Alert
	notes    []notify.Notification
	silences []store.Silence
	bell     []groups.Notification
}

func (m *memRules) SetAlertTargets(_ context.Context, id string, n int) error {
	m.alerts[id].Targets = n
	return nil
}

func (m *memRules) SilencesBetween(_ context.Context, from, until time.Time, _ int) ([]store.Silence, error) {
	var out []store.Silence
	for _, s := range m.silences {
		if s.To.After(from) && s.From.Before(until) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memRules) NotifyGroupEditors(_ context.Context, groupID string, n groups.Notification) error {
	n.GroupID = groupID
	m.bell = append(m.bell, n)
	return nil
}

func (m *memRules) AlertRules(context.Context, string) ([]store.AlertRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.AlertRule(nil), m.rules...), nil
}
func (m *memRules) OpenAlerts(context.Context) ([]store.Alert, error) {
	var out []store.Alert
	for _, a := range m.alerts {
		if a.ResolvedAt == nil {
			out = append(out, *a)
		}
	}
	return out, nil
}
func (m *memRules) OpenAlert(_ context.Context, a *store.Alert) error {
	m.alerts[a.ID] = a
	return nil
}
func (m *memRules) ResolveAlert(_ context.Context, id string, at time.Time) error {
	m.alerts[id].ResolvedAt = &at
	return nil
}
func (m *memRules) Enqueue(_ context.Context, ids []string, n notify.Notification) error {
	m.notes = append(m.notes, n)
	return nil
}

func TestRulesFireAfterTheirDurationAndResolve(t *testing.T) {
	m := &memRules{alerts: map[string]*store.Alert{}, rules: []store.AlertRule{
		{ID: "r1", GroupID: "g", GroupName: "edge", Name: "two down", State: "down", MinTargets: 2, For: 3 * time.Second, ChannelIDs: []string{"c"}},
		{ID: "r2", GroupID: "g", GroupName: "edge", Name: "half degraded", State: "degraded", MinTargets: 1, MinPct: 50, ChannelIDs: []string{"c"}},
	}}
	r := &rules{store: m, notifier: m, open: map[string]store.Alert{}, since: map[string]time.Time{}}
	e := NewEngine()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	probe := func(target string, ok bool) {
		res := ping.Result{TargetID: target, GroupID: "g", Location: "local", SentAt: at, OK: ok}
		if !ok {
			res.Err = ping.ErrTimeout
		}
		e.Observe(res, Thresholds{Window: 3, Consecutive: 1})
	}
	tick := func() {
		at = at.Add(time.Second)
		r.evaluate(context.Background(), e, at, func(string, ...any) {})
	}
	for range 3 {
		probe("a", true)
		probe("b", true)
		probe("c", true)
		tick()
	}
	if len(m.notes) != 0 {
		t.Fatalf("notified while all up: %+v", m.notes)
	}
	// a and b go down: r2 (2 of 3 ≥ 50 %, degraded or worse) fires at once; r1 after 3 s.
	for range 3 {
		probe("a", false)
		probe("b", false)
		probe("c", true)
	}
	tick()
	if len(m.notes) != 1 || m.notes[0].Rule != "half degraded" || m.notes[0].State != notify.Firing || m.notes[0].Severity != "warning" {
		t.Fatalf("after a and b went down: %+v", m.notes)
	}
	tick()
	tick()
	if len(m.notes) != 1 {
		t.Fatalf("two down fired before 3 s: %+v", m.notes)
	}
	tick()
	if len(m.notes) != 2 || m.notes[1].Rule != "two down" || m.notes[1].Severity != "critical" || m.notes[1].Figures["targets"] != 2 {
		t.Fatalf("after 3 s: %+v", m.notes)
	}
	tick() // still down: nothing new
	if len(m.notes) != 2 {
		t.Fatalf("fired twice: %+v", m.notes)
	}
	// A restart does not fire again what is open.
	r2 := &rules{store: m, notifier: m, open: map[string]store.Alert{}, since: map[string]time.Time{}}
	r2.evaluate(context.Background(), e, at.Add(10*time.Second), func(string, ...any) {})
	r2.evaluate(context.Background(), e, at.Add(20*time.Second), func(string, ...any) {})
	if len(m.notes) != 2 {
		t.Fatalf("a restarted evaluator fired again: %+v", m.notes)
	}
	// Back up: both resolve, once each, sharing their alert's ID.
	for range 3 {
		probe("a", true)
		probe("b", true)
	}
	r2.evaluate(context.Background(), e, at.Add(21*time.Second), func(string, ...any) {})
	r2.evaluate(context.Background(), e, at.Add(22*time.Second), func(string, ...any) {})
	if len(m.notes) != 4 || m.notes[2].State != notify.Resolved || m.notes[3].State != notify.Resolved {
		t.Fatalf("after they came back: %+v", m.notes)
	}
	for _, n := range m.notes[2:] {
		var firing string
		for _, f := range m.notes[:2] {
			if f.Rule == n.Rule {
				firing = f.AlertID
			}
		}
		if n.AlertID != firing || n.ID == firing+":firing" {
			t.Errorf("resolve %+v does not pair with its firing %s", n, firing)
		}
	}
}

func TestAMutedRuleStaysQuiet(t *testing.T) {
	until := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	m := &memRules{alerts: map[string]*store.Alert{}, rules: []store.AlertRule{
		{ID: "r", GroupID: "g", Name: "down", State: "down", MinTargets: 1, ChannelIDs: []string{"c"}, MutedUntil: &until}}}
	r := &rules{store: m, notifier: m, open: map[string]store.Alert{}, since: map[string]time.Time{}}
	e := NewEngine()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for range 3 {
		e.Observe(ping.Result{TargetID: "a", GroupID: "g", Location: "local", SentAt: at, Err: ping.ErrTimeout}, Thresholds{Window: 3, Consecutive: 1})
	}
	r.evaluate(context.Background(), e, at, func(string, ...any) {})
	if len(m.notes) != 0 {
		t.Fatalf("a muted rule fired: %+v", m.notes)
	}
	r.evaluate(context.Background(), e, until.Add(time.Second), func(string, ...any) {})
	if len(m.notes) != 1 {
		t.Fatalf("after the mute: %+v", m.notes)
	}
}
