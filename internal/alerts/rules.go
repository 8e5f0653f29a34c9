package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
	"pingdeck/internal/notify"
	"pingdeck/internal/store"
)

// RuleStore keeps alert rules, their firings and the maintenance windows, and tells
// the groups' owners and editors (the in-app bell).
type RuleStore interface {
	AlertRules(ctx context.Context, groupID string) ([]store.AlertRule, error)
	OpenAlerts(ctx context.Context) ([]store.Alert, error)
	OpenAlert(ctx context.Context, a *store.Alert) error
	ResolveAlert(ctx context.Context, id string, at time.Time) error
	SetAlertTargets(ctx context.Context, id string, n int) error
	SilencesBetween(ctx context.Context, from, until time.Time, limit int) ([]store.Silence, error)
	NotifyGroupEditors(ctx context.Context, groupID string, n groups.Notification) error
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
	// silences are those active now or starting before the next reload, by group.
	silences map[string][]store.Silence
}

// silenceLookahead is how far ahead a reload reads silences: past the next reload.
const silenceLookahead = time.Minute

// maxSilencesRead bounds the silences one reload reads (every group's).
const maxSilencesRead = 100_000

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
		silences, serr := r.store.SilencesBetween(ctx, now, now.Add(silenceLookahead), maxSilencesRead)
		if err != nil || serr != nil {
			log("alerts: reading rules or maintenance windows failed; using the last ones", "err", err, "silences_err", serr)
		} else {
			r.list, r.silences, r.loadedAt = list, map[string][]store.Silence{}, now
			for _, sl := range silences {
				r.silences[sl.GroupID] = append(r.silences[sl.GroupID], sl)
			}
		}
		if !r.loaded {
			open, err := r.store.OpenAlerts(ctx)
			if err != nil {
				log("alerts: reading open alerts failed; trying again", "err", err)
				return
			}
			for _, a := range open {
				r.open[a.RuleID] = a
			}
			r.loaded = true
		}
	}
	states := e.worst()
	for _, rule := range r.list {
		if r.silenced(rule.GroupID, "", now) {
			// The whole group is in maintenance: its rules neither fire nor notify; one
			// firing stays as it is.
			delete(r.since, rule.ID)
			continue
		}
		// Targets under a maintenance window do not count; all counts them too, to tell
		// a firing that only silenced targets still hold (it stays as it is).
		var n, total, nAll, totalAll int
		for target, st := range states[rule.GroupID] {
			meets := severity(st) >= severity(State(rule.State))
			totalAll++
			if meets {
				nAll++
			}
			if r.silenced(rule.GroupID, target, now) {
				continue
			}
			total++
			if meets {
				n++
			}
		}
		muted := rule.MutedUntil != nil && now.Before(*rule.MutedUntil)
		holds := meetsRule(rule, n, total) && !muted
		open, firing := r.open[rule.ID]
		switch {
		case holds && !firing:
			since, ok := r.since[rule.ID]
			if !ok {
				r.since[rule.ID] = now
				since = now
			}
			if now.Sub(since) >= rule.For {
				r.fire(ctx, rule, since, n, pct(n, total), log)
			}
		case holds && firing && n != open.Targets:
			if err := r.store.SetAlertTargets(ctx, open.ID, n); err == nil {
				open.Targets = n
				r.open[rule.ID] = open
			}
		case !holds:
			delete(r.since, rule.ID)
			if firing && !(meetsRule(rule, nAll, totalAll) && !muted) {
				r.resolve(ctx, rule, open, now, n, pct(n, total), log)
			}
		}
	}
}

// meetsRule says whether n of total targets meet the rule's counts.
func meetsRule(rule store.AlertRule, n, total int) bool {
	return n >= max(rule.MinTargets, 1) && pct(n, total) >= rule.MinPct
}

func pct(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// silenced says whether a maintenance window covers the group (target empty: the whole
// group) or its target at now.
func (r *rules) silenced(groupID, target string, now time.Time) bool {
	for _, sl := range r.silences[groupID] {
		if (sl.TargetID == "" || (target != "" && sl.TargetID == target)) &&
			!now.Before(sl.From) && now.Before(sl.To) {
			return true
		}
	}
	return false
}

func (r *rules) fire(ctx context.Context, rule store.AlertRule, since time.Time, n int, pct float64, log func(string, ...any)) {
	a := store.Alert{ID: uuid.NewString(), RuleID: rule.ID, GroupID: rule.GroupID, StartedAt: since.UTC(), Targets: n}
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

// tell queues one notification per channel for the transition and puts it in the
// bell of the group's owner and editors; the ID makes a repeated enqueue (after a
// failure) add nothing.
func (r *rules) tell(ctx context.Context, rule store.AlertRule, a store.Alert, state notify.State, resolvedAt time.Time, n int, pct float64, log func(string, ...any)) {
	msg := fmt.Sprintf("%s is firing: %d target(s) %s", rule.Name, n, rule.State)
	at := a.StartedAt
	if state == notify.Resolved {
		msg, at = rule.Name+" resolved", resolvedAt
	}
	bell := groups.Notification{ID: a.ID + ":" + string(state), Kind: groups.NotifyAlert, Message: msg, CreatedAt: at.UTC()}
	if err := r.store.NotifyGroupEditors(ctx, rule.GroupID, bell); err != nil {
		log("alerts: telling the group's editors failed", "rule", rule.Name, "err", err)
	}
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
