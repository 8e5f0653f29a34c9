package store

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"gorm.io/gorm"

	"pingdeck/internal/groups"
)

type targetRow struct {
	ID        string
	GroupID   string
	Address   string
	IP        *string
	Paused    bool
	CreatedAt time.Time
}

func (targetRow) TableName() string { return "targets" }

func (r *targetRow) toDomain() groups.Target {
	t := groups.Target{ID: r.ID, GroupID: r.GroupID, Address: r.Address, Paused: r.Paused, CreatedAt: r.CreatedAt.UTC()}
	if r.IP != nil {
		t.IP, _ = netip.ParseAddr(*r.IP)
	}
	return t
}

func targetRowOf(groupID string, t *groups.Target) targetRow {
	row := targetRow{ID: t.ID, GroupID: groupID, Address: t.Address, Paused: t.Paused, CreatedAt: t.CreatedAt}
	if t.IP.IsValid() {
		ip := t.IP.String()
		row.IP = &ip
	}
	return row
}

// AddTargets inserts the targets whose address the group does not have yet, as many
// as the group owner's quota has room for, and returns those it inserted and those it
// left out for the quota (in input order); the others are already there. The count and
// the insert are one transaction under the owner's lock (lockOwner), so parallel
// additions never take the owner past q.MaxTargets.
func (s *Store) AddTargets(ctx context.Context, groupID string, ts []groups.Target, q Quota) (added, overQuota []groups.Target, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var owner []string
		if err := tx.Model(&groupRow{}).Where("id = ?", groupID).Pluck("owner_id", &owner).Error; err != nil {
			return translate("find the group's owner", err)
		}
		if len(owner) == 0 {
			return fmt.Errorf("store: add targets: %w", groups.NotFound("group"))
		}
		if err := s.lockOwner(tx, owner[0]); err != nil {
			return err
		}
		room, err := targetRoom(tx, owner[0], q)
		if err != nil {
			return err
		}
		added, overQuota, err = insertTargets(tx, groupID, ts, room)
		if err != nil {
			return err
		}
		if len(added) == 0 {
			return nil
		}
		return tx.Model(&groupRow{}).Where("id = ?", groupID).Update("updated_at", time.Now().UTC()).Error
	})
	if err != nil {
		return nil, nil, err
	}
	if len(added) > 0 {
		s.publish(groups.Change{Kind: groups.ChangeTargets, GroupID: groupID, TargetIDs: groups.TargetIDs(added)})
	}
	return added, overQuota, nil
}

// insertTargets skips addresses the group already has, in the same transaction, and
// inserts at most room of the rest (room < 0: all), returning those inserted and those
// over room.
func insertTargets(tx *gorm.DB, groupID string, ts []groups.Target, room int) (added, overQuota []groups.Target, err error) {
	if len(ts) == 0 {
		return nil, nil, nil
	}
	existing := map[string]bool{}
	const chunk = 500 // keeps IN lists and batch inserts under every driver's parameter limit
	for start := 0; start < len(ts); start += chunk {
		addrs := make([]string, 0, chunk)
		for _, t := range ts[start:min(start+chunk, len(ts))] {
			addrs = append(addrs, t.Address)
		}
		var found []string
		err := tx.Model(&targetRow{}).Where("group_id = ? AND address IN ?", groupID, addrs).Pluck("address", &found).Error
		if err != nil {
			return nil, nil, translate("find existing targets", err)
		}
		for _, a := range found {
			existing[a] = true
		}
	}
	rows := make([]targetRow, 0, len(ts))
	for i := range ts {
		if existing[ts[i].Address] {
			continue
		}
		existing[ts[i].Address] = true
		if room >= 0 && len(added) >= room {
			overQuota = append(overQuota, ts[i])
			continue
		}
		rows = append(rows, targetRowOf(groupID, &ts[i]))
		added = append(added, ts[i])
	}
	if len(rows) > 0 {
		// No ON CONFLICT: the owner's lock keeps anyone else from adding to this
		// group meanwhile, and a row this insert did not make would be miscounted.
		if err := tx.CreateInBatches(rows, chunk).Error; err != nil {
			return nil, nil, translate("insert targets", err)
		}
	}
	return added, overQuota, nil
}

// Targets returns a group's targets in the order they were added.
func (s *Store) Targets(ctx context.Context, groupID string) ([]groups.Target, error) {
	var rows []targetRow
	err := s.db.WithContext(ctx).Where("group_id = ?", groupID).Order("created_at, address").Find(&rows).Error
	if err != nil {
		return nil, translate("list targets", err)
	}
	out := make([]groups.Target, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// TargetsOfGroups returns, in one query, the targets of each of groupIDs in the order
// they were added, by group ID; a group without targets (or not there) is absent.
func (s *Store) TargetsOfGroups(ctx context.Context, groupIDs []string) (map[string][]groups.Target, error) {
	valid := validIDs(groupIDs)
	out := make(map[string][]groups.Target, len(valid))
	if len(valid) == 0 {
		return out, nil
	}
	var rows []targetRow
	err := s.db.WithContext(ctx).Where("group_id IN ?", valid).Order("group_id, created_at, address").Find(&rows).Error
	if err != nil {
		return nil, translate("list targets of groups", err)
	}
	for i := range rows {
		out[rows[i].GroupID] = append(out[rows[i].GroupID], rows[i].toDomain())
	}
	return out, nil
}

// Target returns one target of a group.
func (s *Store) Target(ctx context.Context, groupID, targetID string) (*groups.Target, error) {
	var row targetRow
	err := s.db.WithContext(ctx).Where("id = ? AND group_id = ?", targetID, groupID).Take(&row).Error
	if err != nil {
		return nil, translate("find target", err)
	}
	t := row.toDomain()
	return &t, nil
}

// SetTargetPaused pauses or resumes one target of a group.
func (s *Store) SetTargetPaused(ctx context.Context, groupID, targetID string, paused bool) error {
	res := s.db.WithContext(ctx).Model(&targetRow{}).Where("id = ? AND group_id = ?", targetID, groupID).Update("paused", paused)
	if err := affectedOne("pause target", res); err != nil {
		return err
	}
	s.publish(groups.Change{Kind: groups.ChangeTargets, GroupID: groupID, TargetIDs: []string{targetID}})
	return nil
}

// DeleteTarget removes one target of a group.
func (s *Store) DeleteTarget(ctx context.Context, groupID, targetID string) error {
	res := s.db.WithContext(ctx).Where("id = ? AND group_id = ?", targetID, groupID).Delete(&targetRow{})
	if err := affectedOne("delete target", res); err != nil {
		return err
	}
	s.publish(groups.Change{Kind: groups.ChangeTargets, GroupID: groupID, TargetIDs: []string{targetID}})
	return nil
}

// CountTargetsOwnedBy counts the targets in all groups a user owns (the per-user quota).
func (s *Store) CountTargetsOwnedBy(ctx context.Context, ownerID string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&targetRow{}).
		Joins("JOIN groups g ON g.id = targets.group_id").Where("g.owner_id = ?", ownerID).Count(&n).Error
	return int(n), translate("count targets", err)
}

// SetTargetsPaused pauses or resumes several targets of a group at once and reports
// how many it changed.
func (s *Store) SetTargetsPaused(ctx context.Context, groupID string, targetIDs []string, paused bool) (int64, error) {
	if len(targetIDs) == 0 {
		return 0, nil
	}
	res := s.db.WithContext(ctx).Model(&targetRow{}).Where("group_id = ? AND id IN ?", groupID, targetIDs).Update("paused", paused)
	if res.Error != nil {
		return 0, translate("pause targets", res.Error)
	}
	if res.RowsAffected > 0 {
		s.publish(groups.Change{Kind: groups.ChangeTargets, GroupID: groupID, TargetIDs: slices.Clone(targetIDs)})
	}
	return res.RowsAffected, nil
}

// DeleteTargets removes several targets of a group at once and reports how many.
func (s *Store) DeleteTargets(ctx context.Context, groupID string, targetIDs []string) (int64, error) {
	if len(targetIDs) == 0 {
		return 0, nil
	}
	res := s.db.WithContext(ctx).Where("group_id = ? AND id IN ?", groupID, targetIDs).Delete(&targetRow{})
	if res.Error != nil {
		return 0, translate("delete targets", res.Error)
	}
	if res.RowsAffected > 0 {
		s.publish(groups.Change{Kind: groups.ChangeTargets, GroupID: groupID, TargetIDs: slices.Clone(targetIDs)})
	}
	return res.RowsAffected, nil
}
