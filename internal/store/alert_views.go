package store

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"pingdeck/internal/groups"
)

// AlertView is an alert with its rule's and group's names.
type AlertView struct {
	Alert
	RuleName, GroupName string
}

// idChunk bounds the IDs in one IN list.
const idChunk = 500

// AlertsIn lists the alerts of groupIDs (only firing ones when firingOnly), newest
// first, at most limit.
func (s *Store) AlertsIn(ctx context.Context, groupIDs []string, firingOnly bool, limit int) ([]AlertView, error) {
	var out []AlertView
	for ids := range slices.Chunk(groupIDs, idChunk) {
		q := s.db.WithContext(ctx).Table("alerts AS a").
			Select("a.id, a.rule_id, a.group_id, a.started_at, a.resolved_at, a.targets, r.name AS rule_name, g.name AS group_name").
			Joins("JOIN alert_rules r ON r.id = a.rule_id").Joins("JOIN groups g ON g.id = a.group_id").
			Where("a.group_id IN ?", ids)
		if firingOnly {
			q = q.Where("a.resolved_at IS NULL")
		}
		var rows []struct {
			ID, RuleID, GroupID string
			StartedAt           time.Time
			ResolvedAt          *time.Time
			Targets             int
			RuleName, GroupName string
		}
		if err := q.Order("a.started_at DESC, a.id").Limit(limit).Scan(&rows).Error; err != nil {
			return nil, translate("list alerts", err)
		}
		for _, r := range rows {
			out = append(out, AlertView{Alert: Alert{ID: r.ID, RuleID: r.RuleID, GroupID: r.GroupID, StartedAt: r.StartedAt.UTC(),
				ResolvedAt: utcPtr(r.ResolvedAt), Targets: r.Targets}, RuleName: r.RuleName, GroupName: r.GroupName})
		}
	}
	slices.SortStableFunc(out, func(a, b AlertView) int { return b.StartedAt.Compare(a.StartedAt) })
	return out[:min(len(out), limit)], nil
}

// FiringAlertCounts counts the firing alerts of each of groupIDs (absent: none).
func (s *Store) FiringAlertCounts(ctx context.Context, groupIDs []string) (map[string]int, error) {
	out := map[string]int{}
	for ids := range slices.Chunk(groupIDs, idChunk) {
		var rows []struct {
			GroupID string
			N       int
		}
		err := s.db.WithContext(ctx).Table("alerts").Select("group_id, count(*) AS n").
			Where("group_id IN ? AND resolved_at IS NULL", ids).Group("group_id").Scan(&rows).Error
		if err != nil {
			return nil, translate("count firing alerts", err)
		}
		for _, r := range rows {
			out[r.GroupID] = r.N
		}
	}
	return out, nil
}

// SetAlertTargets records how many targets meet a firing alert's rule now.
func (s *Store) SetAlertTargets(ctx context.Context, id string, n int) error {
	return translate("update alert", s.db.WithContext(ctx).Model(&Alert{}).Where("id = ?", id).Update("targets", n).Error)
}

// bellNamespace makes each recipient's notification ID from the notice's key.
var bellNamespace = uuid.MustParse("7d1c6f0e-2b8a-4f53-9a6e-0c4b1d9e8f21")

// NotifyGroupEditors stores n for the group's owner and each of its editors, once:
// n.ID is a key (e.g. the alert and its transition) from which each recipient's
// notification ID is derived, so storing the same notice again adds nothing. Each
// stored notification is published (the live stream pushes it to the bell).
func (s *Store) NotifyGroupEditors(ctx context.Context, groupID string, n groups.Notification) error {
	var users []string
	err := s.db.WithContext(ctx).Raw(`SELECT owner_id FROM groups WHERE id = ?
		UNION SELECT user_id FROM shares WHERE group_id = ? AND role = ?`, groupID, groupID, string(groups.RoleEditor)).Scan(&users).Error
	if err != nil {
		return translate("find the group's editors", err)
	}
	for _, u := range users {
		one := n
		one.ID, one.UserID, one.GroupID = uuid.NewSHA1(bellNamespace, []byte(n.ID+"/"+u)).String(), u, groupID
		res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(notificationRowOf(&one))
		if res.Error != nil {
			return translate("create notification", res.Error)
		}
		if res.RowsAffected == 1 {
			s.publish(groups.Change{Kind: groups.ChangeNotification, UserID: u, GroupID: groupID, Notification: &one})
		}
	}
	return nil
}
