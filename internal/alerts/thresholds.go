package alerts

import (
	"context"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// ThresholdStore reads the groups' and targets' threshold overrides.
type ThresholdStore interface {
	AllThresholds(ctx context.Context) (map[string]groups.ThresholdOverride, map[string]store.TargetThresholds, error)
}

// reloadThresholdsEvery is how soon a changed threshold decides states.
const reloadThresholdsEvery = 2 * time.Second

// thresholds are every group's and target's effective thresholds, reloaded from the
// store now and then; groups and targets setting none use the built-in ones.
type thresholds struct {
	store    ThresholdStore
	byGroup  map[string]Thresholds
	byTarget map[string]Thresholds
	loadedAt time.Time
}

// WithThresholds makes the service decide states by the thresholds the groups and
// targets set (read from st every few seconds) instead of the built-in ones.
func (s *Service) WithThresholds(st ThresholdStore) {
	s.limits = &thresholds{store: st}
}

// reload reads the overrides again when the last read is old enough; on failure the
// last ones stay.
func (t *thresholds) reload(ctx context.Context, now time.Time, log func(string, ...any)) {
	if t.byGroup != nil && now.Sub(t.loadedAt) < reloadThresholdsEvery {
		return
	}
	gs, ts, err := t.store.AllThresholds(ctx)
	if err != nil {
		log("alerts: reading thresholds failed; using the last ones", "err", err)
		return
	}
	byGroup := make(map[string]Thresholds, len(gs))
	for id, o := range gs {
		byGroup[id] = o.Over(DefaultThresholds())
	}
	byTarget := make(map[string]Thresholds, len(ts))
	for id, o := range ts {
		base, ok := byGroup[o.GroupID]
		if !ok {
			base = DefaultThresholds()
		}
		byTarget[id] = o.Override.Over(base)
	}
	t.byGroup, t.byTarget, t.loadedAt = byGroup, byTarget, now
}

// of is a target's effective thresholds: its own override over its group's over the
// built-in ones.
func (t *thresholds) of(groupID, targetID string) Thresholds {
	if th, ok := t.byTarget[targetID]; ok {
		return th
	}
	if th, ok := t.byGroup[groupID]; ok {
		return th
	}
	return DefaultThresholds()
}
