package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"pingdeck/internal/groups"
)

// thresholdColumns are a threshold override's columns; NULL inherits.
type thresholdColumns struct {
	WindowProbes    *int
	DownLossPct     *float64
	DegradedLossPct *float64
	DegradedRTTMs   *float64 `gorm:"column:degraded_rtt_ms"`
	RTTPercentile   *int     `gorm:"column:rtt_percentile"`
	Consecutive     *int
	FlapChanges     *int
	FlapWindowS     *int `gorm:"column:flap_window_s"`
}

type groupThresholdRow struct {
	GroupID string           `gorm:"primaryKey"`
	Cols    thresholdColumns `gorm:"embedded"`
}

func (groupThresholdRow) TableName() string { return "group_thresholds" }

type targetThresholdRow struct {
	TargetID string `gorm:"primaryKey"`
	GroupID  string
	Cols     thresholdColumns `gorm:"embedded"`
}

func (targetThresholdRow) TableName() string { return "target_thresholds" }

func columnsOf(o groups.ThresholdOverride) thresholdColumns {
	c := thresholdColumns{WindowProbes: o.Window, DownLossPct: o.DownLossPct, DegradedLossPct: o.DegradedLossPct,
		DegradedRTTMs: o.DegradedRTTMs, RTTPercentile: o.RTTPercentile, Consecutive: o.Consecutive, FlapChanges: o.FlapChanges}
	if o.FlapWindow != nil {
		s := int(*o.FlapWindow / time.Second)
		c.FlapWindowS = &s
	}
	return c
}

func (c thresholdColumns) override() groups.ThresholdOverride {
	o := groups.ThresholdOverride{Window: c.WindowProbes, DownLossPct: c.DownLossPct, DegradedLossPct: c.DegradedLossPct,
		DegradedRTTMs: c.DegradedRTTMs, RTTPercentile: c.RTTPercentile, Consecutive: c.Consecutive, FlapChanges: c.FlapChanges}
	if c.FlapWindowS != nil {
		d := time.Duration(*c.FlapWindowS) * time.Second
		o.FlapWindow = &d
	}
	return o
}

// TargetThresholds is a target's override and the group it belongs to.
type TargetThresholds struct {
	GroupID  string
	Override groups.ThresholdOverride
}

// GroupThresholds returns a group's override (zero when it sets none) and its
// targets' overrides by target ID.
func (s *Store) GroupThresholds(ctx context.Context, groupID string) (groups.ThresholdOverride, map[string]groups.ThresholdOverride, error) {
	var g []groupThresholdRow
	if err := s.db.WithContext(ctx).Where("group_id = ?", groupID).Find(&g).Error; err != nil {
		return groups.ThresholdOverride{}, nil, translate("read group thresholds", err)
	}
	var ts []targetThresholdRow
	if err := s.db.WithContext(ctx).Where("group_id = ?", groupID).Find(&ts).Error; err != nil {
		return groups.ThresholdOverride{}, nil, translate("read target thresholds", err)
	}
	var group groups.ThresholdOverride
	if len(g) == 1 {
		group = g[0].Cols.override()
	}
	targets := make(map[string]groups.ThresholdOverride, len(ts))
	for _, t := range ts {
		targets[t.TargetID] = t.Cols.override()
	}
	return group, targets, nil
}

// AllThresholds returns every group's and every target's override: what the state
// engine reloads.
func (s *Store) AllThresholds(ctx context.Context) (map[string]groups.ThresholdOverride, map[string]TargetThresholds, error) {
	var g []groupThresholdRow
	if err := s.db.WithContext(ctx).Find(&g).Error; err != nil {
		return nil, nil, translate("read group thresholds", err)
	}
	var ts []targetThresholdRow
	if err := s.db.WithContext(ctx).Find(&ts).Error; err != nil {
		return nil, nil, translate("read target thresholds", err)
	}
	gs := make(map[string]groups.ThresholdOverride, len(g))
	for _, r := range g {
		gs[r.GroupID] = r.Cols.override()
	}
	out := make(map[string]TargetThresholds, len(ts))
	for _, r := range ts {
		out[r.TargetID] = TargetThresholds{GroupID: r.GroupID, Override: r.Cols.override()}
	}
	return gs, out, nil
}

// SetGroupThresholds replaces a group's override. A group deleted meanwhile is
// not-found.
func (s *Store) SetGroupThresholds(ctx context.Context, groupID string, o groups.ThresholdOverride) error {
	row := groupThresholdRow{GroupID: groupID, Cols: columnsOf(o)}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
	return translate("set group thresholds", err)
}

// SetTargetThresholds replaces a group's target's override. A target not in the group
// is not-found.
func (s *Store) SetTargetThresholds(ctx context.Context, groupID, targetID string, o groups.ThresholdOverride) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&targetRow{}).Where("id = ? AND group_id = ?", targetID, groupID).Count(&n).Error; err != nil {
			return translate("set target thresholds", err)
		}
		if n == 0 {
			return translate("set target thresholds", gorm.ErrRecordNotFound)
		}
		row := targetThresholdRow{TargetID: targetID, GroupID: groupID, Cols: columnsOf(o)}
		return translate("set target thresholds", tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error)
	})
}

// DeleteTargetThresholds removes a target's override; none is not-found.
func (s *Store) DeleteTargetThresholds(ctx context.Context, groupID, targetID string) error {
	res := s.db.WithContext(ctx).Where("target_id = ? AND group_id = ?", targetID, groupID).Delete(&targetThresholdRow{})
	if res.Error != nil {
		return translate("delete target thresholds", res.Error)
	}
	if res.RowsAffected == 0 {
		return translate("delete target thresholds", gorm.ErrRecordNotFound)
	}
	return nil
}
