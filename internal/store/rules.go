package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// AlertRule is a group's alert rule (internal/alerts).
type AlertRule struct {
	ID, GroupID, Name string
	GroupName         string // read only
	State             string // "down" or "degraded" (degraded or worse)
	MinTargets        int
	MinPct            float64
	For               time.Duration
	ChannelIDs        []string
	MutedUntil        *time.Time
	CreatedAt         time.Time
}

type alertRuleRow struct {
	ID, GroupID, Name, State string
	MinTargets               int
	MinPct                   float64
	ForSeconds               int
	ChannelIDs               string
	MutedUntil               *time.Time
	CreatedAt                time.Time
	GroupName                string `gorm:"->;-:migration"`
}

func (alertRuleRow) TableName() string { return "alert_rules" }

func (r alertRuleRow) toDomain() AlertRule {
	var ids []string
	if r.ChannelIDs != "" {
		ids = strings.Split(r.ChannelIDs, ",")
	}
	return AlertRule{ID: r.ID, GroupID: r.GroupID, Name: r.Name, GroupName: r.GroupName, State: r.State,
		MinTargets: r.MinTargets, MinPct: r.MinPct, For: time.Duration(r.ForSeconds) * time.Second,
		ChannelIDs: ids, MutedUntil: utcPtr(r.MutedUntil), CreatedAt: r.CreatedAt.UTC()}
}

// CreateAlertRule stores a rule.
func (s *Store) CreateAlertRule(ctx context.Context, r *AlertRule) error {
	row := alertRuleRow{ID: r.ID, GroupID: r.GroupID, Name: r.Name, State: r.State, MinTargets: r.MinTargets,
		MinPct: r.MinPct, ForSeconds: int(r.For / time.Second), ChannelIDs: strings.Join(r.ChannelIDs, ","),
		MutedUntil: r.MutedUntil, CreatedAt: r.CreatedAt}
	return translate("create alert rule", s.db.WithContext(ctx).Omit("GroupName").Create(&row).Error)
}

// AlertRules lists rules: a group's, or (groupID empty) every group's.
func (s *Store) AlertRules(ctx context.Context, groupID string) ([]AlertRule, error) {
	q := s.db.WithContext(ctx).Table("alert_rules AS r").Select("r.*, g.name AS group_name").Joins("JOIN groups g ON g.id = r.group_id")
	if groupID != "" {
		q = q.Where("r.group_id = ?", groupID)
	}
	var rows []alertRuleRow
	if err := q.Order("r.created_at, r.id").Find(&rows).Error; err != nil {
		return nil, translate("list alert rules", err)
	}
	out := make([]AlertRule, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// DeleteAlertRule deletes a group's rule (and its alerts).
func (s *Store) DeleteAlertRule(ctx context.Context, groupID, id string) error {
	res := s.db.WithContext(ctx).Where("id = ? AND group_id = ?", id, groupID).Delete(&alertRuleRow{})
	if res.Error != nil {
		return translate("delete alert rule", res.Error)
	}
	if res.RowsAffected == 0 {
		return translate("delete alert rule", gorm.ErrRecordNotFound)
	}
	return nil
}

// Alert is one firing of a rule, open until resolved.
type Alert struct {
	ID, RuleID, GroupID string
	StartedAt           time.Time
	ResolvedAt          *time.Time
	Targets             int // how many targets met the rule (kept current while it fires)
}

func (Alert) TableName() string { return "alerts" }

// OpenAlert records a rule starting to fire.
func (s *Store) OpenAlert(ctx context.Context, a *Alert) error {
	return translate("open alert", s.db.WithContext(ctx).Create(a).Error)
}

// ResolveAlert records an alert's end.
func (s *Store) ResolveAlert(ctx context.Context, id string, at time.Time) error {
	return translate("resolve alert", s.db.WithContext(ctx).Model(&Alert{}).Where("id = ?", id).Update("resolved_at", at.UTC()).Error)
}

// OpenAlerts lists the alerts firing now.
func (s *Store) OpenAlerts(ctx context.Context) ([]Alert, error) {
	var out []Alert
	err := s.db.WithContext(ctx).Where("resolved_at IS NULL").Find(&out).Error
	for i := range out {
		out[i].StartedAt = out[i].StartedAt.UTC()
	}
	return out, translate("list open alerts", err)
}

// GroupAlerts lists a group's alerts, newest first (at most 100).
func (s *Store) GroupAlerts(ctx context.Context, groupID string) ([]Alert, error) {
	var out []Alert
	err := s.db.WithContext(ctx).Where("group_id = ?", groupID).Order("started_at DESC").Limit(100).Find(&out).Error
	for i := range out {
		out[i].StartedAt, out[i].ResolvedAt = out[i].StartedAt.UTC(), utcPtr(out[i].ResolvedAt)
	}
	return out, translate("list alerts", err)
}
