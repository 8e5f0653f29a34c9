package alerts

import (
	"context"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/notify"
	"pingdeck/internal/store"
)

// RuleStore keeps alert rules and their firings.
type RuleStore interface {
	AlertRules(ctx context.Context, groupID string) ([]store.AlertRule, error)
	OpenAlerts(ctx context.Context) ([]store.Alert, error)
	OpenAlert(ctx context.Context, a *store.Alert) error
	ResolveAlert(ctx context.Context, id string, at time.Time) error
}

// Notifier queues a notification for channels (notify.Dispatcher).
type Notifier interface {
	Enqueue(ctx context.Context, channelIDs []string, n notify.Notification) error
}

// rules evaluates the groups' alert rules against the targets' states, once a second.
type rules struct {
	store    RuleStore
	notifier Notifier
	list     []store.AlertRule
	loadedAt time.Time
	open     map[string]store.Alert // by rule ID: firing now
	since    map[string]time.Time   // by rule ID: when its condition became true
	loaded   bool
}

// reloadRulesEvery is how soon a new or changed rule is evaluated.
const reloadRulesEvery = 2 * time.Second

// WithRules makes the service fire and resolve alerts for the groups' rules, telling
// their channels through notifier.
func (s *Service) WithRules(st RuleStore, notifier Notifier) {
	s.rules = &rules{store: st, notifier: notifier, open: map[string]store.Alert{}, since: map[string]time.Time{}}
}

// severity ranks states: a rule on degraded counts down targets too.
func severity(st State) int {
	switch st {
	case Down:
		return 2
	case Degraded:
		return 1
	}
	return 0
}

// worst is each group's targets' worst state across locations.
func (e *Engine) worst() map[string]map[string]State {
	out := map[string]map[string]State{}
	for k, t := range e.trackers {
		g := out[t.group]
		if g == nil {
			g = map[string]State{}
			out[t.group] = g
		}
		if cur, ok := g[k.target]; !ok || severity(t.state) > severity(cur) {
			g[k.target] = t.state
		}
	}
	return out
}

// evaluate fires rules whose condition has held for their duration and resolves those
// whose condition no longer holds.
func (r *rules) evaluate(ctx context.Context, e *Engine, now time.Time, log func(msg string, args ...any)) {
	if !r.loaded || now.Sub(r.loadedAt) >= reloadRulesEvery {
		list, err := r.store.AlertRules(ctx, "")
		if err != nil {
			log("alerts: reading rules failed; using the last ones", "err", err)
		} else {
			r.list, r.loadedAt = list, now
		}
		if !r.loaded {
			open, err := r.store.OpenAlerts(ctx)
			if err != nil {
				log("alerts: reading open alerts failed; trying again", "err", err)
				return
			}
			clear(r.open) // what another replica opened or resolved meanwhile is in open
			for _, a := range open {
				r.open[a.RuleID] = a
			}
			r.loaded = true
		}
	}
	states := e.worst()
	for _, rule := range r.list {
		n, total := 0, 0
		for _, st := range states[rule.GroupID] {
			total++
			if severity(st) >= severity(State(rule.State)) {
				n++
			}
		}
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(n) / float64(total)
		}
		muted := rule.MutedUntil != nil && now.Before(*rule.MutedUntil)
		holds := n >= max(rule.MinTargets, 1) && pct >= rule.MinPct && !muted
		open, firing := r.open[rule.ID]
		switch {
		case holds && !firing:
			since, ok := r.since[rule.ID]
			if !ok {
				r.since[rule.ID] = now
				since = now
			}
			if now.Sub(since) >= rule.For {
				r.fire(ctx, rule, since, n, pct, log)
			}
		case !holds:
			delete(r.since, rule.ID)
			if firing {
				r.resolve(ctx, rule, open, now, n, pct, log)
			}
		}
	}
}

func (r *rules) fire(ctx context.Context, rule store.AlertRule, since time.Time, n int, pct float64, log func(string, ...any)) {
	a := store.Alert{ID: uuid.NewString(), RuleID: rule.ID, GroupID: rule.GroupID, StartedAt: since.UTC()}
	if err := r.store.OpenAlert(ctx, &a); err != nil {
		log("alerts: recording a firing failed; trying again", "rule", rule.Name, "err", err)
		return
	}
	r.open[rule.ID] = a
	r.tell(ctx, rule, a, notify.Firing, time.Time{}, n, pct, log)
}

func (r *rules) resolve(ctx context.Context, rule store.AlertRule, a store.Alert, now time.Time, n int, pct float64, log func(string, ...any)) {
	if err := r.store.ResolveAlert(ctx, a.ID, now); err != nil {
		log("alerts: recording a resolve failed; trying again", "rule", rule.Name, "err", err)
		return
	}
	delete(r.open, rule.ID)
	r.tell(ctx, rule, a, notify.Resolved, now, n, pct, log)
}

// tell queues one notification per channel for the transition; the ID makes a
// repeated enqueue (after a failure) add nothing.
func (r *rules) tell(ctx context.Context, rule store.AlertRule, a store.Alert, state notify.State, resolvedAt time.Time, n int, pct float64, log func(string, ...any)) {
	if r.notifier == nil || len(rule.ChannelIDs) == 0 {
		return
	}
	sev := "warning"
	if rule.State == string(Down) {
		sev = "critical"
	}
	note := notify.Notification{ID: a.ID + ":" + string(state), AlertID: a.ID, State: state, Rule: rule.Name,
		Group: rule.GroupName, Severity: sev, Since: a.StartedAt, ResolvedAt: resolvedAt,
		Figures: map[string]float64{"targets": float64(n), "targets_pct": pct}}
	if err := r.notifier.Enqueue(ctx, rule.ChannelIDs, note); err != nil {
		log("alerts: queueing a notification failed", "rule", rule.Name, "err", err)
	}
}
