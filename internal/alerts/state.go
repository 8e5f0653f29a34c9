// Package alerts decides each target's state (up, degraded, down, unknown) from its
// probe results, per location, with hysteresis and flap damping, and reports every
// change of state as a Transition to be stored and alerted on.
package alerts

import (
	"slices"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// State is a target's condition at one location.
type State string

// States.
const (
	Unknown  State = "unknown" // not enough results yet, paused, unresolved or its location offline
	Up       State = "up"
	Degraded State = "degraded"
	Down     State = "down"
)

// Thresholds decide a state from the last Window probes that left (probes that never
// left — no address, send refused — are no evidence either way); see groups.Thresholds.
// Zero fields take the defaults.
type Thresholds = groups.Thresholds

// DefaultThresholds are used where a group and its target set none.
func DefaultThresholds() Thresholds { return groups.DefaultThresholds() }

// Transition is a target's change of state at one location, with the figures that
// caused it.
type Transition struct {
	TargetID, GroupID, Location string
	From, To                    State
	At                          time.Time
	LossPct                     float64  // over the window
	RTTMs                       *float64 // the percentile of the window's answered probes
	Flapping                    bool
}

// probe is one result a tracker keeps.
type probe struct {
	ok    bool
	rttUs int64
}

// tracker is one target's recent results and state at one location.
type tracker struct {
	group   string
	recent  []probe // ring of the last Window probes that left
	next    int
	state   State
	pending State // the candidate state of the current streak
	streak  int
	changes []time.Time // recent transitions, for flap damping
}

// Engine keeps a tracker per target and location. It is not safe for concurrent use:
// one goroutine feeds it.
type Engine struct {
	trackers map[key]*tracker
}

type key struct{ target, location string }

// NewEngine returns an engine knowing no target.
func NewEngine() *Engine { return &Engine{trackers: map[key]*tracker{}} }

// Observe takes one result and returns the transition it caused, if any.
func (e *Engine) Observe(r ping.Result, th Thresholds) (Transition, bool) {
	th = withDefaults(th)
	k := key{r.TargetID, r.Location}
	t := e.trackers[k]
	if t == nil {
		t = &tracker{state: Unknown}
		e.trackers[k] = t
	}
	t.group = r.GroupID
	if !r.OK && r.Err != "" && r.Err != ping.ErrTimeout {
		return Transition{}, false // never left: no evidence of loss
	}
	p := probe{ok: r.OK}
	if r.OK {
		p.rttUs = r.RTT.Microseconds()
	}
	if len(t.recent) > th.Window || (len(t.recent) < th.Window && t.next != 0) { // the window changed
		t.recent, t.next = resize(t.recent, t.next, th.Window), 0
	}
	if len(t.recent) < th.Window {
		t.recent = append(t.recent, p)
	} else {
		t.recent[t.next] = p
		t.next = (t.next + 1) % th.Window
	}
	lossPct, rtt := t.figures(th)
	candidate := t.decide(th, lossPct, rtt)
	return t.step(r, th, candidate, lossPct, rtt)
}

// SetUnknown makes every tracker of location (or, with target set, that target's at
// every location) unknown: the location went offline, the target was paused. It
// returns the transitions.
func (e *Engine) SetUnknown(location, target string, at time.Time) []Transition {
	var out []Transition
	for k, t := range e.trackers {
		if (location != "" && k.location != location) || (target != "" && k.target != target) {
			continue
		}
		if t.state != Unknown {
			out = append(out, Transition{TargetID: k.target, GroupID: t.group, Location: k.location, From: t.state, To: Unknown, At: at})
			t.state = Unknown
		}
		t.recent, t.next, t.streak, t.pending = t.recent[:0], 0, 0, ""
	}
	return out
}

// Forget drops a target's trackers (it was deleted).
func (e *Engine) Forget(target string) {
	for k := range e.trackers {
		if k.target == target {
			delete(e.trackers, k)
		}
	}
}

// figures are the window's loss and RTT percentile (nil when nothing answered).
func (t *tracker) figures(th Thresholds) (float64, *float64) {
	var lost int
	var rtts []int64
	for _, p := range t.recent {
		if p.ok {
			rtts = append(rtts, p.rttUs)
		} else {
			lost++
		}
	}
	loss := 100 * float64(lost) / float64(len(t.recent))
	if len(rtts) == 0 {
		return loss, nil
	}
	slices.Sort(rtts)
	rank := (th.RTTPercentile*len(rtts) + 99) / 100 // nearest rank
	ms := float64(rtts[max(rank, 1)-1]) / 1000
	return loss, &ms
}

// decide is the state the window's figures call for; unknown until the window holds
// enough probes to tell (Consecutive of them).
func (t *tracker) decide(th Thresholds, lossPct float64, rtt *float64) State {
	switch {
	case len(t.recent) < min(th.Consecutive, th.Window):
		return Unknown
	case lossPct >= th.DownLossPct:
		return Down
	case lossPct >= th.DegradedLossPct:
		return Degraded
	case th.DegradedRTTMs > 0 && rtt != nil && *rtt >= th.DegradedRTTMs:
		return Degraded
	}
	return Up
}

// step counts the candidate's streak and changes state once it is long enough.
func (t *tracker) step(r ping.Result, th Thresholds, candidate State, lossPct float64, rtt *float64) (Transition, bool) {
	if candidate == t.state || candidate == Unknown {
		t.pending, t.streak = "", 0
		return Transition{}, false
	}
	if candidate != t.pending {
		t.pending, t.streak = candidate, 0
	}
	t.streak++
	// Leaving unknown needs no streak: the window already holds enough probes.
	if t.state != Unknown && t.streak < th.Consecutive {
		return Transition{}, false
	}
	tr := Transition{TargetID: r.TargetID, GroupID: r.GroupID, Location: r.Location, From: t.state, To: candidate,
		At: r.SentAt, LossPct: lossPct, RTTMs: rtt}
	t.state, t.pending, t.streak = candidate, "", 0
	cutoff := r.SentAt.Add(-th.FlapWindow)
	t.changes = slices.DeleteFunc(append(t.changes, r.SentAt), func(at time.Time) bool { return at.Before(cutoff) })
	tr.Flapping = len(t.changes) >= th.FlapChanges
	return tr, true
}

// resize makes a ring of n probes keeping the newest of old (next is its write index).
func resize(old []probe, next, n int) []probe {
	ordered := append(slices.Clone(old[next:]), old[:next]...)
	if len(ordered) > n {
		ordered = ordered[len(ordered)-n:]
	}
	return ordered
}

func withDefaults(th Thresholds) Thresholds {
	d := DefaultThresholds()
	if th.Window <= 0 {
		th.Window = d.Window
	}
	if th.DownLossPct <= 0 {
		th.DownLossPct = d.DownLossPct
	}
	if th.DegradedLossPct <= 0 {
		th.DegradedLossPct = d.DegradedLossPct
	}
	if th.RTTPercentile <= 0 {
		th.RTTPercentile = d.RTTPercentile
	}
	if th.Consecutive <= 0 {
		th.Consecutive = d.Consecutive
	}
	if th.FlapChanges <= 0 {
		th.FlapChanges = d.FlapChanges
	}
	if th.FlapWindow <= 0 {
		th.FlapWindow = d.FlapWindow
	}
	return th
}
